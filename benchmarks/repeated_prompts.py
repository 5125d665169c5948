"""Batches with repeated prompts: the ``hf:`` agent with rows shared (``fastgen.SHARE_ROWS``)
and without, side by side.

    python benchmarks/repeated_prompts.py                  # SmolLM2-135M, ~3 min on 2 cores
    python benchmarks/repeated_prompts.py --model tiny --repeats 2 --json /tmp/x.json

A self-play step of Kuhn poker asks the policy for replies at a handful of information
states: ``--seats`` seats (default 64, the config's ``concurrency``), their deals drawn at
random from the six, so most rows repeat another row's prompt. Each batch is one
``act`` call at the config's sampling settings (temperature 1, 6 new tokens, LoRA-free base
model): the first moves (player_0 with no bet), then the second moves (player_1 after a
check or a bet). A negotiation batch of ``--seats`` different deals (no prompt repeats) checks
that the bookkeeping costs nothing when nothing is shared. Each case alternates shared and
unshared calls (A B B A ...) on a fresh agent each time (no cache carried between calls), after
an untimed warm-up of both; the best of ``--repeats`` counts. Reported per case: seconds,
prefill and decode seconds, prefill tokens and decode rows (``GenerationStats``), and the ratio
unshared / shared of the seconds of each pair.

``--rollouts`` adds what a training step sees: the trainer of
``benchmarks/learning/kuhn-selfplay.yaml`` warm-starts its policy (behaviour cloning of uniform
play, ~5-8 minutes on 2 cores), then plays one step's rollout jobs (64 self-play episodes,
temperature 1) shared and unshared in turn, the same jobs each time, the seat caches emptied
before each.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from palaestra.agents import fastgen
from palaestra.agents.hf import HFAgent
from palaestra.envs import make
from palaestra.envs.openspiel.policies import information_states
from palaestra.envs.protocol import Observation

KUHN = "kuhn-poker-v0"


def kuhn_batches(seats: int, seed: int) -> dict[str, list[Observation]]:
    """The seats of one self-play step at its first and second moves (random deals)."""
    states = information_states(KUHN, name_card=True)
    by_history: dict[tuple[int, ...], list[Any]] = {}
    for s in states:
        by_history.setdefault(s.history[2:], []).append(s)  # the history after the deal
    rng = random.Random(seed)

    def seat(state: Any, k: int) -> Observation:
        return dataclasses.replace(state.observation, episode=f"bench/{k}")

    first = [seat(rng.choice(by_history[()]), k) for k in range(seats)]
    second = [seat(rng.choice(by_history[(0,)] + by_history[(1,)]), k) for k in range(seats)]
    return {"kuhn first moves": first, "kuhn second moves": second}


def negotiation_batch(seats: int) -> list[Observation]:
    """First moves of ``seats`` negotiation episodes, every prompt different (seeds that deal
    an earlier seed's pool and values again are skipped)."""
    out: dict[str, Observation] = {}
    seed = 0
    while len(out) < seats:
        env = make("negotiation-v0", wrappers=False)
        env.reset(seed=seed, options={"episode": f"bench/{seed}"})
        obs = env.observation_for(env.agent_selection)
        out.setdefault(obs.text, obs)
        seed += 1
    return list(out.values())


def run(model: str, batch: list[Observation], shared: bool, max_new_tokens: int) -> dict:
    fastgen.SHARE_ROWS = shared
    agent = HFAgent(model, temperature=1.0, max_new_tokens=max_new_tokens, seed=0)
    started = time.perf_counter()
    agent.act(batch)
    seconds = time.perf_counter() - started
    stats = agent._fast.stats
    fastgen.SHARE_ROWS = True
    return {
        "seconds": seconds,
        "prefill_seconds": stats.prefill_seconds,
        "decode_seconds": stats.decode_seconds,
        "prefill_tokens": stats.prefill_tokens,
        "decode_rows": stats.decode_rows,
        "distinct_prompts": len({obs.text for obs in batch}),
    }


def _order(repeat: int) -> tuple[str, str]:
    """A B, then B A, ...: neither mode always runs first."""
    return ("shared", "unshared") if repeat % 2 == 0 else ("unshared", "shared")


def kuhn_rollouts(repeats: int) -> dict[str, Any]:
    """One self-play step's rollouts of the warm-started Kuhn policy, shared and unshared."""
    from palaestra.arena.train.config import load_config, parse_config
    from palaestra.arena.train.trainer import Trainer

    data = load_config("benchmarks/learning/kuhn-selfplay.yaml").model_dump()
    data["run_dir"] = "runs/bench-repeated-prompts"
    trainer = Trainer(parse_config(data))
    started = time.perf_counter()
    trainer.warm_start()
    warm = time.perf_counter() - started
    jobs = trainer.rollout_jobs()
    agent = trainer.policy.hf_agent
    runs: dict[str, list[dict]] = {"shared": [], "unshared": []}
    for repeat in range(repeats + 1):  # the first round warms up, untimed
        for mode in _order(repeat):
            fastgen.SHARE_ROWS = mode == "shared"
            agent.kv_store.clear()
            if agent._fast is not None:  # count this run only (a new generator starts at 0)
                agent._fast.stats = fastgen.GenerationStats()
            started = time.perf_counter()
            records = list(trainer.runner.run(jobs))
            seconds = time.perf_counter() - started
            stats = agent._fast.stats
            if repeat:
                runs[mode].append(
                    {
                        "seconds": seconds,
                        "prefill_seconds": stats.prefill_seconds,
                        "decode_seconds": stats.decode_seconds,
                        "prefill_tokens": stats.prefill_tokens,
                        "decode_rows": stats.decode_rows,
                        "moves": sum(len(r.turns) for r in records),
                    }
                )
    fastgen.SHARE_ROWS = True
    ratios = [u["seconds"] / s["seconds"] for s, u in zip(runs["shared"], runs["unshared"])]
    return {
        "warm_start_seconds": round(warm, 1),
        "episodes": len(jobs),
        "runs": runs,
        "ratio_unshared_over_shared": {
            "median": round(statistics.median(ratios), 2),
            "pairs": [round(x, 2) for x in ratios],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--seats", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", default="benchmarks/results/repeated_prompts.json")
    parser.add_argument(
        "--rollouts",
        action="store_true",
        help="also time one Kuhn self-play step's rollouts of the warm-started policy "
        "(adds the warm start, ~5-8 minutes)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = kuhn_batches(args.seats, seed=0) | {"negotiation": negotiation_batch(args.seats)}
    results: dict[str, Any] = {}
    for name, batch in cases.items():
        for shared in (True, False):  # warm-up, untimed
            run(args.model, batch[:4], shared, args.max_new_tokens)
        runs: dict[str, list[dict]] = {"shared": [], "unshared": []}
        for repeat in range(args.repeats):
            for mode in _order(repeat):
                runs[mode].append(run(args.model, batch, mode == "shared", args.max_new_tokens))
        best = {mode: min(r, key=lambda x: x["seconds"]) for mode, r in runs.items()}
        ratios = [u["seconds"] / s["seconds"] for s, u in zip(runs["shared"], runs["unshared"])]
        results[name] = {
            "best": best,
            "seconds": {m: [round(x["seconds"], 3) for x in r] for m, r in runs.items()},
            "ratio_unshared_over_shared": {
                "median": round(statistics.median(ratios), 2),
                "pairs": [round(x, 2) for x in ratios],
            },
        }
        print(
            f"{name:>18}: {best['shared']['distinct_prompts']:>3} distinct prompts of "
            f"{len(batch)}; shared {best['shared']['seconds']:.2f} s "
            f"(decode rows {best['shared']['decode_rows']}), unshared "
            f"{best['unshared']['seconds']:.2f} s (decode rows "
            f"{best['unshared']['decode_rows']}); ratio "
            f"{results[name]['ratio_unshared_over_shared']['median']:.2f}x"
        )
    if args.rollouts:
        got = kuhn_rollouts(args.repeats)
        results["kuhn self-play rollouts"] = got
        print(
            "kuhn self-play rollouts: "
            + ", ".join(
                f"{m} {min(x['seconds'] for x in r):.1f} s "
                f"(decode rows {min(x['decode_rows'] for x in r)})"
                for m, r in got["runs"].items()
            )
            + f"; ratio {got['ratio_unshared_over_shared']['median']:.2f}x"
        )
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "model": args.model,
        "seats": args.seats,
        "max_new_tokens": args.max_new_tokens,
        "repeats": args.repeats,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch_threads": args.threads,
            "load_average": list(os.getloadavg()),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "cases": results,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
