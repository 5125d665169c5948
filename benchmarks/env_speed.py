"""Env speed: steps per second of a game with scripted players through the AEC API.

Target (issue 2): the env's own cost is negligible next to an LLM turn, at least 20,000
steps/s on one core for negotiation. Pinned to one core where the OS allows it.

    python benchmarks/env_speed.py [--env negotiation-v0] [--steps 50000] [--runs 5]

Prints the machine, each run and the median; ``--json PATH`` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="negotiation-v0")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
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
