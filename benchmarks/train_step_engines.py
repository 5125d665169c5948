"""One training step (rollout, update, weight sync) with each rollout engine, side by side.

    python benchmarks/train_step_engines.py                  # hf: and vllm:, negotiation-short
    python benchmarks/train_step_engines.py --engines hf --episodes 4 --steps 1
    python benchmarks/train_step_engines.py --engines hf --dtypes float32 bfloat16
    python benchmarks/train_step_engines.py --engines hf --dtypes bfloat16 --shared-prefix config on

Runs in a venv that has vLLM (``make install-vllm VENV=...``; the ``hf:`` run uses the same
venv, so both read the same transformers). Each engine runs in a child process of its own, one
after the other (one engine in memory at a time; nothing cached between them): the child
builds the trainer from ``benchmarks/learning/negotiation-short.yaml`` (or ``--config``) with
the policy spec's engine replaced, ``--episodes`` episodes a step (groups of
``--group-size``), zero-advantage samples kept (so that both engines update on the same number
of samples), no evaluation and no checkpoint, each ``--dtypes`` dtype in turn (the policy's
weights, its updates and the engine's sampling) and each ``--shared-prefix`` setting (``on``:
the update computes the samples' common prompt prefix once per minibatch). It times
``--steps`` training steps and, on ``vllm:``, ``--syncs`` more weight syncs on their own. Per
step it records wall and CPU seconds (the process's, every thread) of the whole step and the
trainer's own split (``time/rollout_s``, ``time/update_s``, ``time/weight_sync_s``), the
policy's tokens, the engine log-prob gap; per run the start-up (model load, engine start), the
peak memory and the load average. The machine is shared: read the figures with the load
beside them. Writes
``benchmarks/results/train_step_engines.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
CONFIG = ROOT / "learning" / "negotiation-short.yaml"
OUT = ROOT / "results" / "train_step_engines.json"


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Build the trainer with ``args.engine`` rollouts and time its steps."""
    import torch

    torch.set_num_threads(args.threads)
    from palaestra.agents.specs import split_spec
    from palaestra.arena.train.config import load_config, parse_config
    from palaestra.arena.train.trainer import Trainer

    base = load_config(args.config).model_dump()
    body, options = split_spec(base["policy"]["spec"])
    _, _, model = body.partition(":")
    options["max_new_tokens"] = args.max_new_tokens
    options["dtype"] = args.dtype
    shared_prefix = args.shared_prefix == ["on"]  # child mode: one value
    query = "&".join(f"{k}={v}" for k, v in options.items())
    data = {
        **base,
        "run_dir": tempfile.mkdtemp(prefix=f"train-step-{args.engine}-"),
        "steps": args.steps,
        "episodes_per_step": args.episodes,
        "group_size": args.group_size,
        "policy": {**base["policy"], "spec": f"{args.engine}:{args.model or model}?{query}"},
        "replay": {**base["replay"], "drop_zero_advantage": False},
        "eval": {**base["eval"], "every": 0},
        "checkpoint": {**base["checkpoint"], "every": 10_000},
        "warm_start": None,
        "optim": {**base["optim"], **({"shared_prefix": True} if shared_prefix else {})},
        "log_episodes": False,
    }
    config = parse_config(data)
    load_before = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    trainer = Trainer(config)
    startup = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    engine = trainer.policy.engine
    if engine is not None:
        startup["engine_start_s"] = engine.start_seconds
    steps = []
    for _ in range(args.steps):
        wall, cpu, load = time.perf_counter(), time.process_time(), os.getloadavg()
        m = trainer.train_step()
        steps.append(
            {
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
                "load_before": load,
                "samples": m["train/samples"],
                "policy_tokens_mean": m["train/length"],
                **{k: m[k] for k in m if k.startswith("time/")},
                **{k: m[k] for k in ("train/engine_logp_gap", "train/tis_weight") if k in m},
            }
        )
        print(json.dumps(steps[-1]), file=sys.stderr, flush=True)
    syncs = []
    for _ in range(args.syncs if engine is not None else 0):
        wall, cpu = time.perf_counter(), time.process_time()
        trainer.policy.sync_engine()
        syncs.append({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu})
    params = sum(t.numel() for _, t in trainer.policy.engine_weights())
    return {
        "engine": args.engine,
        "spec": config.policy.spec,
        "dtype": str(trainer.policy.dtype),
        "shared_prefix": config.optim.shared_prefix,
        "synced_parameters": params,
        "startup": startup,
        "steps": steps,
        "weight_syncs": syncs,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def config_name(path: str) -> str:
    """The config's path relative to the repository when it is inside it (as given or not)."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(ROOT.parent)) if resolved.is_relative_to(ROOT.parent) else path


def cpu_flags() -> list[str]:
    """The CPU's vector flags that decide fp32/bf16 speed (``avx512_bf16``, ``amx_bf16``)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    present = set(line.partition(":")[2].split())  # whole words: avx512f is not avx512fp16
    return [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in present]


def write_result(args: argparse.Namespace, runs: list[dict[str, Any]]) -> None:
    """Write the runs so far, with the machine and the versions, to ``args.out``."""
    result = {
        "what": "one training step (rollout, update, weight sync) per rollout engine",
        "config": config_name(args.config),
        "episodes_per_step": args.episodes,
        "group_size": args.group_size,
        "max_new_tokens": args.max_new_tokens,
        "threads": args.threads,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_flags": cpu_flags(),
        },
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "runs": runs,
    }
    try:
        import vllm

        result["vllm"] = vllm.__version__
    except ImportError:
        pass
    import torch
    import transformers

    result["torch"], result["transformers"] = torch.__version__, transformers.__version__
    result["git"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--engines", nargs="+", default=["hf", "vllm"])
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--dtypes", nargs="+", default=["float32"], help="e.g. float32 bfloat16")
    parser.add_argument(
        "--shared-prefix",
        nargs="+",
        default=["config"],
        choices=["config", "on"],
        help="optim.shared_prefix per run: as the config has it, or on (each in turn)",
    )
    parser.add_argument("--model", default=None, help="override the config's model")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--syncs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(child(args)))
        return
    runs = []
    combos = [(e, d, p) for e in args.engines for d in args.dtypes for p in args.shared_prefix]
    for engine, dtype, prefix in combos:
        cmd = [sys.executable, __file__, "--engine", engine, "--dtype", dtype]
        cmd += ["--shared-prefix", prefix]
        cmd += ["--config", args.config]
        for flag in ("episodes", "group_size", "max_new_tokens", "steps", "syncs", "threads"):
            cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        if args.model:
            cmd += ["--model", args.model]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        started = time.perf_counter()
        out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
        run = json.loads(out.stdout.strip().splitlines()[-1])
        run["process_wall_s"] = time.perf_counter() - started
        runs.append(run)
        write_result(args, runs)  # after every engine: a crash later loses nothing measured
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
