"""Scripted players for the OpenSpiel games: policies over the legal actions.

A :class:`PolicyAgent` reads an observation's facts (``info_state`` and ``legal_actions``),
asks :meth:`PolicyAgent.action_probabilities` for a distribution over the legal actions, and
samples one with a generator seeded from (seed, episode, turn, role), so play is
reproducible whatever the batching. It replies with the move's canonical text. The exact
evaluation (:mod:`palaestra.arena.exact`) reads ``action_probabilities`` directly.

=================================  ================================================================
spec                               player
=================================  ================================================================
``scripted:<game>/uniform``        every legal move equally likely (every bridged game)
``scripted:kuhn-poker/nash``       Kuhn's equilibrium family (``?alpha=`` in [0, 1/3], default 1/3)
``scripted:leduc-poker/cfr``       a CFR+ average policy (500 iterations, exploitability 0.0009)
``scripted:tic-tac-toe/minimax``   perfect play (OpenSpiel's minimax solver), ties broken by the
                                   seeded generator
=================================  ================================================================

Games add their own policies to :data:`POLICIES`. :func:`best_response_agent` builds the exact
best response to any fixed policy (OpenSpiel's ``best_response.BestResponsePolicy``), to be
used as an opponent. :func:`information_states` lists every information state of a game with
the observation its seat gets there, built as in play (``game.replay(history)`` and
:func:`palaestra.envs.adapter.make_observation`).

**The Leduc CFR+ table.** Solving Leduc takes about 12 s of CPU (OpenSpiel's C++
``CFRPlusSolver``, 500 iterations), so the table ships with the package
(``data/leduc_cfr.json``, 124 KB, with the iteration count, its exploitability and the OpenSpiel
version that produced it). When that file is missing or was made by another OpenSpiel
version, the table is solved once and cached under ``$PALAESTRA_HOME/policies/`` (default
``~/.cache/palaestra/policies/``); later runs read the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from palaestra.envs.protocol import Action, Observation
from palaestra.envs.scripted import ScriptedAgent


class PolicyAgent(ScriptedAgent):
    """A player defined by a distribution over the legal actions at each information state.

    Subclasses implement :meth:`action_probabilities`.

    Args:
        name: Agent name (the spec, e.g. ``scripted:kuhn-poker/uniform``).
        seed: Base seed of the sampling.
    """

    key: ClassVar[str] = "policy"

    def __init__(self, name: str | None = None, seed: int | str = 0) -> None:
        super().__init__(name)
        try:
            self.seed = int(seed)
        except (TypeError, ValueError):
            raise ValueError(f"seed must be an integer, got {seed!r}") from None

    def action_probabilities(self, obs: Observation) -> dict[int, float]:
        """Probability of each legal OpenSpiel action id (``obs.facts["legal_actions"]``)."""
        raise NotImplementedError

    def rng_for(self, obs: Observation) -> np.random.Generator:
        """The generator for this decision: seeded by (seed, episode, turn, role) only."""
        key = f"{self.seed}\x00{obs.episode}\x00{obs.turn}\x00{obs.role}".encode()
        digest = hashlib.blake2b(key, digest_size=8).digest()
        return np.random.default_rng(int.from_bytes(digest, "little"))

    def reply(self, obs: Observation) -> str:
        legal: Sequence[int] = obs.facts.get("legal_actions", ())
        candidates: Sequence[str] = obs.facts.get("candidates", ())
        if not legal:
            return ""  # not this seat's turn
        probs = self.action_probabilities(obs)
        weights = np.array([max(float(probs.get(a, 0.0)), 0.0) for a in legal])
        if weights.sum() <= 0:
            raise ValueError(f"{self.name}: no probability on any legal action {list(legal)}")
        u = self.rng_for(obs).random() * weights.sum()
        index = min(int(np.searchsorted(np.cumsum(weights), u, side="right")), len(legal) - 1)
        return candidates[index]

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        return [Action(self.reply(obs)) for obs in observations]


class UniformPolicy(PolicyAgent):
    """Every legal move with the same probability."""

    key = "uniform"

    def action_probabilities(self, obs: Observation) -> dict[int, float]:
        legal = list(obs.facts.get("legal_actions", ()))
        return {a: 1.0 / len(legal) for a in legal}


#: OpenSpiel short name -> policy name -> class, besides ``uniform`` (every game has that).
POLICIES: dict[str, dict[str, type[PolicyAgent]]] = {}


def scripted_players(game: str) -> Mapping[str, type[PolicyAgent]]:
    """The scripted players of OpenSpiel game ``game`` (its short name, e.g. ``kuhn_poker``)."""
    return {"uniform": UniformPolicy, **POLICIES.get(game, {})}


# -- Kuhn poker ----------------------------------------------------------------------------------

_PASS, _BET = 0, 1  # OpenSpiel's Kuhn actions
_JACK, _QUEEN, _KING = 0, 1, 2  # OpenSpiel's Kuhn cards


def _legal(obs: Observation, name: str) -> list[int]:
    legal = [int(a) for a in obs.facts.get("legal_actions", ())]
    if not legal:
        raise ValueError(
            f"{name}: the observation of role {obs.role!r} has no legal actions "
            "(facts['legal_actions'] is empty: is it this seat's turn in an OpenSpiel game?)"
        )
    return legal


class KuhnNashPolicy(PolicyAgent):
    """Kuhn's (1950) equilibrium family, parameterised by the first player's bluffing rate.

    First player (OpenSpiel player 0): bets a Jack with probability ``alpha``, never bets a
    Queen, bets a King with probability ``3 * alpha``; after pass-bet, folds a Jack, calls with
    a Queen with probability ``alpha + 1/3``, calls with a King. Second player: facing a bet,
    calls with a King, with a Queen with probability 1/3, folds a Jack; after a pass, bets a
    King, passes a Queen, bets a Jack with probability 1/3. Every ``alpha`` in [0, 1/3] is an
    equilibrium (game value -1/18 for the first player).

    Args:
        alpha: The first player's Jack-betting probability, in [0, 1/3].
        name: See :class:`PolicyAgent`.
        seed: See :class:`PolicyAgent`.
    """

    key = "nash"

    def __init__(self, alpha: float = 1 / 3, name: str | None = None, seed: int | str = 0) -> None:
        super().__init__(name, seed)
        if isinstance(alpha, bool) or not isinstance(alpha, int | float):
            raise TypeError(f"alpha must be a number in [0, 1/3], got {alpha!r}")
        if not 0 <= alpha <= 1 / 3 + 1e-9:
            raise ValueError(f"alpha must be in [0, 1/3] for an equilibrium, got {alpha!r}")
        self.alpha = min(float(alpha), 1 / 3)

    def bet_probability(self, card: int, history: str) -> float:
        """Probability of Bet (bet or call) holding ``card`` (0 Jack, 1 Queen, 2 King) after
        ``history`` (``""``, ``"p"``, ``"b"`` or ``"pb"``), in OpenSpiel's Kuhn notation."""
        a = self.alpha
        table = {
            "": {_JACK: a, _QUEEN: 0.0, _KING: 3 * a},
            "pb": {_JACK: 0.0, _QUEEN: a + 1 / 3, _KING: 1.0},
            "b": {_JACK: 0.0, _QUEEN: 1 / 3, _KING: 1.0},
            "p": {_JACK: 1 / 3, _QUEEN: 0.0, _KING: 1.0},
        }
        if history not in table or card not in table[history]:
            raise ValueError(
                f"not a Kuhn decision point: card {card!r}, history {history!r} (expected a "
                "card 0-2 and a history '', 'p', 'b' or 'pb')"
            )
        return table[history][card]

    def action_probabilities(self, obs: Observation) -> dict[int, float]:
        info = str(obs.facts.get("info_state", ""))
        if not info or not info[0].isdigit():
            raise ValueError(
                f"expected a Kuhn information state like '0pb' in facts['info_state'], got {info!r}"
            )
        bet = self.bet_probability(int(info[0]), info[1:])
        return {_PASS: 1.0 - bet, _BET: bet}


