"""negotiation-v0 next to TextArena's SimpleNegotiation-v0: steps per second, side by side.

    pip install -e ".[bench]"                     # textarena==0.7.4, benchmark only
    python benchmarks/env_vs_textarena.py         # 400 episodes x 7 rounds x 3 modes, ~2 min
    python benchmarks/env_vs_textarena.py --episodes 100 --rounds 3 --json /tmp/x.json

Both envs get the same deterministic stream of moves: in every episode the first player
chats on even moves, the second player makes an offer on odd moves (each env's own offer
syntax, the chat text around it the same), and the first player accepts the last offer on the
final move. TextArena's SimpleNegotiation-v0 plays 11 moves per episode at its default
``max_turns=10`` (its turn limit is checked before the turn counter moves) and does not end on
a trade, so negotiation-v0 runs with ``max_turns=11`` and its final ACCEPT lands on move 11:
both play exactly 11 moves per episode. Steps/s counts those moves only; time spent in
palaestra's two dead-agent steps at episode end and in both envs' construction and reset is
timed but not counted.

Every episode builds a fresh env on both sides: TextArena's observation wrapper keeps each
player's history across resets, and the arena makes one palaestra env per episode too. Every
move builds the mover's observation first:

* ``palaestra-arena`` — what the arena does: ``make(id, wrappers=False)``,
  ``reset(seed, options={"episode": ...})``, ``observation_for(role)`` (the
  :class:`~palaestra.envs.protocol.Observation` an agent reads) before each move, and each
  seat's final ``infos`` (a copy) as the episode ends;
* ``palaestra-pettingzoo`` — what a PettingZoo user does: ``make(id)`` (with PettingZoo's
  default wrapper), ``agent_iter()`` and ``last()`` (the observation dict: prompt text and
  numeric vector) before each move;
* ``textarena`` — ``textarena.make("SimpleNegotiation-v0")`` (its default wrappers),
  ``reset(num_players=2, seed)``, ``get_observation()`` before each move, ``close()`` at the end.

The three run in turn in one process, ``--slice`` episodes at a time (A B C, B C A, C A B,
...), so machine drift hits all alike; each round (``--episodes`` per mode, new seeds each
round, the same for every mode) gives one figure per mode, and the ratios are taken round by
round. Both wall-clock and CPU time (``time.process_time``) are reported: on a shared machine
the CPU figures leave out the time other processes took. Before timing, one pass checks that
every move was played as meant (no invalid move, the deal or trade made). Pinned to one core
where the OS allows it. Results go to ``--json`` (default
``benchmarks/results/env_vs_textarena.json``) with the machine and versions.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from palaestra.envs import make

ENV_ID = "negotiation-v0"
TEXTARENA_ID = "SimpleNegotiation-v0"
MOVES = 11  # per episode, on both sides (see the module docstring)
CHATS = (
    "Hello! Let us find a split that works for both of us.",
    "What matters most to you here? I care a lot about some of these.",
    "That seems a little one-sided to me, but I am listening.",
    "Let me think about it for a moment.\nMaybe we can meet halfway.",
    "I would rather make a deal than walk away with nothing.",
    "Fine, one more round of talking and then let us settle.",
)
OFFER_TALK = ("How about this?", "Here is my proposal.", "Consider this one.")


def move_stream(episode: int) -> list[tuple[str, object]]:
    """The moves of one episode as ``(kind, payload)``: chat, offer or accept.

    Deterministic in ``episode``; offers take 0 or 1 of each item (always within the pool in
    negotiation-v0, always affordable in SimpleNegotiation-v0, whose players hold 5 to 25 of
    every resource).
    """
    moves: list[tuple[str, object]] = []
    for i in range(MOVES):
        if i == MOVES - 1:
            moves.append(("accept", "Fine by me."))
        elif i % 2:
            k = episode + i // 2
            take = (k % 2, (k // 2) % 2, 1)
            moves.append(("offer", (OFFER_TALK[k % len(OFFER_TALK)], take)))
        else:
            moves.append(("chat", CHATS[(episode + i) % len(CHATS)]))
    return moves


def palaestra_text(kind: str, payload: object) -> str:
    if kind == "chat":
        return str(payload)
    if kind == "accept":
        return f"{payload} ACCEPT"
    talk, (book, hat, ball) = payload  # type: ignore[misc]
    return f"{talk}\nOFFER: book={book} hat={hat} ball={ball}"


def textarena_text(kind: str, payload: object) -> str:
    if kind == "chat":
        return str(payload)
    if kind == "accept":
        return f"{payload} [Accept]"
    talk, (book, hat, ball) = payload  # type: ignore[misc]
    return f"{talk} [Offer: {book + 1} Wheat, {ball} Ore -> {hat + 1} Brick]"


def texts(episodes: int, render: Callable[[str, object], str]) -> list[list[str]]:
    """Every episode's moves as text, built before timing so neither side pays for it."""
    return [[render(k, p) for k, p in move_stream(e)] for e in range(episodes)]


