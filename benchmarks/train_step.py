"""The trainer's log-prob pass (forward + backward), plain vs ``optim.shared_prefix``, side by side.

    python benchmarks/train_step.py                       # SmolLM2-135M, Kuhn prompts
    python benchmarks/train_step.py --model tiny --batch 8 --repeats 3

A minibatch of Kuhn poker replies is built from the observations the seats get at the
game's 12 information states (each prompt is the rules, ~250 tokens, then the seat's card and
the history), with one-word replies (``pass``/``bet`` and the end token), as in
``benchmarks/learning/kuhn-selfplay.yaml``. Each mode runs
:meth:`~palaestra.arena.train.policy.Policy.logprobs` with entropy and a backward pass of a
policy-gradient-like loss through the LoRA adapters, alternating modes on each repeat so load
changes hit both, after an untimed warm-up of each mode on a 2-sample batch. Also timed:
the no-gradient reference pass. Writes ``benchmarks/results/train_step.json`` with seconds
per pass, tokens run through the model per mode, the process's peak memory (shared runs
first) and the machine's load (the development machine is shared; say how loaded it was).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent
ENV_ID = "kuhn-poker-v0"


def kuhn_batch(policy: Any, size: int) -> list[Any]:
    """``size`` samples cycling over the 12 information states and both moves."""
    from palaestra.arena.train.samples import Sample
    from palaestra.envs.openspiel.policies import information_states

    agent = policy.agent
    eos = agent.eos_ids()[:1]
    tok = policy.tokenizer
    prompts = [list(agent.render(s.observation).ids) for s in information_states(ENV_ID)]
    replies = [list(tok(m, add_special_tokens=False)["input_ids"]) + eos for m in ("pass", "bet")]
    out = []
    for i in range(size):
        prompt, reply = prompts[i % len(prompts)], replies[(i // len(prompts)) % 2]
        out.append(Sample(prompt, reply, [0.0] * len(reply), ENV_ID, "", str(i), "", 0, 0, 0,
                          advantage=1.0 if i % 2 else -1.0))  # fmt: skip
    return out


def tokens_run(samples: list[Any], shared: bool) -> int:
    """Tokens the model runs in each mode (the work, up to the attention's share)."""
    from palaestra.arena.train.prefix import shared_prefix_length

    if not shared:
        return sum(len(s.prompt_ids) + len(s.completion_ids) for s in samples)
    n = shared_prefix_length(samples)
    distinct = {tuple(s.prompt_ids) for s in samples}
    return n + sum(len(p) - n for p in distinct) + sum(len(s.completion_ids) for s in samples)


def time_pass(policy: Any, samples: list[Any], shared: bool, grad: bool) -> tuple[float, Any]:
    policy.model.zero_grad(set_to_none=True)
    started = time.perf_counter()
    if grad:
        policy.model.train()
        logp, ent, mask = policy.logprobs(samples, entropy=True, shared_prefix=shared)
        adv = torch.tensor([s.advantage for s in samples]).unsqueeze(-1)
        loss = -((logp * adv + 0.01 * ent) * mask).sum() / mask.sum()
        loss.backward()
    else:
        policy.clear_reference_cache()  # time the pass, not the cache of the last repeat
        with torch.no_grad():
            logp, _, _ = policy.logprobs(samples, reference=True, shared_prefix=shared)
    return time.perf_counter() - started, logp.detach()


def machine() -> dict[str, Any]:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                      if ln.startswith("Model name")), "")  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": list(os.getloadavg()),
        "platform": platform.platform(),
        "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m", help="model name or path (hf:)")
    parser.add_argument("--batch", type=int, nargs="+", default=[16], help="minibatch sizes")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "results" / "train_step.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from palaestra.arena.train.config import PolicyConfig
    from palaestra.arena.train.policy import Policy

    if args.model == "tiny":
        from palaestra.agents.tiny import build_tiny_model

        args.model = str(build_tiny_model(Path("/tmp") / "palaestra-tiny-bench"))
    policy = Policy(PolicyConfig(spec=f"hf:{args.model}?temperature=1.0"))
    load_start = list(os.getloadavg())
    results = []
    warm = kuhn_batch(policy, 2)
    for shared in (True, False):  # first calls pay one-off costs (allocation, kernels)
        for grad in (True, False):
            time_pass(policy, warm, shared, grad)
    for size in args.batch:
        samples = kuhn_batch(policy, size)
        times: dict[str, list[float]] = {}
        peak: dict[str, float] = {}
        outputs = {}
        for _ in range(args.repeats):
            # shared first: the process's peak RSS after it is the shared pass's peak
            for shared in (True, False):
                for grad in (True, False):
                    key = ("shared" if shared else "plain") + ("/train" if grad else "/reference")
                    seconds, logp = time_pass(policy, samples, shared, grad)
                    times.setdefault(key, []).append(seconds)
                    outputs[key] = logp
                    peak[key] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                    print(f"batch {size} {key}: {seconds:.2f}s", flush=True)
        diff = float((outputs["shared/train"] - outputs["plain/train"]).abs().max())
        row = {
            "batch": size,
            "distinct_prompts": len({tuple(s.prompt_ids) for s in samples}),
            "prompt_tokens_mean": sum(len(s.prompt_ids) for s in samples) / size,
            "tokens_run": {
                "plain": tokens_run(samples, False),
                "shared": tokens_run(samples, True),
            },
            "seconds": times,
            "median_seconds": {k: sorted(v)[len(v) // 2] for k, v in times.items()},
            "max_abs_logp_difference": diff,
            "peak_rss_mb_after": peak,
        }
        med = row["median_seconds"]
        row["speedup"] = {
            "train": med["plain/train"] / med["shared/train"],
            "reference": med["plain/reference"] / med["shared/reference"],
        }
        results.append(row)
        print(json.dumps({k: row[k] for k in ("batch", "tokens_run", "speedup")}), flush=True)
    out = {
        "what": "Policy.logprobs forward+backward (train) and no-grad (reference), Kuhn prompts",
        "model": args.model,
        "repeats": args.repeats,
        "results": results,
        "machine": {**machine(), "load_average_at_start": load_start},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
