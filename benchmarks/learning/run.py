"""Learning benchmark: train from a config, then report held-out figures before and after.

    python benchmarks/learning/run.py negotiation          # the full run (~45 min, 2 cores)
    python benchmarks/learning/run.py quiz --smoke         # 2 steps, tiny eval: a plumbing check
    python benchmarks/learning/run.py negotiation --resume # continue a killed run
    python benchmarks/learning/run.py negotiation --summarise  # rewrite results from metrics
    python benchmarks/learning/run.py quiz-warm --tag rerun    # a rerun beside the last one
    python benchmarks/learning/run.py negotiation-selfplay \
        --warm-start benchmarks/learning/runs/negotiation-selfplay-plain/warm_start.pt
                                                           # reuse another run's warm start

Writes ``benchmarks/learning/results/<name>[-smoke][-<tag>].json`` (the figures: held-out
metrics with 95% confidence intervals at the first and last evaluation, whether the intervals
overlap, step time, tokens per second, the machine) and the ``.png`` of the same name
(learning curves).
The evaluation is the trainer's own (held-out seeds >= 1,000,000, fixed opponents); nothing
here re-scores or filters it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import torch

from palaestra.arena.train.config import load_config, parse_config
from palaestra.arena.train.plots import read_metrics
from palaestra.arena.train.trainer import Trainer

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: Metrics compared before/after: (suffix, higher is better).
WATCHED = (
    ("reward", True),
    ("win_rate", True),
    ("invalid_rate", False),
    ("unanswerable_wrong", False),  # hallucination rate
    ("answerable_correct", True),  # accuracy on answerable questions
    ("unanswerable_abstain", True),
)


def smoke(config_data: dict) -> dict:
    """The smallest run that exercises every part: 2 steps of one group, 4 eval seeds."""
    data = dict(config_data)
    data["steps"] = 2
    data["episodes_per_step"] = data.get("group_size", 4)
    data["eval"] = {**data.get("eval", {}), "every": 2, "episodes": 4}
    data["checkpoint"] = {"every": 1, "keep": 1}
    data["run_dir"] = str(data["run_dir"]) + "-smoke"
    if data.get("warm_start"):
        data["warm_start"] = {**data["warm_start"], "episodes": 2, "epochs": 1}
    return data


def compare(rows: list[dict]) -> dict:
    """First vs last evaluation of every watched metric, with CIs and an overlap flag."""
    evals = [r for r in rows if "eval/reward" in r]
    if len(evals) < 2:
        return {}
    first, last = evals[0], evals[-1]
    out = {}
    for key in sorted(first):
        for suffix, higher in WATCHED:
            if not key.startswith("eval/") or key.count("/") < 2:
                continue
            if not key.endswith(f"/{suffix}"):
                continue
            if key not in last:
                continue
            b = (first[key], first.get(f"{key}_low"), first.get(f"{key}_high"))
            a = (last[key], last.get(f"{key}_low"), last.get(f"{key}_high"))
            overlap = None
            if None not in (b[1], b[2], a[1], a[2]):
                overlap = not (a[1] > b[2] or b[1] > a[2])
            improved = a[0] > b[0] if higher else a[0] < b[0]
            items_b, items_a = first.get(f"{key}_items"), last.get(f"{key}_items")
            out[key] = {
                "before": {
                    "step": first["step"],
                    "mean": b[0],
                    "ci95": [b[1], b[2]],
                    "items": items_b,
                },
                "after": {
                    "step": last["step"],
                    "mean": a[0],
                    "ci95": [a[1], a[2]],
                    "items": items_a,
                },
                "higher_is_better": higher,
                "improved": improved,
                "cis_overlap": overlap,
                "significant_improvement": bool(improved and overlap is False),
            }
    return out


def warm_start_figures(rows: list[dict]) -> dict | None:
    """The warm start's own figures and the held-out metrics of the policy before it."""
    row = next((r for r in rows if "warm_start/demos" in r), None)
    if row is None:
        return None
    out = {k.split("/", 1)[1]: v for k, v in row.items() if k.startswith("warm_start/")}
    out["seconds"] = row.get("time/warm_start_s")
    out["held_out_before_warm_start"] = {
        k[len("base/") :]: v for k, v in row.items() if k.startswith("base/eval/")
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="config name in benchmarks/learning (e.g. negotiation)")
    parser.add_argument("--smoke", action="store_true", help="2 steps and a tiny evaluation")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    parser.add_argument("--steps", type=int, default=None, help="override the config's steps")
    parser.add_argument(
        "--summarise", action="store_true", help="only rewrite the results from the run's metrics"
    )
    parser.add_argument(
        "--tag",
        default="",
        help="suffix of the run folder and the result files (a rerun that keeps the last one)",
    )
    parser.add_argument(
        "--warm-start",
        metavar="FILE",
        default=None,
        help="load this warm_start.pt (an earlier run's) instead of cloning the teacher anew",
    )
    args = parser.parse_args(argv)

    path = HERE / f"{args.name}.yaml"
    data = load_config(path).model_dump()
    if args.warm_start is not None:
        if data.get("warm_start") is None:
            parser.error(f"--warm-start {args.warm_start!r}: {path.name} has no warm_start")
        data["warm_start"]["load"] = args.warm_start
    if args.smoke:
        data = smoke(data)
    if args.steps is not None:
        data["steps"] = args.steps
    if args.tag:
        data["run_dir"] = f"{data['run_dir']}-{args.tag}"
    config = parse_config(data)
    started = time.perf_counter()
    if not args.summarise:
        Trainer(config, resume=args.resume).run()
    wall = time.perf_counter() - started

    rows = read_metrics(Path(config.run_dir) / "metrics.jsonl")
    steps = [r for r in rows if "train/reward" in r]
    tag = f"{args.name}-smoke" if args.smoke else args.name
    tag = f"{tag}-{args.tag}" if args.tag else tag
    result = {
        "config": str(path.relative_to(HERE.parent.parent)),
        "smoke": args.smoke,
        "steps": steps[-1]["step"] if steps else 0,
        "wall_seconds_this_invocation": None if args.summarise else wall,
        "mean_step_seconds": sum(r["time/step_s"] for r in steps) / max(1, len(steps)),
        "mean_rollout_tokens_per_second": sum(r["time/tokens_per_s"] for r in steps)
        / max(1, len(steps)),
        "train_reward_first_last": [steps[0]["train/reward"], steps[-1]["train/reward"]]
        if steps
        else None,
        "held_out": compare(rows),
        "warm_start": warm_start_figures(rows),
        "warnings": [w for r in rows for w in r.get("warnings", [])],
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": "cuda" if torch.cuda.is_available() else "cpu",
        },
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{tag}.json"
    if out.exists():  # keep what other scripts added (selfplay_eval.py's "selfplay_eval")
        previous = json.loads(out.read_text())
        result.update({k: v for k, v in previous.items() if k not in result})
    out.write_text(json.dumps(result, indent=2) + "\n")
    png = Path(config.run_dir) / "learning_curves.png"
    if png.exists():
        shutil.copy(png, RESULTS / f"{tag}.png")
    print(json.dumps(result["held_out"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