def run_palaestra_arena(moves: list[list[str]], first_seed: int, check: bool = False) -> int:
    played = 0
    for episode, stream in enumerate(moves, first_seed):
        env = make(ENV_ID, wrappers=False, max_turns=MOVES)
        env.reset(seed=episode, options={"episode": f"bench/{episode}"})
        i = 0
        while env.agents:
            role = env.agent_selection
            if env.terminations[role] or env.truncations[role]:
                info = dict(env.infos[role])  # the arena keeps each seat's final infos
                if check:
                    assert i == MOVES and info["outcome"] == "agreement", (i, info)
                    assert info["invalid_moves"] == 0, info
                env.step(None)
                continue
            env.observation_for(role)
            env.step(stream[i])
            i += 1
        played += i
    return played


def run_palaestra_pettingzoo(moves: list[list[str]], first_seed: int, check: bool = False) -> int:
    played = 0
    for episode, stream in enumerate(moves, first_seed):
        env = make(ENV_ID, max_turns=MOVES)
        env.reset(seed=episode)
        i = 0
        for _role in env.agent_iter():
            _obs, _reward, termination, truncation, info = env.last()
            if termination or truncation:
                if check:
                    assert i == MOVES and info["outcome"] == "agreement", (i, info)
                    assert info["invalid_moves"] == 0, info
                env.step(None)
                continue
            env.step(stream[i])
            i += 1
        played += i
    return played


def run_textarena(moves: list[list[str]], first_seed: int, check: bool = False) -> int:
    import textarena

    played = 0
    for episode, stream in enumerate(moves, first_seed):
        env = textarena.make(TEXTARENA_ID)
        env.reset(num_players=2, seed=episode)
        done, i = False, 0
        while not done:
            env.get_observation()
            done, _ = env.step(stream[i])
            i += 1
        _rewards, game_info = env.close()
        played += i
        if check:
            trades = env.state.game_state["trade_history"]  # forwarded to the inner env
            assert i == MOVES, i
            assert trades and trades[-1]["outcome"] == "Accepted", trades
            assert not any(g.get("invalid_move") for g in game_info.values()), game_info
    return played


MODES: dict[str, tuple[Callable[..., int], Callable[[str, object], str]]] = {
    "palaestra-arena": (run_palaestra_arena, palaestra_text),
    "palaestra-pettingzoo": (run_palaestra_pettingzoo, palaestra_text),
    "textarena": (run_textarena, textarena_text),
}


def timed(
    run: Callable[..., int], moves: list[list[str]], first_seed: int
) -> tuple[int, float, float]:
    """Moves played, wall seconds and CPU seconds of this process, for one slice of episodes.

    CPU time leaves out the time other processes on a shared core took; both are reported.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    played = run(moves, first_seed)
    return played, time.perf_counter() - wall, time.process_time() - cpu


def figures(runs: dict[str, list[float]]) -> dict[str, object]:
    """Medians and runs per mode, and each palaestra mode's ratio to TextArena round by round."""
    base = runs["textarena"]
    return {
        "steps_per_second": {
            m: {"median": round(statistics.median(v)), "runs": [round(x) for x in v]}
            for m, v in runs.items()
        },
        "ratio_to_textarena": {
            m: {
                "median": round(statistics.median(a / b for a, b in zip(v, base)), 3),
                "runs": [round(a / b, 3) for a, b in zip(v, base)],
            }
            for m, v in runs.items()
            if m != "textarena"
        },
    }


PHASES = ("construction", "reset", "moves", "observations")


def _palaestra_upto(moves: list[list[str]], first_seed: int, upto: str) -> None:
    """The arena mode, stopped after ``upto`` (construction, reset, or moves without
    observations); ``"observations"`` is the whole mode."""
    for episode, stream in enumerate(moves, first_seed):
        env = make(ENV_ID, wrappers=False, max_turns=MOVES)
        if upto == "construction":
            continue
        env.reset(seed=episode, options={"episode": f"bench/{episode}"})
        if upto == "reset":
            continue
        i = 0
        while env.agents:
            role = env.agent_selection
            if env.terminations[role] or env.truncations[role]:
                dict(env.infos[role])
                env.step(None)
                continue
            if upto == "observations":
                env.observation_for(role)
            env.step(stream[i])
            i += 1


def _textarena_upto(moves: list[list[str]], first_seed: int, upto: str) -> None:
    import textarena

    for episode, stream in enumerate(moves, first_seed):
        env = textarena.make(TEXTARENA_ID)
        if upto == "construction":
            continue
        env.reset(num_players=2, seed=episode)
        if upto == "reset":
            continue
        done, i = False, 0
        while not done:
            if upto == "observations":
                env.get_observation()
            done, _ = env.step(stream[i])
            i += 1
        env.close()