# -- tabular policies (Leduc CFR+, best responses) -----------------------------------------------


class TablePolicy(PolicyAgent):
    """A policy stored as a table: information state -> {action id: probability}.

    Args:
        table: The distribution at each information state (``facts["info_state"]``).
        name: See :class:`PolicyAgent`.
        seed: See :class:`PolicyAgent`.
    """

    key = "table"

    def __init__(
        self,
        table: Mapping[str, Mapping[int, float]],
        name: str | None = None,
        seed: int | str = 0,
    ) -> None:
        super().__init__(name, seed)
        self.table = table

    def action_probabilities(self, obs: Observation) -> dict[int, float]:
        info = obs.facts.get("info_state")
        if info not in self.table:
            raise ValueError(
                f"{self.name}: information state {info!r} is not in its table "
                f"({len(self.table)} states); is this the game the table was made for?"
            )
        return dict(self.table[info])


#: The Leduc table shipped with the package (see the module docstring).
LEDUC_CFR_DATA = Path(__file__).parent / "data" / "leduc_cfr.json"
#: CFR+ iterations of the Leduc table (exploitability 0.0009 with OpenSpiel 2.0.2).
LEDUC_CFR_ITERATIONS = 500


def openspiel_version() -> str:
    """The installed OpenSpiel version (``pyspiel.__version__``)."""
    import pyspiel

    return str(getattr(pyspiel, "__version__", "unknown"))


