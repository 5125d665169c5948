"""Exact evaluation: the exploitability and NashConv of any agent in Kuhn and Leduc poker.

The agent's policy is read off at every information state of the game (12 in Kuhn, 936 in
Leduc), from the observation its seat gets there in play, and OpenSpiel computes the best
responses (``exploitability.nash_conv``). How the distribution at a state is obtained depends on
the agent (see docs/exact-evaluation.md):

* ``scored`` — agents with a batched ``score(observations, candidates)`` (``hf:`` agents):
  each legal move's probability is that of the reply beginning with one of its spellings (the
  canonical text, the game's aliases, each also Capitalised, where the env parses
  them as that move), at the agent's sampling temperature, renormalised over the legal moves.
  ``invalid_mass`` is what the model puts on replies that begin with none of them:
  ``1 - sum(exp(score))``.
* ``exact`` — :class:`~palaestra.envs.openspiel.policies.PolicyAgent` players: their
  ``action_probabilities``.
* ``sampled`` — everything else (``openai:``, ``human``, custom agents): ``samples`` replies per
  state, parsed as the env parses them; the policy is the frequency of each legal move among
  the valid replies (an invalid reply is its own outcome, counted in ``invalid_mass``), and the
  exploitability gets a bootstrap interval over the per-state samples. A greedy ``hf:`` agent
  (temperature 0) is deterministic: one sample per state is exact (``greedy``).

>>> result = exploitability_of("scripted:kuhn-poker/uniform", "kuhn-poker-v0")  # doctest: +SKIP
>>> round(result.exploitability, 4)  # doctest: +SKIP
0.4583

``palaestra evaluate exploitability SPEC --game kuhn-poker-v0`` is the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.envs.protocol import Agent

__all__ = [
    "EXACT_GAMES",
    "METHODS",
    "Exploitability",
    "StatePolicy",
    "add_commands",
    "agent_policy",
    "check_game",
    "exploitability_of",
]

#: Env ids whose exploitability is computed (two-player zero-sum, small enough to enumerate).
EXACT_GAMES = ("kuhn-poker-v0", "leduc-poker-v0")
#: How an agent's distribution is read (``auto`` picks by the agent's kind).
METHODS = ("auto", "scored", "exact", "sampled")
#: Default replies per information state for sampling-only agents.
DEFAULT_SAMPLES = 64


@dataclass(frozen=True)
class StatePolicy:
    """The agent's distribution at one information state.

    Attributes:
        key: OpenSpiel's information state string.
        player: OpenSpiel player id of the seat to move.
        role: Its palaestra role.
        private: The seat's private facts (e.g. ``{"card": "K"}``).
        moves: The legal moves' canonical texts.
        probs: The policy over ``moves`` (what OpenSpiel evaluates).
        invalid_mass: Probability of a reply naming no legal move (see the module docstring).
        samples: Replies sampled here (0 when the distribution was read exactly).
    """

    key: str
    player: int
    role: str
    private: dict[str, Any]
    moves: tuple[str, ...]
    probs: tuple[float, ...]
    invalid_mass: float
    samples: int = 0


@dataclass
class Exploitability:
    """The result of :func:`exploitability_of`.

    Attributes:
        env_id: The game.
        agent: The agent's name.
        method: ``scored``, ``exact``, ``sampled`` or ``greedy``.
        exploitability: OpenSpiel's exploitability: the mean over seats of what a best response
            gains against the policy (NashConv / 2 in a two-player zero-sum game); 0 at a Nash
            equilibrium.
        nash_conv: The sum over seats of the best response's improvement.
        player_improvements: That improvement per OpenSpiel player.
        invalid_mass: Mean over information states of the mass on replies naming no legal move.
        invalid_mass_max: Its largest value at one state.
        samples_per_state: Replies per state for ``sampled``/``greedy`` (``None`` otherwise).
        interval: Bootstrap percentile interval of the exploitability (``sampled`` only).
        confidence: Level of ``interval``.
        failures: Replies that were agent failures (counted as invalid).
        seconds: Wall time of the evaluation.
        open_spiel: The OpenSpiel version used.
        states: The per-state policy table.
    """

    env_id: str
    agent: str
    method: str
    exploitability: float
    nash_conv: float
    player_improvements: list[float]
    invalid_mass: float
    invalid_mass_max: float
    samples_per_state: int | None = None
    interval: tuple[float, float] | None = None
    confidence: float | None = None
    failures: int = 0
    seconds: float = 0.0
    open_spiel: str = ""
    states: list[StatePolicy] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (the figure under ``"exploitability"``)."""
        data = dataclasses.asdict(self)
        data["interval"] = list(self.interval) if self.interval else None
        data["states"] = [
            {**dataclasses.asdict(s), "moves": list(s.moves), "probs": list(s.probs)}
            for s in self.states
        ]
        return data


