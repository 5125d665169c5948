"""A self-play step's rollouts with a full league: what the snapshots cost, side by side.

    python benchmarks/league_rollouts.py runs/kuhn-selfplay-s1-league1     # ~6 min on 2 cores
    python benchmarks/league_rollouts.py RUN_DIR --repeats 2 --json /tmp/x.json

Loads the latest checkpoint of a training run whose league holds snapshots (a Kuhn self-play
run of ``benchmarks/learning/kuhn_selfplay.py``: four snapshots after step 20) and times one
step's rollouts (``Trainer.rollout_jobs`` played by the trainer's runner, as ``train_step``
does) in three modes:

* ``all, prefixes dropped`` -- every snapshot may be drawn, and every member prefills the
  game's rules again at each step (what the trainer did before frozen members kept them);
* ``all, prefixes kept`` -- every snapshot may be drawn; frozen members keep their shared
  prefixes from step to step (their caches are keyed by the weights they read);
* ``one per step`` -- ``league.snapshots_per_step: 1``, prefixes kept.

The policy does not train here, so its own prefixes would survive too: every mode drops the
policy's caches before each rollout, as a training step's update would. The modes run in
turn, the order rotating (A B C, B C A, ...), each repeat drawing new jobs from the trainer's
generator (the same draws for every mode: the generator is reset to one state per repeat).
Reported: seconds per rollout, the replies played, the ``act`` calls and the agents seated.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from palaestra.arena.train.config import parse_config
from palaestra.arena.train.policy import ContextAgent
from palaestra.arena.train.trainer import Trainer

MODES = {
    "all, prefixes dropped": (0, False),
    "all, prefixes kept": (0, True),
    "one per step": (1, True),
}


def _members(trainer: Trainer) -> list[ContextAgent]:
    return [a for a in trainer._agents.values() if isinstance(a, ContextAgent)]


def _set_mode(trainer: Trainer, limit: int, keep: bool) -> None:
    league = trainer.config.league.model_copy(update={"snapshots_per_step": limit})
    trainer.config = trainer.config.model_copy(update={"league": league})
    for agent in _members(trainer):
        agent.keep_prefixes = keep


def rollout(trainer: Trainer, rng_state: dict[str, Any]) -> dict[str, Any]:
    """One step's rollouts from the generator state ``rng_state``.

    A mode that drops the prefixes puts the members' kept ones back afterwards, so that the
    mode after it finds them as a training step would (kept from the step before)."""
    kept = {
        id(a): (copy.copy(a.inner.kv_store._entries), a.inner.kv_store._bytes)
        for a in _members(trainer)
    }
    try:
        return _rollout(trainer, rng_state)
    finally:
        for a in _members(trainer):
            if id(a) in kept and not a.keep_prefixes:
                a.inner.kv_store._entries, a.inner.kv_store._bytes = kept[id(a)]


def _rollout(trainer: Trainer, rng_state: dict[str, Any]) -> dict[str, Any]:
    trainer.rng.bit_generator.state = rng_state
    jobs = trainer.rollout_jobs()
    trainer.policy.agent.reset()  # as after an update: the policy's caches are stale
    trainer.runner.batch_sizes.clear()
    started = time.perf_counter()
    records = list(trainer.runner.run(jobs))
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "replies": sum(len(r.turns) for r in records),
        "act_calls": sum(len(v) for v in trainer.runner.batch_sizes.values()),
        "agents": sorted(trainer.runner.batch_sizes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a training run with snapshots in its league")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="benchmarks/results/league_rollouts.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = Path(args.run_dir)
    trainer = Trainer(parse_config(json.loads((run / "config.json").read_text())))
    checkpoint = trainer.latest_checkpoint()
    trainer.load_checkpoint(checkpoint)
    if len(trainer.league.snapshots) < 2:
        raise SystemExit(f"{run}: the league holds {trainer.league.snapshots}; need 2 or more")
    seeds = np.random.default_rng(0)
    states = [np.random.Generator(np.random.PCG64(seeds.integers(2**32))) for _ in range(99)]
    order = list(MODES)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    # Untimed warm-up: every snapshot's adapter loaded, the members' prefixes filled.
    _set_mode(trainer, 0, True)
    for name in trainer.league.snapshots:
        trainer.agent(name)
    for state in states[-2:]:
        rollout(trainer, state.bit_generator.state)
    for r in range(args.repeats):
        state = states[r].bit_generator.state
        for mode in order[r % 3 :] + order[: r % 3]:
            _set_mode(trainer, *MODES[mode])
            runs[mode].append(rollout(trainer, state))
            print(mode, runs[mode][-1], flush=True)
    base = runs["all, prefixes dropped"]
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "run": str(run),
        "checkpoint": checkpoint.name,
        "snapshots": list(trainer.league.snapshots),
        "episodes_per_step": trainer.config.episodes_per_step,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "threads": args.threads,
            "load_average": list(os.getloadavg()),
            "torch": torch.__version__,
            "dtype": str(trainer.policy.dtype),
        },
        "runs": runs,
        "median_seconds": {m: statistics.median(x["seconds"] for x in v) for m, v in runs.items()},
        "speedup_over_dropped": {
            m: {
                "median": round(
                    statistics.median(b["seconds"] / x["seconds"] for b, x in zip(base, v)), 2
                ),
                "pairs": [round(b["seconds"] / x["seconds"], 2) for b, x in zip(base, v)],
            }
            for m, v in runs.items()
            if m != "all, prefixes dropped"
        },
    }
    print(json.dumps({k: result[k] for k in ("median_seconds", "speedup_over_dropped")}))
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
