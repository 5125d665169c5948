"""Cost of exact evaluation: seconds per agent and game (docs/exact-evaluation.md).

    python benchmarks/exact_evaluation.py [--sample-states 32] [--json PATH]

Times :func:`palaestra.arena.exact.exploitability_of` end to end for the scripted players
(uniform, Nash, CFR+), the sampled ``random`` agent (64 replies per state, 200 bootstrap
resamples) and ``hf:tiny`` / ``hf:smollm2-135m`` on Kuhn (12 states). For the hf agents on
Leduc (936 states) it times ``score`` on the first ``--sample-states`` states and adds the
OpenSpiel part (measured on the uniform player) for a whole-game estimate; the JSON marks
such figures ``"extrapolated": true``. Model loading is timed apart and excluded. One torch
thread. The machine is shared with other work: treat the figures as rough.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-states", type=int, default=32)
    parser.add_argument("--models", nargs="*", default=["tiny", "smollm2-135m"])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from palaestra.agents import make_agent
    from palaestra.arena.exact import _scored, exploitability_of
    from palaestra.envs.openspiel.policies import information_states

    rows = []

    def record(**row):
        rows.append(row)
        print(json.dumps(row), flush=True)

    for spec, env_id in [
        ("scripted:kuhn-poker/uniform", "kuhn-poker-v0"),
        ("scripted:kuhn-poker/nash", "kuhn-poker-v0"),
        ("random", "kuhn-poker-v0"),
        ("scripted:leduc-poker/uniform", "leduc-poker-v0"),
        ("scripted:leduc-poker/cfr", "leduc-poker-v0"),
    ]:
        result = exploitability_of(spec, env_id)
        record(
            agent=spec,
            game=env_id,
            method=result.method,
            seconds=round(result.seconds, 2),
            exploitability=result.exploitability,
            interval=result.interval,
            extrapolated=False,
        )
    openspiel_leduc = next(r["seconds"] for r in rows if r["agent"].endswith("leduc-poker/uniform"))
    leduc = information_states("leduc-poker-v0")
    for model in args.models:
        started = time.perf_counter()
        agent = make_agent(f"hf:{model}?temperature=1")
        load = time.perf_counter() - started
        result = exploitability_of(agent, "kuhn-poker-v0")
        record(
            agent=f"hf:{model}",
            game="kuhn-poker-v0",
            method=result.method,
            seconds=round(result.seconds, 2),
            load_seconds=round(load, 1),
            exploitability=result.exploitability,
            invalid_mass=result.invalid_mass,
            extrapolated=False,
        )
        sample = leduc[: args.sample_states]
        started = time.perf_counter()
        _scored(agent, sample, 64)  # what exploitability_of runs: every spelling of each move
        per_state = (time.perf_counter() - started) / len(sample)
        record(
            agent=f"hf:{model}",
            game="leduc-poker-v0",
            method="scored",
            seconds=round(per_state * len(leduc) + openspiel_leduc, 1),
            seconds_per_state=round(per_state, 3),
            sample_states=len(sample),
            extrapolated=True,
        )
    machine = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch_threads": 1,
        "load_average": os.getloadavg(),
        "note": "shared machine, other jobs running",
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rows": rows}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