def phase_costs(episodes: int, rounds: int) -> dict[str, dict[str, float]]:
    """CPU microseconds per move spent in each phase, by subtraction: each run stops one phase
    later than the one before, and a phase costs the difference of their best times (best of
    ``rounds``: the least disturbed by other processes)."""
    runners = {"palaestra-arena": _palaestra_upto, "textarena": _textarena_upto}
    renders = {"palaestra-arena": palaestra_text, "textarena": textarena_text}
    best = {(side, phase): float("inf") for side in runners for phase in PHASES}
    for r in range(rounds):
        for side, run in runners.items():
            moves = texts(episodes, renders[side])
            for phase in PHASES:
                cpu = time.process_time()
                run(moves, (r + 1) * 1_000_000, phase)
                per_move = (time.process_time() - cpu) / (episodes * MOVES) * 1e6
                best[side, phase] = min(best[side, phase], per_move)
    out: dict[str, dict[str, float]] = {}
    for side in runners:
        totals = [best[side, phase] for phase in PHASES]
        costs = [totals[0]] + [b - a for a, b in itertools.pairwise(totals)]
        out[side] = {p: round(c, 1) for p, c in zip(PHASES, costs)} | {
            "total": round(totals[-1], 1)
        }
    return out


def machine() -> dict[str, object]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "pinned_to": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "textarena": metadata.version("textarena"),
        "pettingzoo": metadata.version("pettingzoo"),
        "numpy": metadata.version("numpy"),
        "palaestra_commit": commit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=400, help="episodes per pass and mode")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (one figure each)")
    parser.add_argument("--slice", type=int, default=20, help="episodes per A B C turn")
    parser.add_argument("--json", default="benchmarks/results/env_vs_textarena.json")
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="also split each side's CPU time per move into construction, reset, moves and "
        "observations (adds about a minute)",
    )
    parser.add_argument(
        "--profile",
        choices=list(MODES),
        help="instead of timing, profile one pass of this mode (cProfile, by cumulative time)",
    )
    args = parser.parse_args()
    try:
        import textarena  # noqa: F401
    except ImportError:
        sys.exit('textarena is not installed: pip install -e ".[bench]"')
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    streams = {mode: texts(args.episodes, render) for mode, (_, render) in MODES.items()}
    if args.profile:
        import cProfile
        import pstats

        run = MODES[args.profile][0]
        run(streams[args.profile][:50], 0)  # warm the caches, as the timed passes are
        profiler = cProfile.Profile()
        profiler.runcall(run, streams[args.profile], 100_000)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        return
    for mode, (run, _) in MODES.items():  # the check pass doubles as a warm-up
        run(streams[mode][: min(50, args.episodes)], 0, check=True)
    wall: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    order = list(MODES)
    for r in range(args.rounds):
        played = dict.fromkeys(MODES, 0)
        seconds = {mode: [0.0, 0.0] for mode in MODES}
        gc.collect()
        # Slices of episodes, the modes in turn within each (the order rotating), so that the
        # machine's drift hits every mode alike; new seeds each round, the same for every mode,
        # so that no cache sees an episode twice.
        for k, start in enumerate(range(0, args.episodes, args.slice)):
            for mode in order[k % 3 :] + order[: k % 3]:
                run = MODES[mode][0]
                chunk = streams[mode][start : start + args.slice]
                n, w, c = timed(run, chunk, first_seed=(r + 1) * 100_000 + start)
                played[mode] += n
                seconds[mode][0] += w
                seconds[mode][1] += c
        for mode in MODES:
            wall[mode].append(played[mode] / seconds[mode][0])
            cpu[mode].append(played[mode] / seconds[mode][1])
        print(f"round {r + 1}: " + ", ".join(f"{m} {v[-1]:,.0f}" for m, v in wall.items()))
    result: dict[str, object] = {
        "label": args.label,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "episodes_per_pass": args.episodes,
        "moves_per_episode": MOVES,
        "rounds": args.rounds,
        "episodes_per_slice": args.slice,
        "wall": figures(wall),
        "cpu": figures(cpu),
        "cpu_us_per_move_by_phase": phase_costs(150, 7) if args.phases else None,
    }
    for clock in ("wall", "cpu"):
        got = result[clock]
        for m, v in got["steps_per_second"].items():  # type: ignore[index]
            ratio = got["ratio_to_textarena"].get(m)  # type: ignore[index]
            note = f"  ({ratio['median']:.2f}x textarena)" if ratio else ""
            print(f"{clock:>4} {m:>22}: median {v['median']:>7,} steps/s{note}")
    if args.phases:
        print("CPU us per move by phase:", json.dumps(result["cpu_us_per_move_by_phase"]))
    print(json.dumps(result["machine"]))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