def check_game(env_id: str) -> None:
    """Raise ``ValueError`` unless ``env_id`` is a game with exact evaluation."""
    if env_id not in EXACT_GAMES:
        raise ValueError(
            f"exact evaluation needs a two-player zero-sum game small enough to enumerate; "
            f"{env_id!r} is not one: supported games are {', '.join(EXACT_GAMES)}"
        )


def _choose_method(agent: Any, method: str) -> str:
    from palaestra.envs.openspiel.policies import PolicyAgent

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    greedy = getattr(agent, "temperature", None) == 0
    if method == "auto":
        if isinstance(agent, PolicyAgent):
            return "exact"
        if callable(getattr(agent, "score", None)) and not greedy:
            return "scored"
        return "greedy" if greedy and callable(getattr(agent, "score", None)) else "sampled"
    if method == "exact" and not isinstance(agent, PolicyAgent):
        raise ValueError(
            f"method 'exact' needs a PolicyAgent (scripted OpenSpiel player), got "
            f"{type(agent).__name__} {getattr(agent, 'name', '')!r}"
        )
    if method == "scored" and not callable(getattr(agent, "score", None)):
        raise ValueError(
            f"method 'scored' needs an agent with a score(observations, candidates) method; "
            f"{getattr(agent, 'name', agent)!r} has none (use 'sampled')"
        )
    return method


def _move_spellings(state: Any) -> list[list[str]]:
    """Per legal move, the reply beginnings scored for it: the canonical text, the game's
    aliases (``check``/``call``/``fold`` in Kuhn), each also Capitalised, kept where
    the env parses them as that move. A spelling that extends another one is dropped, so the
    scored events (the reply begins with this text) stay disjoint."""
    from palaestra.envs.core import InvalidMove

    writer = getattr(state.game, "writer", None)
    aliases = getattr(writer, "move_aliases", None)
    texts: list[list[str]] = []
    for action, move in zip(state.legal_actions, state.moves):
        names = [move]
        if callable(aliases):
            names += [str(a) for a in aliases(state.state.os_state, state.player, action)]
        variants = []
        for name in names:
            # UPPER-case replies are rare and cost extra rows (multi-token): not scored.
            for text in (name, name.capitalize()):
                if text in variants:
                    continue
                try:
                    if state.game.parse(state.state, state.role, text) == action:
                        variants.append(text)
                except InvalidMove:
                    pass
        texts.append(variants or [move])
    flat = [t for group in texts for t in group]
    return [
        [t for t in group if not any(o != t and t.startswith(o) for o in flat)] or group[:1]
        for group in texts
    ]


def _move_probabilities(logps: Sequence[Sequence[float]]) -> tuple[np.ndarray, float]:
    """Renormalised probabilities of the moves (each the sum over its spellings) and the mass
    outside every spelling."""
    mass = np.array([float(np.exp(np.asarray(group, dtype=np.float64)).sum()) for group in logps])
    inside = float(mass.sum())
    if not inside > 0:  # truncation ruled every spelling out
        return np.full(len(mass), 1.0 / len(mass)), 1.0
    return mass / inside, min(max(1.0 - inside, 0.0), 1.0)


