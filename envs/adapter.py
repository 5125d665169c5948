"""One PettingZoo adapter for every palaestra game.

:class:`TextGameEnv` is the AEC environment over any :class:`~palaestra.envs.core.Game`;
:class:`TextGameParallelEnv` is the Parallel one for games whose roles move simultaneously.
Both share the move pipeline in :class:`MoveReferee`: strip reasoning, clean the text, parse,
and apply the invalid-move policy.

Invalid-move policies (the ``invalid_move`` argument):

* ``"retry"`` — the player is told the reason privately and moves again, up to
  ``max_retries`` times; after that the move is penalised as below (lenient; the default).
* ``"penalty"`` — the player gets ``invalid_penalty`` and the game's null move is played.
* ``"forfeit"`` — the player loses the episode at once (strict; use for training).

``infos[role]`` always holds ``invalid_moves`` (count so far), ``last_invalid`` (the last
reason, or ``""``), ``turn`` and the game's summary once the episode is over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from palaestra.envs.core import MAX_RAW_CHARS, Game, GameState, InvalidMove, clean_text
from palaestra.envs.core import split_reasoning as _split
from palaestra.envs.protocol import Observation
from palaestra.envs.spaces import Utterance, observation_space

INVALID_MOVE_POLICIES = ("retry", "penalty", "forfeit")
#: ``action_mode`` values: text replies, or integer action ids with an action mask.
ACTION_MODES = ("text", "discrete")


@dataclass(slots=True)  # one per reply: slots make it cheaper to build
class MoveRecord:
    """One reply as the env received it, for transcripts and training."""

    role: str
    turn: int
    text: str
    reasoning: str
    valid: bool
    reason: str = ""


@dataclass
class MoveReferee:
    """Turns raw replies into moves and applies the invalid-move policy."""

    game: Game
    invalid_move: str = "retry"
    max_retries: int = 2
    invalid_penalty: float = -1.0
    max_message_chars: int = 1200
    counts: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    log: list[MoveRecord] = field(default_factory=list)
    last_invalid: dict[str, str] = field(default_factory=dict)
    action_mode: str = "text"

    def __post_init__(self) -> None:
        if self.invalid_move not in INVALID_MOVE_POLICIES:
            raise ValueError(
                f"invalid_move must be one of {INVALID_MOVE_POLICIES}, got {self.invalid_move!r}"
            )
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries!r}")
        low, _ = self.game.info.reward_range
        if self.invalid_move == "penalty" and self.invalid_penalty < low:
            raise ValueError(
                f"invalid_penalty {self.invalid_penalty!r} is below the game's reward range "
                f"{self.game.info.reward_range}"
            )

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.game.info.roles, 0)
        self.retries = dict.fromkeys(self.game.info.roles, 0)
        self.log = []
        self.last_invalid = {}

    def judge(self, state: GameState, role: str, raw: Any) -> tuple[str, Any]:
        """Return ``("ok", move)``, ``("retry", reason)``, ``("penalty", reason)`` or
        ``("forfeit", reason)`` for one raw reply."""
        text = raw if isinstance(raw, str) else ""
        reasoning, visible = _split(text[:MAX_RAW_CHARS])
        visible = clean_text(visible, self.max_message_chars)
        try:
            if not isinstance(raw, str) and self.action_mode == "discrete":
                visible = repr(raw)[:80]  # an integer action id (see _set_action_mode)
                move = self.game.parse_action(state, role, raw)  # type: ignore[attr-defined]
            elif not isinstance(raw, str):
                raise InvalidMove(f"a move must be text, got {type(raw).__name__}")
            else:
                move = self.game.parse(state, role, visible)
        except InvalidMove as err:
            self.counts[role] += 1
            self.last_invalid[role] = err.reason
            self.log.append(MoveRecord(role, state.turn, visible, reasoning, False, err.reason))
            if self.invalid_move == "retry" and self.retries[role] < self.max_retries:
                self.retries[role] += 1
                state.transcript.gm(
                    f"Invalid move: {err.reason} Please try again.",
                    to=role,
                )
                return "retry", err.reason
            self.retries[role] = 0
            if self.invalid_move == "forfeit":
                return "forfeit", err.reason
            state.transcript.gm(f"Invalid move: {err.reason} Your turn is lost.", to=role)
            return "penalty", err.reason
        self.retries[role] = 0
        self.log.append(MoveRecord(role, state.turn, visible, reasoning, True))
        return "ok", move


def _prompt_text(game: Game, state: GameState, role: str, view: Any, max_text: int) -> str:
    """The prompt text of ``role`` from its view, at most ``max_text`` characters."""
    text = game.render_view(state, role, view)
    if len(text) > max_text:
        # Keep the preamble and the newest part of the transcript.
        keep = max_text - len(view.preamble) - 16
        text = view.preamble + "\n\n[...]\n" + text[-max(keep, 0) :]
    return text


def make_observation(
    game: Game,
    state: GameState,
    role: str,
    env_id: str,
    episode: str = "",
    max_text: int = 32_000,
) -> Observation:
    """The :class:`Observation` the adapter hands ``role`` in ``state`` (also usable on
    states built outside an env, e.g. replayed ones)."""
    view = game.view(state, role)
    text = _prompt_text(game, state, role, view, max_text)
    if not _FAST_OBSERVATION:
        return Observation(
            text=text,
            game=env_id,
            role=role,
            preamble=view.preamble.strip(),
            instruction=view.instruction.strip(),
            facts=dict(view.facts),
            vector=tuple(map(float, view.vector)),
            episode=episode,
            turn=state.turn,
        )
    # The same object as Observation(...) builds, without the frozen dataclass's __init__
    # (one object.__setattr__ per field cost more than the rest of this function).
    obs = _new_object(Observation)
    fields = obs.__dict__
    fields["text"] = text
    fields["game"] = env_id
    fields["role"] = role
    fields["preamble"] = view.preamble.strip()
    fields["instruction"] = view.instruction.strip()
    fields["facts"] = dict(view.facts)
    fields["vector"] = tuple(map(float, view.vector))
    fields["episode"] = episode
    fields["turn"] = state.turn
    return obs


_new_object = object.__new__
#: Whether an Observation can be filled field by field: a plain frozen dataclass with
#: exactly these fields, no __post_init__ and no slots (tests/envs/test_fast_paths.py).
_FAST_OBSERVATION = (
    not hasattr(Observation, "__post_init__")
    and not hasattr(Observation, "__slots__")
    and tuple(Observation.__dataclass_fields__)
    == ("text", "game", "role", "preamble", "instruction", "facts", "vector", "episode", "turn")
)


class _TextGameBase:
    """What the AEC and Parallel adapters share: spaces, views, infos."""

    game: Game
    env_id: str
    action_mode: str = "text"

    def _set_action_mode(self, action_mode: str) -> None:
        """``"discrete"``: ``Discrete(n)`` actions and an ``action_mask`` observation key,
        for games with a fixed move set (they define ``num_distinct_actions``,
        ``legal_actions(state, role)`` and ``parse_action(state, role, action)``). Text
        replies are still accepted; the observation dict drops the text (it is not a
        flattenable space) and keeps ``observation`` and ``action_mask``, as PettingZoo's
        classic games do."""
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {action_mode!r}")
        self.action_mode = self.referee.action_mode = action_mode
        if action_mode == "text":
            return
        n = getattr(self.game, "num_distinct_actions", None)
        if not isinstance(n, int) or not hasattr(self.game, "parse_action"):
            raise ValueError(
                f"{self.env_id} has no discrete action mode (its moves are free text); "
                "use action_mode='text'"
            )
        info = self.game.info
        low, high = info.vector_bounds
        self.observation_spaces = {
            r: spaces.Dict(
                {
                    "observation": spaces.Box(low, high, (info.vector_size,), np.float32),
                    "action_mask": spaces.Box(0, 1, (n,), np.int8),
                }
            )
            for r in info.roles
        }
        self.action_spaces = {r: spaces.Discrete(n) for r in info.roles}

    def _setup(
        self,
        game: Game,
        env_id: str,
        invalid_move: str,
        max_retries: int,
        invalid_penalty: float,
        max_message_chars: int,
        max_cycles: int | None,
        render_mode: str | None,
        max_text: int,
    ) -> None:
        if render_mode not in (None, "human", "ansi"):
            raise ValueError(f"render_mode must be None, 'human' or 'ansi', got {render_mode!r}")
        if max_cycles is not None and max_cycles < 1:
            raise ValueError(f"max_cycles must be a positive integer or None, got {max_cycles!r}")
        self.game = game
        self.env_id = env_id
        self.render_mode = render_mode
        self.max_cycles = max_cycles
        self.referee = MoveReferee(
            game, invalid_move, max_retries, invalid_penalty, max_message_chars
        )
        info = game.info
        self.possible_agents = list(info.roles)
        self._max_text = max_text
        self.action_spaces = {r: Utterance(max_text) for r in info.roles}
        self.state: GameState | None = None
        self.episode_id = ""
        self._np_random: np.random.Generator | None = None

    # Built on first use, not in __init__: the arena makes an env per episode and never reads
    # the observation spaces, and Gymnasium's Box costs more to build than a whole move.
    @cached_property
    def observation_spaces(self) -> dict[str, Any]:
        """role -> ``Dict(observation=Box, text=Utterance)`` (assignable, as in PettingZoo)."""
        info = self.game.info
        return {
            r: observation_space(info.vector_size, info.vector_bounds, self._max_text)
            for r in info.roles
        }

    @property
    def np_random(self) -> np.random.Generator:
        """The generator the rules draw from; seeded by ``reset(seed=...)``, else from the OS
        on first use (not at construction, which an env reset with a seed never needs)."""
        if self._np_random is None:
            self._np_random = np.random.default_rng()
        return self._np_random

    @np_random.setter
    def np_random(self, rng: np.random.Generator) -> None:
        self._np_random = rng

    def observation_space(self, agent: str) -> Any:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> Any:
        return self.action_spaces[agent]

    # -- views ------------------------------------------------------------------------------
    def observation_for(self, role: str) -> Observation:
        """The full :class:`Observation` of ``role`` (what the arena hands to agents)."""
        assert self.state is not None, "call reset() first"
        return make_observation(
            self.game, self.state, role, self.env_id, self.episode_id, self._max_text
        )

    # -- what the arena and the trainer read ------------------------------------------------
    @property
    def moves(self) -> Sequence[MoveRecord]:
        """Every reply of this episode, in order, as the env received it (read-only)."""
        return self.referee.log

    @property
    def invalid_moves(self) -> dict[str, int]:
        """role -> invalid replies so far this episode."""
        return {r: int(self.referee.counts.get(r, 0)) for r in self.possible_agents}

    def summary(self) -> dict[str, Any]:
        """The game's summary of the current state (``Game.summary``: scores, deal, ...)."""
        assert self.state is not None, "call reset() first"
        return dict(self.game.summary(self.state))

    def _obs_dict(self, role: str) -> dict[str, Any]:
        # The discrete mode has no text key: build only the vector where the game can.
        fast = self.action_mode == "discrete" and hasattr(self.game, "vector")
        text = ""
        if fast:
            values = self.game.vector(self.state, role)  # type: ignore[attr-defined]
        else:
            # The text and vector of observation_for(role), without building the Observation.
            assert self.state is not None, "call reset() first"
            view = self.game.view(self.state, role)
            text = _prompt_text(self.game, self.state, role, view, self._max_text)
            values = view.vector
        low, high = self.game.info.vector_bounds
        vector = np.array(values, dtype=np.float32)  # a copy: a game may hand out its own array
        # Clip only when needed (a vector inside the bounds is the rule), in place, with the
        # ufuncs: np.clip's dispatch costs more than the clipping here. A NaN fails the test
        # and is kept by the clipping, as np.clip keeps it.
        if not (
            type(values) in (tuple, list) and values and low <= min(values) <= max(values) <= high
        ):
            np.minimum(np.maximum(vector, low, out=vector), high, out=vector)
        if self.action_mode == "discrete":
            mask = np.zeros(self.action_spaces[role].n, dtype=np.int8)
            mask[self.game.legal_actions(self.state, role)] = 1  # type: ignore[attr-defined]
            return {"observation": vector, "action_mask": mask}
        return {"observation": vector, "text": text}

    def _info(self, role: str) -> dict[str, Any]:
        assert self.state is not None
        info: dict[str, Any] = {
            "invalid_moves": self.referee.counts.get(role, 0),
            "last_invalid": self.referee.last_invalid.get(role, ""),
            "turn": self.state.turn,
        }
        if self.state.done:
            if self._summary is None:  # computed once: the state no longer changes
                self._summary = {"outcome": self.state.outcome, **self.game.summary(self.state)}
            info.update(self._summary)
        return info

    def _new_state(self, seed: int | None) -> None:
        if seed is not None:
            # What default_rng(seed) builds (the same stream), without its dispatch.
            self.np_random = np.random.Generator(np.random.PCG64(seed))
        # The rules draw from this env's generator only: same seed, same episode.
        self.state = self.game.new_state(self.np_random)
        self._summary: dict[str, Any] | None = None
        self.referee.reset()
        self.cycles = 0

    def render(self) -> str | None:
        if self.state is None:
            return None
        lines = [
            f"[{m.sender}{' -> ' + m.to if m.to else ''}] {m.text}"
            for m in self.state.transcript.messages
        ]
        text = "\n".join(lines)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        pass