def policy_cache_dir() -> Path:
    """Where solved policies are cached: ``$PALAESTRA_HOME/policies`` (default
    ``~/.cache/palaestra/policies``), under the same home as the model cache."""
    home = Path(os.environ.get("PALAESTRA_HOME") or "~/.cache/palaestra").expanduser()
    return home / "policies"


def solve_leduc_cfr(iterations: int = LEDUC_CFR_ITERATIONS, digits: int = 6) -> dict[str, Any]:
    """Solve Leduc poker with OpenSpiel's CFR+ and return the table as JSON-ready data.

    The probabilities are rounded to ``digits`` decimals (keeping the file small); the recorded
    exploitability is that of the rounded table, as it is played.

    Returns:
        ``{"game", "solver", "iterations", "exploitability", "open_spiel", "policy"}``, where
        ``policy`` maps each information state to the probabilities of action ids
        ``0 .. num_distinct_actions - 1`` (0 where illegal).

    Raises:
        ValueError: ``iterations`` is not a positive integer.
    """
    import pyspiel

    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    game = pyspiel.load_game("leduc_poker")
    solver = pyspiel.CFRPlusSolver(game)
    for _ in range(iterations):
        solver.evaluate_and_update_policy()
    average = solver.average_policy()
    table: dict[str, list[float]] = {}
    for info, history, _ in _info_state_histories(game):
        state = game.new_initial_state()
        for action in history:
            state.apply_action(action)
        row = [0.0] * game.num_distinct_actions()
        for action, p in average.action_probabilities(state).items():
            row[action] = round(float(p), digits)
        total = sum(row)
        table[info] = [round(p / total, digits) for p in row]
    data: dict[str, Any] = {
        "game": "leduc_poker",
        "solver": "pyspiel.CFRPlusSolver (average policy)",
        "iterations": iterations,
        "open_spiel": openspiel_version(),
        "policy": table,
    }
    data["exploitability"] = table_exploitability(game, table)
    return data


def table_exploitability(game: Any, table: Mapping[str, Sequence[float]]) -> float:
    """OpenSpiel's exploitability of a table of per-action probability rows."""
    from open_spiel.python.algorithms import exploitability

    policy = tabular_policy(game, {k: dict(enumerate(v)) for k, v in table.items()})
    return float(exploitability.exploitability(game, policy))


