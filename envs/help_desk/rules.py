"""Rules of the help desk: an agent collects a customer's request slot by slot and resolves it.

Pure and deterministic given the generator; no PettingZoo here. The docs page is the
docstring of :mod:`palaestra.envs.help_desk_v0`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from palaestra.envs.answers import answers_match
from palaestra.envs.core import (
    Game,
    GameInfo,
    GameState,
    InvalidMove,
    RoleView,
    StepOutcome,
    require_int,
)
from palaestra.envs.help_desk.schema import Intent, load_schema

ROLES = ("customer", "agent")
MAX_CUSTOMER_CHARS = 600

_NOTE = re.compile(r"^\s*NOTE\s*:\s*(?P<slot>[A-Za-z_]+)\s*[=:]\s*(?P<value>.*?)\s*$", re.I | re.M)
_RESOLVE = re.compile(r"\bRESOLVE\s*:(?P<body>[^\n]*)", re.IGNORECASE)
_PAIR = re.compile(r"(?P<slot>[A-Za-z_]+)\s*=\s*(?P<value>[^;,\n]*)")


@dataclass(frozen=True)
class AgentMove:
    """The agent's whole message (``text``), its talk without NOTE and RESOLVE lines
    (``message``), its notes and its resolution."""

    text: str
    message: str = ""
    notes: tuple[tuple[str, str], ...] = ()
    resolve: dict[str, str] | None = None


@dataclass
class HelpDeskState(GameState):
    intent: Intent | None = None
    goal: dict[str, str] = field(default_factory=dict)  # "intent" and every slot -> value
    notes: dict[str, str] = field(default_factory=dict)
    credited: set[str] = field(default_factory=set)  # slots that earned progress
    agent_moves: int = 0
    rewards: list[float] = field(default_factory=list)  # per agent move, for discounting
    last_agent_message: str = ""
    resolution: str = ""  # "", "correct" or "wrong"


class HelpDeskGame(Game):
    """A customer with a hidden structured request; an agent gathers the slots and resolves.

    Args:
        max_turns: Moves in all (customer and agent alternate, customer first).
        turn_cost: Cost of each agent move.
        progress_reward: Reward for a newly noted correct slot (a wrong note costs as much).
        resolve_reward: Reward for a correct resolution.
        wrong_penalty: Cost of a wrong resolution.
        discount: The declared discount for returns (``infos["discounted_return"]``).
    """

    info = GameInfo(
        name="help-desk",
        roles=ROLES,
        description="Collect a customer's request slot by slot and resolve it.",
        reward_range=(-1.0, 1.5),
        max_turns=16,
        discount=0.95,
        vector_size=2,
        vector_bounds=(0.0, 1.0),
    )

    def __init__(
        self,
        max_turns: int = 16,
        turn_cost: float = 0.02,
        progress_reward: float = 0.1,
        resolve_reward: float = 1.0,
        wrong_penalty: float = 1.0,
        discount: float = 0.95,
    ) -> None:
        require_int("max_turns", max_turns, 4)
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {discount!r}")
        for name, value in [
            ("turn_cost", turn_cost),
            ("progress_reward", progress_reward),
            ("resolve_reward", resolve_reward),
            ("wrong_penalty", wrong_penalty),
        ]:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")  # fmt: skip
        self.max_turns = max_turns
        self.turn_cost, self.progress_reward = float(turn_cost), float(progress_reward)
        self.resolve_reward, self.wrong_penalty = float(resolve_reward), float(wrong_penalty)
        self.schema = load_schema()
        # One message may note every slot once: that bounds a step's reward both ways.
        notes = (len(self.schema.slot_keys) + 1) * self.progress_reward
        low = min(-1.0, -self.turn_cost - notes - self.wrong_penalty)
        self.info = dataclasses.replace(
            type(self).info, max_turns=max_turns, discount=discount,
            reward_range=(low, self.resolve_reward + notes),
        )  # fmt: skip

    def new_state(self, rng: np.random.Generator) -> HelpDeskState:
        schema = self.schema
        intent = schema.intents[int(rng.integers(len(schema.intents)))]
        goal = {"intent": intent.key}
        for slot in intent.slots:
            if slot.format == "order":
                goal[slot.key] = str(int(rng.integers(100_000, 1_000_000)))
            elif slot.format == "email":
                first = schema.first_names[int(rng.integers(len(schema.first_names)))]
                last = schema.last_names[int(rng.integers(len(schema.last_names)))]
                goal[slot.key] = f"{first}.{last}@example.com"
            else:
                goal[slot.key] = slot.values[int(rng.integers(len(slot.values)))]
        state = HelpDeskState(to_move=("customer",), intent=intent, goal=goal)
        state.transcript.gm("A customer has contacted the help desk.")
        return state

    # -- moves ------------------------------------------------------------------------------
    def parse(self, state: GameState, role: str, text: str) -> Any:
        if role == "customer":
            if not text:
                raise InvalidMove("say something to the agent.")
            if len(text) > MAX_CUSTOMER_CHARS:
                raise InvalidMove(f"keep your message under {MAX_CUSTOMER_CHARS} characters.")
            return text
        if not text:
            raise InvalidMove("your message is empty.")
        notes = [(m.group("slot").lower(), m.group("value")) for m in _NOTE.finditer(text)]
        known = self.schema.slot_keys | {"intent"}
        for slot, value in notes:
            if slot not in known:
                raise InvalidMove(f"unknown slot {slot!r} in NOTE; slots: {sorted(known)}.")
            if not value:
                raise InvalidMove(f"NOTE {slot} has no value; write 'NOTE: {slot}=<value>'.")
        if len({slot for slot, _ in notes}) < len(notes):
            raise InvalidMove("a message may note each slot at most once.")
        resolve = None
        found = _RESOLVE.search(text)
        if found:
            resolve = self._parse_resolution(found.group("body"))
        message = _RESOLVE.sub("", _NOTE.sub("", text)).strip()
        return AgentMove(text, message, tuple(notes), resolve)

    def _parse_resolution(self, body: str) -> dict[str, str]:
        pairs = {m.group("slot").lower(): m.group("value").strip() for m in _PAIR.finditer(body)}
        names = [i.key for i in self.schema.intents]
        if pairs.get("intent") not in names:
            raise InvalidMove(f"RESOLVE needs intent=<one of {', '.join(names)}>.")
        missing = [s.key for s in self.schema.intent(pairs["intent"]).slots if s.key not in pairs]
        if missing:
            raise InvalidMove(f"RESOLVE for {pairs['intent']} needs {', '.join(missing)}.")
        return pairs

    def null_move(self, state: GameState, role: str) -> Any:
        return "" if role == "customer" else AgentMove("")

    def apply(self, state: GameState, moves: Mapping[str, Any]) -> StepOutcome:
        assert isinstance(state, HelpDeskState) and state.intent is not None
        (role,) = state.to_move
        state.turn += 1
        reward = 0.0
        if role == "customer":
            text: str = moves[role]
            if text:
                state.transcript.add(role, text)
            else:
                state.transcript.gm("The customer says nothing.")
            state.to_move = ("agent",)
        else:
            move: AgentMove = moves[role]
            reward = -self.turn_cost + self._note(state, move.notes)
            if move.text:
                state.transcript.add(role, move.text)
            state.last_agent_message = move.message
            if move.resolve is not None:
                right = self._resolution_correct(state, move.resolve)
                state.resolution = "correct" if right else "wrong"
                reward += self.resolve_reward if right else -self.wrong_penalty
                state.transcript.gm(
                    "The request was resolved correctly." if right else "The resolution was wrong."
                )
                state.done, state.outcome = True, f"resolved {state.resolution}ly"
            state.agent_moves += 1
            state.rewards.append(reward)
            state.to_move = ("customer",)
        if not state.done and state.turn >= self.max_turns:
            state.transcript.gm("Out of time: the request was not resolved.")
            state.done, state.outcome = True, "unresolved"
        if state.done:
            state.to_move = ()
            state.returns = dict.fromkeys(ROLES, 0.0)  # rewards were paid per step
        return StepOutcome(dict.fromkeys(ROLES, reward))

    def _note(self, state: HelpDeskState, notes: tuple[tuple[str, str], ...]) -> float:
        """Record notes; +progress for each slot that becomes correct the first time, and
        -progress for each wrong note (so guessing values does not pay)."""
        reward = 0.0
        for slot, value in notes:
            state.notes[slot] = value
            right = slot in state.goal and answers_match(value, [state.goal[slot]])
            if right and slot not in state.credited:
                state.credited.add(slot)
                reward += self.progress_reward
            elif not right:
                reward -= self.progress_reward
        return reward

    def _resolution_correct(self, state: HelpDeskState, resolution: Mapping[str, str]) -> bool:
        return all(answers_match(resolution.get(k, ""), [v]) for k, v in state.goal.items())

    # -- views ------------------------------------------------------------------------------
    def view(self, state: GameState, role: str) -> RoleView:
        assert isinstance(state, HelpDeskState) and state.intent is not None
        left = self.max_turns - state.turn
        vector = [state.turn / self.max_turns, min(len(state.notes) / 4.0, 1.0)]
        if role == "customer":
            details = "; ".join(f"{s.label}: {state.goal[s.key]}" for s in state.intent.slots)
            # What every episode's customer reads comes first (a shared prefix), the request last.
            preamble = (
                "You are a customer contacting a help desk. Answer the agent's questions briefly "
                "and truthfully. You and the agent share the score: it rises when your request "
                "is resolved correctly and quickly.\n\n"
                f"You want to {state.intent.description}. Your details: {details}."
            )
            facts: dict[str, Any] = {
                "role": role,
                "intent": state.intent.key,
                "opening": state.intent.opening,
                "slots": {s.key: state.goal[s.key] for s in state.intent.slots},
                "labels": {s.key: s.label for s in state.intent.slots},
                "keywords": {s.key: s.keywords for s in state.intent.slots},
                "agent_message": state.last_agent_message,
                "turn": state.turn,
                "candidates": (
                    state.intent.opening,
                    *(f"My {s.label} is {state.goal[s.key]}." for s in state.intent.slots),
                ),
            }
            return RoleView(preamble, f"{left} moves left. Your message, customer:", vector, facts)
        requests = "; ".join(
            f"{i.key} ({i.description}: {', '.join(s.key for s in i.slots)})"
            for i in self.schema.intents
        )
        preamble = (
            "You are a help-desk agent. Each customer comes with one of these requests: "
            f"{requests}. Find out which request it is and its details by asking. Record each "
            "detail you learn on its own line as 'NOTE: <slot>=<value>' (also 'NOTE: "
            f"intent=<request>'): a new correct detail earns {self.progress_reward:g}, a wrong "
            f"one costs {self.progress_reward:g}. When you know everything, write one line "
            "'RESOLVE: intent=<request>; <slot>=<value>; ...': it ends the conversation and "
            f"earns {self.resolve_reward:g} if everything is right, {-self.wrong_penalty:g} if "
            f"not. Each of your messages costs {self.turn_cost:g}."
        )
        facts = {
            "role": role,
            "intents": {
                i.key: {
                    "slots": tuple(s.key for s in i.slots),
                    "labels": {s.key: s.label for s in i.slots},
                    "keywords": i.keywords,
                }
                for i in self.schema.intents
            },
            "notes": dict(state.notes),
            "customer_messages": tuple(
                m.text for m in state.transcript.messages if m.sender == "customer"
            ),
            "turn": state.turn,
            "max_turns": self.max_turns,
            "candidates": (
                "How can I help you today?",
                *(f"Could you tell me the {s.label}?" for s in self.schema.intents[0].slots),
                *(f"NOTE: intent={i.key}" for i in self.schema.intents),
            ),
        }
        return RoleView(preamble, f"{left} moves left. Your message, agent:", vector, facts)

    def summary(self, state: GameState) -> dict[str, Any]:
        assert isinstance(state, HelpDeskState)
        total = float(sum(state.rewards))
        discounted = float(sum(r * self.info.discount**k for k, r in enumerate(state.rewards)))
        return {
            "intent": state.goal.get("intent", ""),
            "resolution": state.resolution or "none",
            "slots_correct": len(state.credited),
            "slots_total": len(state.goal),
            "agent_moves": state.agent_moves,
            "scores": dict.fromkeys(ROLES, total),
            "discounted_return": dict.fromkeys(ROLES, discounted),
        }