class TextGameEnv(_TextGameBase, AECEnv):
    """PettingZoo AEC environment over a :class:`Game`."""

    metadata: dict[str, Any] = {"render_modes": ["human", "ansi"], "is_parallelizable": False}

    def __init__(
        self,
        game: Game,
        env_id: str,
        invalid_move: str = "retry",
        max_retries: int = 2,
        invalid_penalty: float = -1.0,
        max_message_chars: int = 1200,
        max_cycles: int | None = None,
        render_mode: str | None = None,
        max_text: int = 32_000,
        action_mode: str = "text",
    ) -> None:
        AECEnv.__init__(self)
        self._setup(
            game, env_id, invalid_move, max_retries, invalid_penalty, max_message_chars,
            max_cycles, render_mode, max_text,
        )  # fmt: skip
        self._set_action_mode(action_mode)
        self.metadata = {
            **type(self).metadata,
            "name": env_id.replace("-", "_"),
            "discount": game.info.discount,
            "is_parallelizable": game.info.simultaneous,
        }
        self._pending: dict[str, Any] = {}
        self._infos: dict[str, dict[str, Any]] | None = {}

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self._new_state(seed)
        if options and "episode" in options:
            self.episode_id = str(options["episode"])
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self._pending = {}
        self._invalidate_infos()
        self._select_next()

    def observe(self, agent: str) -> dict[str, Any]:
        return self._obs_dict(agent)

    def _select_next(self) -> None:
        assert self.state is not None
        if not self._pending:  # the rule in turn-based games: the first role on turn
            to_move = self.state.to_move
            self.agent_selection = to_move[0] if to_move else self.agents[0]
            return
        waiting = [r for r in self.state.to_move if r not in self._pending]
        self.agent_selection = waiting[0] if waiting else self.agents[0]

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        assert self.state is not None
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        verdict, payload = self.referee.judge(self.state, agent, action)
        if verdict == "forfeit":
            self._finish(self.game.forfeit(self.state, agent), f"forfeit by {agent}: {payload}")
            return
        if verdict == "retry":
            self._invalidate_infos()
            self._accumulate_rewards()
            return
        if verdict == "penalty":
            self.rewards[agent] = self.referee.invalid_penalty
            payload = self.game.null_move(self.state, agent)
        pending = self._pending
        pending[agent] = payload
        to_move = self.state.to_move
        # Everyone on turn has moved (in turn-based games: the one mover has).
        if (len(to_move) == 1 and to_move[0] == agent) or all(r in pending for r in to_move):
            self._pending = {}
            outcome = self.game.apply(self.state, pending)
            if outcome.rewards:
                for role, reward in outcome.rewards.items():
                    self.rewards[role] += reward
            self.cycles += 1
        if self.state.done:
            for role, reward in self.state.returns.items():
                self.rewards[role] += reward
            self.terminations = dict.fromkeys(self.agents, True)
        elif self.max_cycles is not None and self.cycles >= self.max_cycles:
            self.state.done, self.state.outcome = True, "truncated"
            for role, reward in self.game.truncate(self.state).items():
                self.rewards[role] += reward
            self.truncations = dict.fromkeys(self.agents, True)
        self._invalidate_infos()
        self._select_next()
        self._accumulate_rewards()

    def forfeit(self, role: str, reason: str) -> None:
        """End the episode now as a forfeit by ``role`` (the game's forfeit payoffs), e.g.
        when ``role``'s agent crashed; ``reason`` becomes the outcome."""
        assert self.state is not None, "call reset() first"
        if role not in self.possible_agents:
            raise ValueError(f"{self.env_id} has no role {role!r}; roles: {self.possible_agents}")
        self._finish(self.game.forfeit(self.state, role), reason)

    def _finish(self, final: Mapping[str, float], outcome: str) -> None:
        assert self.state is not None
        self.state.done, self.state.outcome = True, outcome
        self.state.returns = dict(final)
        for role, reward in final.items():
            self.rewards[role] += reward
        self.terminations = dict.fromkeys(self.agents, True)
        self._invalidate_infos()
        self._select_next()
        self._accumulate_rewards()

    # PettingZoo's ``infos``, built when first read after a move, not after every move: the
    # arena reads them only as an episode ends, a PettingZoo loop once per move through last().
    @property
    def infos(self) -> dict[str, dict[str, Any]]:
        """role -> ``invalid_moves``, ``last_invalid``, ``turn`` (and the summary at the end)."""
        if self._infos is None:
            self._infos = self._current_infos()
        return self._infos

    @infos.setter
    def infos(self, value: dict[str, dict[str, Any]]) -> None:
        self._infos = value

    def _invalidate_infos(self) -> None:
        """The state moved on: the infos are rebuilt from it when next read."""
        self._infos = None

    def _current_infos(self) -> dict[str, dict[str, Any]]:
        state = self.state
        assert state is not None
        if state.done:
            return {a: self._info(a) for a in self.agents}
        # _info of a running episode, inlined: one dict per seat.
        counts, last_invalid, turn = self.referee.counts, self.referee.last_invalid, state.turn
        return {
            a: {
                "invalid_moves": counts.get(a, 0),
                "last_invalid": last_invalid.get(a, ""),
                "turn": turn,
            }
            for a in self.agents
        }