def write_table(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write a solved table as JSON, atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the table is no secret
    os.replace(tmp, path)


def _read_table(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("open_spiel") != openspiel_version():
        return None
    return data


@cache
def leduc_cfr_table() -> dict[str, Any]:
    """The Leduc CFR+ table: the shipped file if the installed OpenSpiel made it, else the
    cached one, else solved now (about 12 s) and cached. See the module docstring."""
    cached = policy_cache_dir() / LEDUC_CFR_DATA.name
    for path in (LEDUC_CFR_DATA, cached):
        data = _read_table(path)
        if data is not None:
            return data
    data = solve_leduc_cfr()
    write_table(cached, data)
    return data


class LeducCFRPolicy(TablePolicy):
    """The CFR+ average policy of Leduc poker (see :func:`leduc_cfr_table`).

    Attributes:
        exploitability: The table's exploitability, as recorded next to it.
        iterations: CFR+ iterations that produced it.
    """

    key = "cfr"

    def __init__(self, name: str | None = None, seed: int | str = 0) -> None:
        data = leduc_cfr_table()
        table = {k: dict(enumerate(v)) for k, v in data["policy"].items()}
        super().__init__(table, name, seed)
        self.exploitability = float(data["exploitability"])
        self.iterations = int(data["iterations"])


# -- tic-tac-toe ---------------------------------------------------------------------------------


@cache
def _minimax_solver(game_string: str) -> Any:
    from open_spiel.python.algorithms.minimax_solver import MinimaxSolver

    solver = MinimaxSolver(game_string)
    solver.solve()
    return solver


class MinimaxPolicy(PolicyAgent):
    """Perfect play in tic-tac-toe (a two-player zero-sum perfect-information game).

    OpenSpiel's ``MinimaxSolver`` solves the game once per process (0.3 s); at each state every
    action of the best minimax value is equally likely, so the seeded generator breaks ties.

    Args:
        name: See :class:`PolicyAgent`.
        seed: See :class:`PolicyAgent`.
    """

    key = "minimax"
    game_string: ClassVar[str] = "tic_tac_toe"

    def __init__(self, name: str | None = None, seed: int | str = 0) -> None:
        super().__init__(name, seed)
        self.solver = _minimax_solver(self.game_string)

    def action_probabilities(self, obs: Observation) -> dict[int, float]:
        legal = _legal(obs, self.name)
        info = str(obs.facts.get("info_state", ""))
        try:  # tic-tac-toe's information state is its action history: "4, 0, 2"
            history = [int(a) for a in info.split(",") if a.strip()]
        except ValueError:
            raise ValueError(
                f"expected an action history like '4, 0' in facts['info_state'], got {info!r}"
            ) from None
        import pyspiel

        state = pyspiel.load_game(self.game_string).new_initial_state()
        for action in history:
            state.apply_action(action)
        values = self.solver.action_values_from_state(state)
        best = max(values[a] for a in legal)
        top = [a for a in legal if values[a] >= best - 1e-6]
        return {a: (1.0 / len(top) if a in top else 0.0) for a in legal}


POLICIES["kuhn_poker"] = {"nash": KuhnNashPolicy}
POLICIES["leduc_poker"] = {"cfr": LeducCFRPolicy}
POLICIES["tic_tac_toe"] = {"minimax": MinimaxPolicy}


# -- information states and OpenSpiel policies ---------------------------------------------------


def _info_state_histories(game: Any) -> list[tuple[str, list[int], int]]:
    """``(information state, history of one state in it, player)`` for every decision point,
    in the order of OpenSpiel's ``TabularPolicy``."""
    from open_spiel.python import policy as os_policy

    table = os_policy.TabularPolicy(game)
    return [
        (key, list(state.history()), int(state.current_player()))
        for key, state in zip(table.state_lookup, table.states)
    ]


@dataclass(frozen=True)
class InfoState:
    """One information state, with the observation its seat gets there.

    Attributes:
        key: OpenSpiel's information state string.
        player: OpenSpiel player id of the seat to move.
        role: The seat's palaestra role.
        history: OpenSpiel action ids (chance outcomes included) of one state in it.
        legal_actions: Legal action ids, in OpenSpiel's order.
        moves: The canonical reply text of each legal action.
        observation: What the seat is shown there, exactly as in play.
        state: The palaestra game state (``state.os_state`` is the pyspiel state).
        game: The palaestra game (``game.pyspiel_game`` is OpenSpiel's).
    """

    key: str
    player: int
    role: str
    history: tuple[int, ...]
    legal_actions: tuple[int, ...]
    moves: tuple[str, ...]
    observation: Observation
    state: Any
    game: Any


def _openspiel_game(env_id: str, game_kwargs: Mapping[str, Any]) -> Any:
    from palaestra.envs import spec

    game = spec(env_id).make_game(**game_kwargs)
    if getattr(game, "pyspiel_game", None) is None:
        raise ValueError(f"{env_id!r} is not an OpenSpiel game (it has no pyspiel_game)")
    return game


def information_states(env_id: str, episode: str = "", **game_kwargs: Any) -> list[InfoState]:
    """Every information state of an OpenSpiel game, with the seat's observation there.

    Args:
        env_id: A registered OpenSpiel env id, e.g. ``"kuhn-poker-v0"``.
        episode: The observations' episode id.
        **game_kwargs: Arguments of the game.

    Raises:
        ValueError: ``env_id`` is not an OpenSpiel game.
    """
    from palaestra.envs.adapter import make_observation

    game = _openspiel_game(env_id, game_kwargs)
    out = []
    for key, history, player in _info_state_histories(game.pyspiel_game):
        state = game.replay(history)
        role = game.role_of(player)
        moves = game.legal_moves(state)
        out.append(
            InfoState(
                key=key,
                player=player,
                role=role,
                history=tuple(history),
                legal_actions=tuple(moves),
                moves=tuple(moves.values()),
                observation=make_observation(game, state, role, env_id, episode=episode),
                state=state,
                game=game,
            )
        )
    return out


def tabular_policy(game: Any, table: Mapping[str, Mapping[int, float]]) -> Any:
    """An OpenSpiel ``TabularPolicy`` of ``game`` (a ``pyspiel.Game``) holding ``table``
    (info state -> {action: probability}), renormalised over the legal actions.

    Raises:
        ValueError: An information state of the game is missing from ``table``, or has no
            probability on a legal action.
    """
    from open_spiel.python import policy as os_policy

    policy = os_policy.TabularPolicy(game)
    for key, index in policy.state_lookup.items():
        if key not in table:
            raise ValueError(f"the policy has no distribution at information state {key!r}")
        mask = policy.legal_actions_mask[index]
        row = np.zeros(len(mask), dtype=np.float64)
        for action, p in table[key].items():
            if mask[int(action)]:
                row[int(action)] = max(float(p), 0.0)
        if not row.sum() > 0:
            raise ValueError(f"no probability on a legal action at {key!r}: {dict(table[key])}")
        policy.action_probability_array[index] = row / row.sum()
    return policy


def policy_table(
    agent: PolicyAgent, env_id: str, **game_kwargs: Any
) -> dict[str, dict[int, float]]:
    """A :class:`PolicyAgent`'s distribution at every information state of an OpenSpiel game."""
    return {
        s.key: agent.action_probabilities(s.observation)
        for s in information_states(env_id, **game_kwargs)
    }


class BestResponseAgent(TablePolicy):
    """A deterministic best response (see :func:`best_response_agent`).

    Attributes:
        values: OpenSpiel player id -> the best response's expected return in that seat
            against the fixed policy.
    """

    key = "best-response"

    def __init__(
        self,
        table: Mapping[str, Mapping[int, float]],
        values: Mapping[int, float],
        name: str | None = None,
        seed: int | str = 0,
    ) -> None:
        super().__init__(table, name, seed)
        self.values = dict(values)


def best_response_agent(
    env_id: str,
    policy: Any,
    player: int | None = None,
    *,
    name: str | None = None,
    **game_kwargs: Any,
) -> BestResponseAgent:
    """The exact best response to a fixed policy, as a player.

    Args:
        env_id: An OpenSpiel env id (``"kuhn-poker-v0"``, ``"leduc-poker-v0"``).
        policy: The fixed policy: a :class:`PolicyAgent`, a table (info state -> {action:
            probability}) or an OpenSpiel ``policy.Policy`` (e.g. from
            :func:`palaestra.arena.exact.agent_policy`, for any agent).
        player: The OpenSpiel player id the best response plays (``None``: every seat, each
            best-responding to the policy's other seats).
        name: Agent name (default ``best-response:<policy name>``).
        **game_kwargs: Arguments of the game.

    Returns:
        A :class:`BestResponseAgent` playing OpenSpiel's ``BestResponsePolicy`` action at each
        information state of its seats.

    Raises:
        ValueError: ``player`` is not a player of the game, or the game is not an OpenSpiel one.
        TypeError: ``policy`` is none of the kinds above.
    """
    from open_spiel.python.algorithms.best_response import BestResponsePolicy

    os_game = _openspiel_game(env_id, game_kwargs).pyspiel_game
    players = list(range(os_game.num_players()))
    if player is not None and player not in players:
        raise ValueError(
            f"player must be one of {players} (or None for every seat), got {player!r}"
        )
    label = getattr(policy, "name", type(policy).__name__)
    if isinstance(policy, PolicyAgent):
        policy = policy_table(policy, env_id, **game_kwargs)
    if isinstance(policy, Mapping):
        policy = tabular_policy(os_game, policy)
    if not callable(getattr(policy, "action_probabilities", None)):
        raise TypeError(
            f"expected a PolicyAgent, a table or an OpenSpiel policy, got {type(policy).__name__}"
        )
    table: dict[str, dict[int, float]] = {}
    values: dict[int, float] = {}
    root = os_game.new_initial_state()
    for responder in players if player is None else [player]:
        br = BestResponsePolicy(os_game, responder, policy)
        values[responder] = float(br.value(root))
        for key in br.infosets:
            table[key] = {int(br.best_response_action(key)): 1.0}
    return BestResponseAgent(table, values, name=name or f"best-response:{label}")