def _scored(agent: Any, states: Sequence[Any], batch: int) -> list[tuple[np.ndarray, float]]:
    out = []
    for start in range(0, len(states), batch):
        chunk = states[start : start + batch]
        spellings = [_move_spellings(s) for s in chunk]
        flat = [[t for group in groups for t in group] for groups in spellings]
        scores = agent.score([s.observation for s in chunk], flat)
        for groups, row in zip(spellings, scores):
            grouped, at = [], 0
            for group in groups:
                grouped.append(row[at : at + len(group)])
                at += len(group)
            out.append(_move_probabilities(grouped))
    return out


def _reply_action(state: Any, raw: Any) -> int | None:
    """The action a reply plays, parsed as the env parses it (``None``: an invalid move)."""
    from palaestra.envs.adapter import MoveReferee
    from palaestra.envs.core import MAX_RAW_CHARS, InvalidMove, clean_text, split_reasoning

    if not isinstance(raw, str):
        return None
    _, visible = split_reasoning(raw[:MAX_RAW_CHARS])
    visible = clean_text(visible, MoveReferee.max_message_chars)
    try:
        return int(state.game.parse(state.state, state.role, visible))
    except InvalidMove:
        return None


def _sampled(
    agent: Agent, states: Sequence[Any], samples: int, batch: int
) -> tuple[list[np.ndarray], int]:
    """Per state, counts of each legal action then of invalid replies (last column)."""
    jobs = [(i, k) for i in range(len(states)) for k in range(samples)]
    counts = [np.zeros(len(s.moves) + 1, dtype=np.int64) for s in states]
    failures = 0
    end_episode = getattr(agent, "end_episode", None)
    for start in range(0, len(jobs), batch):
        chunk = jobs[start : start + batch]
        observations = [
            dataclasses.replace(states[i].observation, episode=f"exact/{i}/{k}") for i, k in chunk
        ]
        actions = agent.act(observations)
        if len(actions) != len(observations):
            raise ValueError(
                f"agent {agent.name!r} answered {len(actions)} of {len(observations)} observations"
            )
        for (i, _), action, obs in zip(chunk, actions, observations):
            move = None
            if getattr(action, "failed", False):
                failures += 1
            else:
                move = _reply_action(states[i], getattr(action, "text", None))
            legal = states[i].legal_actions
            counts[i][legal.index(move) if move in legal else len(legal)] += 1
            if callable(end_episode):
                end_episode(obs.episode)
    return counts, failures


def _policy_from_counts(counts: np.ndarray) -> tuple[np.ndarray, float]:
    valid, n = counts[:-1], counts.sum()
    probs = valid / valid.sum() if valid.sum() else np.full(len(valid), 1.0 / len(valid))
    return probs, float(counts[-1] / n) if n else 1.0


def _openspiel_policy(os_game: Any, states: Sequence[Any], probs: Sequence[np.ndarray]) -> Any:
    from palaestra.envs.openspiel.policies import tabular_policy

    table = {s.key: dict(zip(s.legal_actions, p)) for s, p in zip(states, probs)}
    return tabular_policy(os_game, table)


def _resolve(agent: Any) -> Agent:
    if isinstance(agent, str):
        from palaestra.agents import make_agent

        return make_agent(agent)
    if not (hasattr(agent, "act") and hasattr(agent, "name")):
        raise TypeError(f"expected an agent or an agent spec string, got {agent!r}")
    return agent


def _read_policy(
    agent: Agent,
    env_id: str,
    method: str,
    samples: int,
    batch: int,
    game_kwargs: dict[str, Any],
) -> tuple[str, list[Any], list[np.ndarray], list[float], list[np.ndarray] | None, int]:
    from palaestra.envs.openspiel.policies import information_states

    check_game(env_id)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch!r}")
    method = _choose_method(agent, method)
    states = information_states(env_id, **game_kwargs)
    counts = None
    failures = 0
    if method == "exact":
        probs, invalid = [], []
        for s in states:
            dist = agent.action_probabilities(s.observation)  # type: ignore[attr-defined]
            p = np.array([max(float(dist.get(a, 0.0)), 0.0) for a in s.legal_actions])
            probs.append(p / p.sum())
            invalid.append(0.0)
    elif method == "scored":
        read = _scored(agent, states, batch)
        probs, invalid = [p for p, _ in read], [m for _, m in read]
    else:
        counts, failures = _sampled(agent, states, 1 if method == "greedy" else samples, batch)
        read = [_policy_from_counts(c) for c in counts]
        probs, invalid = [p for p, _ in read], [m for _, m in read]
    return method, states, probs, invalid, counts, failures


def agent_policy(
    agent: Agent | str,
    env_id: str = "kuhn-poker-v0",
    *,
    method: str = "auto",
    samples: int = DEFAULT_SAMPLES,
    batch: int = 64,
    **game_kwargs: Any,
) -> Any:
    """The agent's policy as an OpenSpiel ``TabularPolicy`` (e.g. for
    :func:`~palaestra.envs.openspiel.policies.best_response_agent`). Arguments as in
    :func:`exploitability_of`."""
    agent = _resolve(agent)
    _, states, probs, *_ = _read_policy(agent, env_id, method, samples, batch, game_kwargs)
    return _openspiel_policy(states[0].game.pyspiel_game, states, probs)


def exploitability_of(
    agent: Agent | str,
    env_id: str = "kuhn-poker-v0",
    *,
    method: str = "auto",
    samples: int = DEFAULT_SAMPLES,
    bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    batch: int = 64,
    **game_kwargs: Any,
) -> Exploitability:
    """The exploitability and NashConv of an agent's policy, computed by OpenSpiel.

    Args:
        agent: An agent or an agent spec (``"hf:tiny"``, ``"scripted:kuhn-poker/nash"``).
        env_id: ``"kuhn-poker-v0"`` or ``"leduc-poker-v0"``.
        method: ``auto`` (by the agent's kind: see the module docstring), ``scored``,
            ``exact`` or ``sampled``.
        samples: Replies per information state when sampling.
        bootstrap: Bootstrap resamples for the interval of a sampled estimate (0: none).
        confidence: Level of that interval.
        seed: Seed of the bootstrap.
        batch: Observations per ``act``/``score`` call.
        **game_kwargs: Arguments of the game.

    Raises:
        ValueError: The game has no exact evaluation (the message lists those that do), or an
            argument is out of range.
    """
    from palaestra.envs.openspiel import MissingOpenSpiel, pyspiel_available

    check_game(env_id)
    if not pyspiel_available():
        raise MissingOpenSpiel(f"exact evaluation of {env_id!r}")
    from open_spiel.python.algorithms import exploitability as os_exploitability

    from palaestra.envs.openspiel.policies import openspiel_version

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise ValueError(f"bootstrap must be an integer >= 0, got {bootstrap!r}")
    started = time.perf_counter()
    agent = _resolve(agent)
    method, states, probs, invalid, counts, failures = _read_policy(
        agent, env_id, method, samples, batch, game_kwargs
    )
    os_game = states[0].game.pyspiel_game
    policy = _openspiel_policy(os_game, states, probs)
    conv = os_exploitability.nash_conv(os_game, policy, return_only_nash_conv=False)
    value = float(os_exploitability.exploitability(os_game, policy))
    interval = None
    if method == "sampled" and counts is not None and bootstrap:
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(bootstrap):
            resampled = [rng.multinomial(c.sum(), c / c.sum()) for c in counts]
            boot = [_policy_from_counts(c)[0] for c in resampled]
            draws.append(
                os_exploitability.exploitability(os_game, _openspiel_policy(os_game, states, boot))
            )
        tail = (1 - confidence) / 2
        interval = (float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)))
    rows = [
        StatePolicy(
            key=s.key,
            player=s.player,
            role=s.role,
            private=dict(s.observation.facts.get("private", {}) or {}),
            moves=s.moves,
            probs=tuple(float(x) for x in p),
            invalid_mass=float(m),
            samples=int(c.sum()) if counts is not None else 0,
        )
        for s, p, m, c in zip(states, probs, invalid, counts or [None] * len(states))
    ]
    return Exploitability(
        env_id=env_id,
        agent=str(getattr(agent, "name", agent)),
        method=method,
        exploitability=value,
        nash_conv=float(conv.nash_conv),
        player_improvements=[float(x) for x in conv.player_improvements],
        invalid_mass=float(np.mean(invalid)),
        invalid_mass_max=float(np.max(invalid)),
        samples_per_state=(1 if method == "greedy" else samples) if counts is not None else None,
        interval=interval,
        confidence=confidence if interval else None,
        failures=failures,
        seconds=time.perf_counter() - started,
        open_spiel=openspiel_version(),
        states=rows,
    )