class TextGameParallelEnv(_TextGameBase, ParallelEnv):
    """PettingZoo Parallel environment for games whose roles move simultaneously.

    Every live agent may pass an action each step; actions of roles not on turn are ignored.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "ansi"]}

    def __init__(
        self,
        game: Game,
        env_id: str,
        invalid_move: str = "retry",
        max_retries: int = 2,
        invalid_penalty: float = -1.0,
        max_message_chars: int = 1200,
        max_cycles: int | None = None,
        render_mode: str | None = None,
        max_text: int = 32_000,
        action_mode: str = "text",
    ) -> None:
        if not game.info.simultaneous:
            raise ValueError(f"{env_id} is a sequential game and has no parallel env")
        self._setup(
            game, env_id, invalid_move, max_retries, invalid_penalty, max_message_chars,
            max_cycles, render_mode, max_text,
        )  # fmt: skip
        self._set_action_mode(action_mode)
        self.metadata = {
            **type(self).metadata,
            "name": env_id.replace("-", "_"),
            "discount": game.info.discount,
        }
        self.agents: list[str] = []

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._new_state(seed)
        if options and "episode" in options:
            self.episode_id = str(options["episode"])
        self.agents = list(self.possible_agents)
        self._pending: dict[str, Any] = {}
        return {a: self._obs_dict(a) for a in self.agents}, {a: self._info(a) for a in self.agents}

    def step(self, actions: Mapping[str, Any]):
        assert self.state is not None
        rewards = dict.fromkeys(self.agents, 0.0)
        forfeit: tuple[str, str] | None = None
        moves = self._pending
        for role in self.state.to_move:
            if role in moves:  # a valid move kept while another role was retrying
                continue
            verdict, payload = self.referee.judge(self.state, role, actions.get(role))
            if verdict == "forfeit" and forfeit is None:
                forfeit = (role, payload)
            elif verdict == "penalty":
                rewards[role] += self.referee.invalid_penalty
                moves[role] = self.game.null_move(self.state, role)
            elif verdict == "ok":
                moves[role] = payload
        if forfeit is not None:
            role, reason = forfeit
            self.state.done, self.state.outcome = True, f"forfeit by {role}: {reason}"
            self.state.returns = self.game.forfeit(self.state, role)
            for r, v in self.state.returns.items():
                rewards[r] += v
        elif len(moves) == len(self.state.to_move):
            self._pending = {}
            outcome = self.game.apply(self.state, moves)
            for role, reward in outcome.rewards.items():
                rewards[role] += reward
            self.cycles += 1
            if self.state.done:
                for role, reward in self.state.returns.items():
                    rewards[role] += reward
        truncated = False
        if not self.state.done and self.max_cycles is not None and self.cycles >= self.max_cycles:
            self.state.done, self.state.outcome, truncated = True, "truncated", True
            for role, reward in self.game.truncate(self.state).items():
                rewards[role] += reward
        observations = {a: self._obs_dict(a) for a in self.agents}
        infos = {a: self._info(a) for a in self.agents}
        terminations = dict.fromkeys(self.agents, self.state.done and not truncated)
        truncations = dict.fromkeys(self.agents, truncated)
        if self.state.done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos
