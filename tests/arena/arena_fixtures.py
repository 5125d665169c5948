"""Agents and a three-seat toy game for the arena tests (importable by subprocesses too)."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from palaestra.agents import RandomAgent
from palaestra.arena.records import EpisodeRecord
from palaestra.envs.core import Game, GameInfo, GameState, InvalidMove, RoleView, StepOutcome
from palaestra.envs.protocol import Action, Observation


def strip_timing(record: EpisodeRecord) -> dict[str, Any]:
    """The record as a dict without wall-clock fields (the only nondeterministic ones)."""
    data = asdict(record)
    data["meta"].pop("seconds", None)
    for turn in data["turns"]:
        turn.pop("seconds")
    for stats in data["stats"].values():
        stats.pop("seconds")
    return data


class Recorder:
    """Replies with a fixed text and records every ``act`` call's episodes."""

    def __init__(self, name: str = "recorder", text: str = "hello") -> None:
        self.name, self.text = name, text
        self.calls: list[list[str]] = []
        self.resets = 0

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        self.calls.append([f"{o.episode}/{o.role}" for o in observations])
        return [Action(self.text) for _ in observations]

    def reset(self) -> None:
        self.resets += 1


class Failing:
    """Plays like ``random`` but fails on the episodes in ``fail_on``.

    ``fail_on`` holds episode ids (``"*"``: every episode). ``mode``: ``"raise"`` raises from
    ``act``; ``"error"`` returns ``Action(error=...)``; ``"sleep"`` sleeps ``delay`` seconds;
    ``"count"`` returns one action too few.
    """

    def __init__(self, fail_on: Collection[str], mode: str = "raise", delay: float = 0.5) -> None:
        self.name = f"failing-{mode}"
        self.fail_on, self.mode, self.delay = fail_on, mode, delay
        self.inner = RandomAgent(seed=1)

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        actions = self.inner.act(observations)
        bad = [
            i
            for i, o in enumerate(observations)
            if o.episode in self.fail_on or "*" in self.fail_on
        ]
        if not bad:
            return actions
        if self.mode == "raise":
            raise RuntimeError("boom")
        if self.mode == "sleep":
            time.sleep(self.delay)
        if self.mode == "count":
            return actions[:-1]
        for i in bad:
            actions[i] = Action(error="endpoint down after 3 retries")
        return actions

    def reset(self) -> None:
        pass


class Trainable:
    """Writes reasoning, then a fixed move, and returns token ids and log-probs."""

    name = "trainable"

    def __init__(self, move: str = "OFFER: book=0 hat=0 ball=0") -> None:
        self.move = move

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        return [
            Action(
                f"<think>plan for turn {o.turn}</think>{self.move}",
                prompt_ids=[1, 2, 3],
                completion_ids=[4, 5, 6, 7],
                logprobs=[-0.5, -0.25, -0.125, -1.0],
            )
            for o in observations
        ]

    def reset(self) -> None:
        pass


class Slow(RandomAgent):
    """``random`` that sleeps ``delay`` seconds per call (for the kill-and-resume test)."""

    def __init__(self, delay: float = 0.02, seed: int = 0, name: str = "slow") -> None:
        super().__init__(seed=seed, name=name)
        self.delay = delay

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        time.sleep(self.delay)
        return super().act(observations)


@dataclass
class PickState(GameState):
    picks: dict[str, int] = field(default_factory=dict)


class PickGame(Game):
    """Three seats each say a digit in turn; each scores its digit, the highest scores +1."""

    info = GameInfo(
        name="pick",
        roles=("north", "east", "south"),
        description="say a digit",
        reward_range=(-1.0, 10.0),
        max_turns=3,
    )

    def new_state(self, rng: np.random.Generator) -> PickState:
        return PickState(to_move=("north",))

    def parse(self, state: GameState, role: str, text: str) -> int:
        if len(text) != 1 or not text.isdigit():
            raise InvalidMove("say one digit")
        return int(text)

    def apply(self, state: GameState, moves: Mapping[str, Any]) -> StepOutcome:
        assert isinstance(state, PickState)
        (role,) = moves
        state.picks[role] = moves[role]
        state.transcript.add(role, str(moves[role]))
        state.turn += 1
        roles = self.info.roles
        if state.turn == len(roles):
            best = max(state.picks.values())
            state.done, state.outcome = True, "picked"
            state.returns = {r: p + (1.0 if p == best else 0.0) for r, p in state.picks.items()}
            state.to_move = ()
        else:
            state.to_move = (roles[state.turn],)
        return StepOutcome()

    def view(self, state: GameState, role: str) -> RoleView:
        return RoleView(
            preamble=f"You are {role}. Say one digit.",
            instruction="Your digit:",
            vector=[state.turn / 3],
            facts={"candidates": [str(d) for d in range(10)]},
        )


GAME = PickGame
SCRIPTED: dict[str, type] = {}