# -- command line --------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="exact evaluation of an agent (exploitability)",
        description="Exact evaluation of an agent in games small enough to solve.",
    )
    evaluations = p.add_subparsers(dest="evaluation", metavar="EVALUATION")
    e = evaluations.add_parser(
        "exploitability",
        help="exploitability and NashConv of an agent in Kuhn or Leduc poker",
        description="Read the agent's policy at every information state and compute its "
        "exploitability and NashConv with OpenSpiel; see docs/exact-evaluation.md.",
    )
    e.add_argument("spec", help="agent spec, e.g. hf:smollm2-135m or scripted:kuhn-poker/nash")
    e.add_argument("--game", default="kuhn-poker-v0", help=f"one of {', '.join(EXACT_GAMES)}")
    e.add_argument("--method", choices=METHODS, default="auto", help="how to read the policy")
    e.add_argument(
        "--samples",
        type=int,
        default=DEFAULT_SAMPLES,
        help=f"replies per state for sampling-only agents (default {DEFAULT_SAMPLES})",
    )
    e.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples (sampled)")
    e.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    e.add_argument("--rows", type=int, default=40, help="policy table rows to print (0: all)")
    e.add_argument("--json", default=None, metavar="PATH", help="write the result as JSON")
    e.set_defaults(handler=_exploitability_command)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def _fmt_private(private: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in private.items()) or "-"


def _exploitability_command(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console
    from rich.table import Table

    try:
        result = exploitability_of(
            args.spec,
            args.game,
            method=args.method,
            samples=args.samples,
            bootstrap=args.bootstrap,
            seed=args.seed,
        )
    except ImportError as err:  # OpenSpiel not installed: the message names the extra
        print(f"palaestra evaluate exploitability: error: {err}", file=sys.stderr)
        return 2
    # A pipe or a file gets a wide, plain table rather than one squeezed into 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"{result.agent} in {result.env_id}: policy at each information state")
    for column in ("player", "private", "information state", "policy", "invalid"):
        table.add_column(column, overflow="fold")
    shown = result.states if args.rows <= 0 else result.states[: args.rows]
    for s in shown:
        policy = "  ".join(f"{m} {p:.3f}" for m, p in zip(s.moves, s.probs))
        table.add_row(
            s.role,
            _fmt_private(s.private),
            s.key.replace("\n", " "),
            policy,
            f"{s.invalid_mass:.3f}",
        )
    console.print(table)
    if len(shown) < len(result.states):
        console.print(f"... {len(result.states) - len(shown)} more states (--rows 0, or --json)")
    line = f"exploitability {result.exploitability:.4f}"
    if result.interval:
        low, high = result.interval
        line += f" [{low:.4f}, {high:.4f}] ({result.confidence:.0%} bootstrap)"
    console.print(line, markup=False)
    console.print(f"NashConv {result.nash_conv:.4f}", markup=False)
    samples = f", {result.samples_per_state} samples per state" if result.samples_per_state else ""
    console.print(
        f"invalid mass {result.invalid_mass:.4f} mean, {result.invalid_mass_max:.4f} max "
        f"(method {result.method}{samples}, {len(result.states)} states, "
        f"{result.seconds:.1f} s)",
        markup=False,
    )
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
        console.print(f"wrote {path}", markup=False, soft_wrap=True)
    return 0
