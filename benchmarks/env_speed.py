"""Env speed: steps per second of a game with scripted players through the AEC API.

Target (issue 2): the env's own cost is negligible next to an LLM turn, at least 20,000
steps/s on one core for negotiation. Pinned to one core where the OS allows it.

    python benchmarks/env_speed.py [--env negotiation-v0] [--steps 50000] [--runs 5]
    python benchmarks/env_speed.py --vs-openspiel [--steps 20000] [--runs 5]

Prints the machine, each run and the median; ``--json PATH`` also writes the figures.

``--vs-openspiel`` times ``kuhn-poker-v0`` next to stepping OpenSpiel's own ``kuhn_poker``
state in Python, in one run and in alternation: moves per second, each move a uniformly random
legal action drawn with a numpy generator, chance drawn the same way. palaestra builds the
mover's full Observation (text, facts, OpenSpiel's tensor) and plays the move by name (text
mode) or by id (discrete mode, the observation dict with its action mask); bare OpenSpiel
builds the mover's information-state string, observation string and observation tensor.
Episodes are short (2-3 moves), so the per-episode reset is a large part of palaestra's cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from palaestra.agents import make_agent
from palaestra.envs import find_game, make


def steps_per_second(env_id: str, steps: int, agents: dict[str, object], observe: bool) -> float:
    """Play episodes until ``steps`` AEC steps were taken; return steps per second.

    With ``observe`` every step also builds the seat's full Observation (what an agent reads);
    without it, players answer from a fixed list of moves, timing the rules and adapter alone.
    """
    env = make(env_id)
    raw = env.unwrapped
    done_steps, seed = 0, 0
    fixed = ["hello", "OFFER: book=1 hat=1 ball=1", "ACCEPT"]
    start = time.perf_counter()
    while done_steps < steps:
        env.reset(seed=seed)
        seed += 1
        for n, role in enumerate(env.agent_iter()):
            if env.terminations[role] or env.truncations[role]:
                env.step(None)
            elif observe:
                env.step(agents[role].act([raw.observation_for(role)])[0].text)
            else:
                env.step(fixed[n % len(fixed)])
            done_steps += 1
    return done_steps / (time.perf_counter() - start)


def openspiel_moves_per_second(mode: str, moves: int) -> float:
    """Kuhn poker moves per second: ``mode`` is ``"openspiel"`` (bare pyspiel), ``"text"`` or
    ``"discrete"`` (palaestra's AEC env in that action mode). Chance and moves are drawn from a
    numpy generator in every mode; only decision moves are counted."""
    rng = np.random.default_rng(0)
    done, seed = 0, 0
    if mode == "openspiel":
        import pyspiel

        game = pyspiel.load_game("kuhn_poker")
        start = time.perf_counter()
        while done < moves:
            state = game.new_initial_state()
            while not state.is_terminal():
                if state.is_chance_node():
                    outcomes = state.chance_outcomes()
                    state.apply_action(outcomes[int(rng.integers(len(outcomes)))][0])
                    continue
                player = state.current_player()
                state.information_state_string(player)
                state.observation_string(player)
                state.observation_tensor(player)
                legal = state.legal_actions()
                state.apply_action(legal[int(rng.integers(len(legal)))])
                done += 1
        return done / (time.perf_counter() - start)
    env = make("kuhn-poker-v0", wrappers=False, action_mode=mode)
    start = time.perf_counter()
    while done < moves:
        # Seeded once, then the env's generator runs on, as in an RL loop (a fresh seed per
        # episode would add numpy's SeedSequence set-up, ~0.1 ms, to every 2-3 moves).
        env.reset(seed=0 if seed == 0 else None)
        seed += 1
        for role in env.agent_iter():
            if env.terminations[role] or env.truncations[role]:
                env.step(None)
                continue
            if mode == "text":
                candidates = env.observation_for(role).facts["candidates"]
                env.step(candidates[int(rng.integers(len(candidates)))])
            else:
                legal = np.flatnonzero(env.observe(role)["action_mask"])
                env.step(int(legal[int(rng.integers(len(legal)))]))
            done += 1
    return done / (time.perf_counter() - start)


def vs_openspiel(moves: int, runs: int) -> dict[str, object]:
    """The three modes side by side, alternating run by run (the machine is shared)."""
    modes = ("openspiel", "text", "discrete")
    results: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(runs):
        for mode in modes:
            results[mode].append(openspiel_moves_per_second(mode, moves))
    out: dict[str, object] = {"env": "kuhn-poker-v0", "moves_per_run": moves}
    labels = {
        "openspiel": "bare OpenSpiel (pyspiel state, strings + tensor built)",
        "text": "palaestra kuhn-poker-v0, text moves, Observation built",
        "discrete": "palaestra kuhn-poker-v0, discrete ids, obs dict + action mask",
    }
    base = statistics.median(results["openspiel"])
    for mode in modes:
        median = statistics.median(results[mode])
        out[mode] = {
            "what": labels[mode],
            "runs": [round(r) for r in results[mode]],
            "median": round(median),
            "us_per_move": round(1e6 / median, 1),
            "slowdown_vs_openspiel": round(base / median, 1),
        }
        print(f"{labels[mode]}: median {median:,.0f} moves/s ({1e6 / median:.1f} us/move; "
              f"runs: {', '.join(f'{r:,.0f}' for r in results[mode])})")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="negotiation-v0")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    parser.add_argument(
        "--vs-openspiel",
        action="store_true",
        help="kuhn-poker-v0 next to bare OpenSpiel stepping (ignores --env)",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.vs_openspiel:
        result = vs_openspiel(args.steps, args.runs)
        result["machine"] = (
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, one core pinned; shared and noisy "
            f"(load average {os.getloadavg()[0]:.1f} at the end)"
        )
        print(result["machine"])
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        return
    game = find_game(args.env)
    roles = game.make_game().info.roles
    defaults = dict(game.default_opponents)
    name = args.env.rsplit("-v", 1)[0]
    agents = {r: make_agent(f"scripted:{name}/{defaults.get(r, next(iter(game.scripted)))}")
              for r in roles}  # fmt: skip
    result = {"env": args.env, "machine": f"{platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}"}  # fmt: skip
    for mode, observe in (("rules+adapter", False), ("with observations + scripted", True)):
        runs = [steps_per_second(args.env, args.steps, agents, observe) for _ in range(args.runs)]
        result[mode] = {"runs": [round(r) for r in runs], "median": round(statistics.median(runs))}
        print(f"{args.env} {mode}: median {statistics.median(runs):,.0f} steps/s "
              f"(runs: {', '.join(f'{r:,.0f}' for r in runs)})")  # fmt: skip
    print(result["machine"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
