"""Agent throughput: generated tokens/s of the ``hf:`` agent next to a raw ``model.generate``.

Target (issue 5): on the default model (SmolLM2-135M-Instruct) the agent keeps at least 90% of
the raw throughput at batch 1, 4, 16 and 32. Both sides decode greedily from the same
left-padded prompts (negotiation observations, one seed per row), so they produce the same
tokens and the ratio is a ratio of wall times. The agent's time includes everything ``act``
does: chat template, tokenization, padding, decoding the replies; the raw call gets tensors
ready-made. ``agent+train`` also records the per-token log-probs.

    python benchmarks/agent_throughput.py [--model smollm2-135m] [--batches 1 4 16 32]
        [--max-new-tokens 32] [--repeats 1] [--device cpu] [--threads N] [--json PATH]

Prints the machine and a table; runs alternate raw and agent per batch size so that load from
other processes hits both alike. With ``--repeats`` above 1 the best run of each counts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from palaestra.agents.hf import HFAgent
from palaestra.envs import make
from palaestra.envs.protocol import Observation


def observations(n: int) -> list[Observation]:
    """First-turn negotiation observations, one per seed (different pools, so lengths vary)."""
    out = []
    for seed in range(n):
        env = make("negotiation-v0", wrappers=False)
        env.reset(seed=seed)
        out.append(env.observation_for(env.agent_selection))
    return out


def raw_generate(
    agent: HFAgent, batch: list[Observation], max_new_tokens: int
) -> tuple[int, float]:
    """Generated tokens (up to each row's end of sequence) and seconds of a bare generate()."""
    tok, model = agent.tokenizer, agent.model
    prompts = [agent.render(obs).ids for obs in batch]
    width = max(len(p) for p in prompts)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, p in enumerate(prompts):
        ids[row, width - len(p) :] = torch.tensor(p)
        mask[row, width - len(p) :] = 1
    device = next(model.parameters()).device
    ids, mask = ids.to(device), mask.to(device)
    started = time.perf_counter()
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad,
        )
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    eos = tok.eos_token_id
    tokens = 0
    for row in out[:, width:].tolist():
        tokens += row.index(eos) + 1 if eos in row else len(row)
    return tokens, seconds


def agent_generate(agent: HFAgent, batch: list[Observation]) -> tuple[int, float]:
    started = time.perf_counter()
    actions = agent.act(batch)
    if agent.model.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return sum(a.meta["tokens"] for a in actions), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    agent = HFAgent(args.model, temperature=0, max_new_tokens=args.max_new_tokens)
    trainer = HFAgent(
        agent.model, agent.tokenizer, temperature=0, max_new_tokens=args.max_new_tokens, train=True
    )
    if args.device:
        agent.model.to(args.device)
    device = next(agent.model.parameters()).device
    print(
        f"{platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"torch threads={torch.get_num_threads()} device={device} dtype={agent.model.dtype} "
        f"loadavg={os.getloadavg()[0]:.2f}"
    )
    pool = observations(max(args.batches))
    agent_generate(agent, pool[:1])  # warm-up
    rows = []
    for size in args.batches:
        batch = pool[:size]
        best: dict[str, tuple[int, float]] = {}
        for _ in range(args.repeats):
            runs = {
                "raw": raw_generate(agent, batch, args.max_new_tokens),
                "agent": agent_generate(agent, batch),
                "agent+train": agent_generate(trainer, batch),
            }
            for name, (tokens, seconds) in runs.items():
                if name not in best or tokens / seconds > best[name][0] / best[name][1]:
                    best[name] = (tokens, seconds)
        rate = {name: tokens / seconds for name, (tokens, seconds) in best.items()}
        row = {
            "batch": size,
            "tokens": best["raw"][0],
            **{f"{name} tok/s": round(value, 1) for name, value in rate.items()},
            "agent/raw": round(rate["agent"] / rate["raw"], 3),
            "agent+train/raw": round(rate["agent+train"] / rate["raw"], 3),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"loadavg at end={os.getloadavg()[0]:.2f}")
    header = "| batch | tokens | raw tok/s | agent tok/s | agent+train tok/s | agent/raw |"
    print("\n" + header + "\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['batch']} | {r['tokens']} | {r['raw tok/s']} | {r['agent tok/s']} | "
            f"{r['agent+train tok/s']} | {r['agent/raw']:.0%} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": str(device), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
