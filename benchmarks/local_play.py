"""Fast local play: whole episodes with a local model, three ways, side by side.

    python benchmarks/local_play.py                      # defaults below, ~15 min on 2 cores
    python benchmarks/local_play.py --episodes 8 --max-new-tokens 16   # shorter

Modes (same games, seeds, model and greedy decoding):

* ``naive``   — one episode at a time, batch 1, the whole prompt prefilled every turn
  (``MatchRunner(concurrency=1)``, ``hf:<model>``);
* ``batched`` — the arena as it stands: ``concurrency`` episodes in lockstep, one batched
  ``generate`` per tick;
* ``fast``    — the same arena with ``reuse_cache=true`` (per-seat KV reuse, grouped prefill,
  lean decode loop).
* ``vllm``    — the same arena with ``vllm:<model>`` (vLLM's engine, automatic prefix caching;
  docs/agents.md). It runs under ``--vllm-python`` (default ``$PALAESTRA_VLLM_PYTHON``, else this
  interpreter): vLLM usually lives in a venv of its own (``make install-vllm``).

``--dtypes float32 bfloat16`` runs every mode but ``naive`` in each dtype (the result rows carry
``dtype``; ``naive`` stays the fp32 baseline). vLLM's prefill and decode times are its model
runner's forward steps: a step that schedules any prompt tokens counts as prefill (continuous
batching mixes prompt tokens and decode tokens in one step), the others as decode; its
"reused" tokens are the prompt tokens served from its prefix cache. Its peak RSS includes the
KV cache it preallocates (``--vllm-kv-cache-mb``).

Each (mode, game) runs in its own process, so its peak memory (max RSS) is its own. Prefill and
decode time are the model's forward calls in every mode (more than one query token: prefill),
so the loops' own bookkeeping counts in neither.
The decode micro-benchmark runs batch 32 for ``--decode-steps`` steps with no early stop and
compares its rate with a bound from a 2048x2048 fp32 matmul measured in the same process:
``bound tokens/s = matmul FLOP/s / (2 x parameters)``, with the better of the matmul rates
measured before and after the decode runs.

Results are printed as a Markdown table and written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

MODES = ("naive", "batched", "fast", "vllm")


@dataclass
class ModeResult:
    mode: str
    game: str
    episodes: int
    turns: int
    seconds: float
    episodes_per_min: float
    cpu_seconds: float
    episodes_per_cpu_min: float
    prefill_tokens: int
    prefill_seconds: float
    decode_tokens: int
    decode_seconds: float
    reused_tokens: int
    peak_rss_mb: float
    shared_prefix_tokens: int = 0
    shared_hits: int = 0
    dtype: str = "float32"
    engine_start_seconds: float = 0.0
    texts: list[list[str]] = field(default_factory=list)

    @property
    def prefill_tps(self) -> float:
        return self.prefill_tokens / self.prefill_seconds if self.prefill_seconds else 0.0

    @property
    def decode_tps(self) -> float:
        return self.decode_tokens / self.decode_seconds if self.decode_seconds else 0.0


class ForwardTimer:
    """Wraps ``model.forward``: time and real tokens of prefill vs decode calls."""

    def __init__(self, model: Any) -> None:
        self.prefill_seconds = self.decode_seconds = 0.0
        self.prefill_tokens = 0
        self._inner = model.forward
        model.forward = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        ids = kwargs.get("input_ids", args[0] if args else None)
        start = time.perf_counter()
        out = self._inner(*args, **kwargs)
        seconds = time.perf_counter() - start
        if ids is not None and ids.shape[1] > 1:
            self.prefill_seconds += seconds
            mask = kwargs.get("attention_mask")
            if mask is not None and mask.dim() == 2:  # generate(): padding is zero in the mask
                self.prefill_tokens += int(mask[:, -ids.shape[1] :].sum())
        else:
            self.decode_seconds += seconds
        return out


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """Median FLOP rate of an fp32 ``size x size`` matmul, in GFLOP/s."""
    import torch

    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    times.sort()
    return 2 * size**3 / times[len(times) // 2] / 1e9


class StepTimer:
    """Wraps a vLLM model runner: wall time of forward (and sampling) steps, prefill vs decode.

    A step that schedules more tokens than requests holds prompt tokens (prefill, possibly
    mixed with decode rows); one token per request is a decode step.
    """

    def __init__(self, runner: Any) -> None:
        self.prefill_seconds = self.decode_seconds = 0.0
        self._prefill = False
        self._execute, self._sample = runner.execute_model, getattr(runner, "sample_tokens", None)
        runner.execute_model = self.execute
        if self._sample is not None:
            runner.sample_tokens = self.sample

    def _add(self, seconds: float) -> None:
        if self._prefill:
            self.prefill_seconds += seconds
        else:
            self.decode_seconds += seconds

    def execute(self, scheduler_output: Any, *args: Any, **kwargs: Any) -> Any:
        total = scheduler_output.total_num_scheduled_tokens
        self._prefill = total > len(scheduler_output.num_scheduled_tokens)
        start = time.perf_counter()
        out = self._execute(scheduler_output, *args, **kwargs)
        self._add(time.perf_counter() - start)
        return out

    def sample(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = self._sample(*args, **kwargs)
        self._add(time.perf_counter() - start)
        return out


def run_mode(args: argparse.Namespace, mode: str, game: str, dtype: str) -> ModeResult:
    from palaestra.agents import make_agent
    from palaestra.arena.runner import EpisodeJob, MatchRunner
    from palaestra.envs import make

    common = f"{args.model}?temperature=0&max_new_tokens={args.max_new_tokens}&dtype={dtype}"
    if mode == "vllm":
        agent = make_agent(f"vllm:{common}&kv_cache_mb={args.vllm_kv_cache_mb}")
        runner_obj = agent.engine.llm.llm_engine.model_executor.driver_worker.worker.model_runner
        timer: Any = StepTimer(runner_obj)
    else:
        reuse = "true" if mode == "fast" else "false"
        agent = make_agent(f"hf:{common}&reuse_cache={reuse}&cache_mb={args.cache_mb}")
        timer = ForwardTimer(agent.model)
    roles = list(make(game).possible_agents)
    episodes = {"naive": args.naive_episodes, "batched": args.batched_episodes or args.episodes}
    episodes = episodes.get(mode, args.episodes)
    env_kwargs = {"max_turns": args.max_turns} if args.max_turns else {}
    jobs = [
        EpisodeJob(game, seed, dict.fromkeys(roles, agent), env_kwargs=dict(env_kwargs))
        for seed in range(episodes)
    ]
    runner = MatchRunner(concurrency=1 if mode == "naive" else min(args.concurrency, episodes))
    start, cpu_start = time.perf_counter(), time.process_time()
    records = sorted(runner.run(jobs), key=lambda r: r.seed)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    turns = sum(len(r.turns) for r in records)
    # Times from the forward calls in every mode (so both count the same work); token counts
    # of the fast mode from its generator (its 4-D masks do not show the padding).
    prefill_seconds, decode_seconds = timer.prefill_seconds, timer.decode_seconds
    fast = getattr(agent, "_fast", None)
    shared_prefix_tokens = shared_hits = 0
    if mode == "vllm":
        stats = agent.engine.stats
        prefill_tokens = stats.prompt_tokens - stats.cached_tokens
        reused = stats.cached_tokens
    elif fast is not None:
        prefill_tokens, reused = fast.stats.prefill_tokens, fast.stats.reused_tokens
        shared_prefix_tokens, shared_hits = fast.stats.prefix_tokens, agent.kv_store.shared_hits
    else:
        prefill_tokens, reused = timer.prefill_tokens, 0
    return ModeResult(
        mode=mode,
        game=game,
        episodes=episodes,
        turns=turns,
        seconds=seconds,
        episodes_per_min=60 * episodes / seconds,
        cpu_seconds=cpu_seconds,
        episodes_per_cpu_min=60 * episodes / cpu_seconds,
        prefill_tokens=prefill_tokens,
        prefill_seconds=prefill_seconds,
        decode_tokens=sum(t.tokens for r in records for t in r.turns),
        decode_seconds=decode_seconds,
        reused_tokens=reused,
        shared_prefix_tokens=shared_prefix_tokens,
        shared_hits=shared_hits,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        dtype=dtype,
        engine_start_seconds=agent.engine.start_seconds if mode == "vllm" else 0.0,
        texts=[[t.text for t in r.turns] for r in records],
    )


def run_decode(args: argparse.Namespace) -> dict[str, Any]:
    """Batch-32 decode rate of the fast loop and of ``generate``, and the matmul bound."""
    import torch
    from transformers import LogitsProcessorList

    from palaestra.agents.fastgen import FastGenerator
    from palaestra.agents.hf import load_model
    from palaestra.agents.kvcache import SeatCacheStore

    model, tok = load_model(args.model)
    batch, steps = 32, args.decode_steps
    gen = torch.Generator().manual_seed(0)
    # Prompts of 96..160 tokens (arena prompts differ in length too).
    lengths = torch.randint(96, 161, (batch,), generator=gen).tolist()
    vocab = model.get_input_embeddings().weight.shape[0]
    prompts = [torch.randint(3, vocab, (n,), generator=gen).tolist() for n in lengths]
    params = sum(p.numel() for p in model.parameters())
    gflops = matmul_gflops()

    def fast_rate() -> float:
        fast = FastGenerator(model, SeatCacheStore(0), tok.pad_token_id or 0)
        with torch.no_grad():
            fast.generate(
                [f"s/{i}" for i in range(batch)],
                prompts,
                max_new_tokens=steps,
                sample=False,
                eos_ids=[],
                processors=LogitsProcessorList([]),
                keep=False,
            )
        return fast.stats.decode_tokens / fast.stats.decode_seconds

    width = max(lengths)
    ids = torch.full((batch, width), tok.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros((batch, width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p) :] = torch.tensor(p)
        mask[i, width - len(p) :] = 1

    def generate_rate() -> float:
        timer = ForwardTimer(model)
        try:
            with torch.no_grad():
                model.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    max_new_tokens=steps,
                    min_new_tokens=steps,
                    do_sample=False,
                    pad_token_id=tok.pad_token_id,
                )
        finally:
            model.forward = timer._inner
        return batch * (steps - 1) / timer.decode_seconds

    # Alternated, so that a change in the machine's load hits both alike; best of each.
    fast_rates, generate_rates = [], []
    for _ in range(args.decode_repeats):
        fast_rates.append(fast_rate())
        generate_rates.append(generate_rate())
    fast_tps, generate_tps = max(fast_rates), max(generate_rates)
    gflops_after = matmul_gflops()
    # The machine's load changes during the run: the best matmul rate seen is the bound.
    bound = max(gflops, gflops_after) * 1e9 / (2 * params)
    return {
        "batch": batch,
        "steps": steps,
        "params": params,
        "matmul_gflops": gflops,
        "matmul_gflops_after": gflops_after,
        "bound_tps": bound,
        "fast_tps": fast_tps,
        "fast_rates": fast_rates,
        "generate_rates": generate_rates,
        "generate_tps": generate_tps,
        "fast_fraction": fast_tps / bound,
        "generate_fraction": generate_tps / bound,
        "threads": torch.get_num_threads(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _worker(args: argparse.Namespace) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.worker == "decode":
        print(json.dumps(run_decode(args)))
        return
    mode, game, dtype = args.worker.split(":")
    result = run_mode(args, mode, game, dtype)
    print(json.dumps(asdict(result)))


def _spawn(argv: list[str], worker: str, python: str = sys.executable) -> dict[str, Any]:
    out = subprocess.run(
        [python, __file__, *argv, "--worker", worker],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _agreement(a: list[list[str]], b: list[list[str]]) -> str:
    shared = [(x, y) for x, y in zip(a, b)]
    same = sum(x == y for x, y in shared)
    return f"{same}/{len(shared)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--games", nargs="+", default=["negotiation-v0", "taboo-v0"])
    parser.add_argument("--episodes", type=int, default=32, help="episodes of batched/fast")
    parser.add_argument("--naive-episodes", type=int, default=2, help="episodes of naive")
    parser.add_argument(
        "--batched-episodes", type=int, default=0, help="episodes of batched (0: --episodes)"
    )
    parser.add_argument("--cache-mb", type=int, default=4096, help="the hf agent's cache_mb")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--max-turns", type=int, default=0, help="game max_turns (0: default)")
    parser.add_argument("--decode-steps", type=int, default=24)
    parser.add_argument("--decode-repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--dtypes", nargs="+", default=["float32"], help="model dtypes")
    parser.add_argument(
        "--vllm-python",
        default=os.environ.get("PALAESTRA_VLLM_PYTHON", sys.executable),
        help="interpreter with vLLM installed (for the vllm mode)",
    )
    parser.add_argument("--vllm-kv-cache-mb", type=int, default=1024)
    parser.add_argument("--no-decode", action="store_true", help="skip the batch-32 decode run")
    parser.add_argument("--out", default="", help="write the results here as JSON")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    results: dict[str, Any] = {"args": vars(args), "modes": [], "cpus": os.cpu_count()}
    print(
        "| game | mode | dtype | episodes | turns | episodes/min | turns/min | episodes/CPU-min "
        "| prefill tok/s | decode tok/s | reused prompt tokens | peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for game in args.games:
        by_mode: dict[str, dict[str, Any]] = {}
        runs = [
            (mode, dtype)
            for mode in args.modes
            for dtype in (args.dtypes[:1] if mode == "naive" else args.dtypes)
        ]
        for mode, dtype in runs:
            python = args.vllm_python if mode == "vllm" else sys.executable
            r = _spawn(passthrough, f"{mode}:{game}:{dtype}", python)
            # The first dtype keeps the plain mode name (the layout of earlier result files).
            by_mode[mode if dtype == args.dtypes[0] else f"{mode}/{dtype}"] = r
            result = ModeResult(**r)
            reused = r["reused_tokens"] / max(1, r["reused_tokens"] + r["prefill_tokens"])
            print(
                f"| {game} | {mode} | {dtype} | {r['episodes']} | {r['turns']} | "
                f"{r['episodes_per_min']:.2f} | {60 * r['turns'] / r['seconds']:.1f} | "
                f"{r['episodes_per_cpu_min']:.2f} | "
                f"{result.prefill_tps:.0f} | "
                f"{result.decode_tps:.1f} | {reused:.0%} | {r['peak_rss_mb']:.0f} |",
                flush=True,
            )
            results["modes"].append({k: v for k, v in r.items() if k != "texts"})
        if "naive" in by_mode and "fast" in by_mode:
            fast, naive = by_mode["fast"], by_mode["naive"]
            speedup = fast["episodes_per_min"] / naive["episodes_per_min"]
            cpu_speedup = fast["episodes_per_cpu_min"] / naive["episodes_per_cpu_min"]
            # Episodes of a game can differ in length (a word guessed early): with few naive
            # episodes, episodes/min then compares unlike work, so turns/min is given too.
            per_turn = (fast["turns"] / fast["seconds"]) / (naive["turns"] / naive["seconds"])
            results.setdefault("speedup", {})[game] = {
                "wall": speedup,
                "cpu": cpu_speedup,
                "turns": per_turn,
                "mean_turns": {m: r["turns"] / r["episodes"] for m, r in by_mode.items()},
            }
            print(
                f"\n{game}: fast / naive episodes per minute = {speedup:.1f}x "
                f"(per CPU-minute {cpu_speedup:.1f}x; turns per minute {per_turn:.1f}x; "
                f"turns per episode: naive {naive['turns'] / naive['episodes']:.1f}, "
                f"fast {fast['turns'] / fast['episodes']:.1f})"
            )
        if "naive" in by_mode:
            naive = by_mode["naive"]
            naive_tpm = naive["turns"] / naive["seconds"]
            for key, r in by_mode.items():
                if key == "naive":
                    continue
                ratio = r["episodes_per_min"] / naive["episodes_per_min"]
                per_turn = (r["turns"] / r["seconds"]) / naive_tpm
                results.setdefault("speedup_vs_naive", {}).setdefault(game, {})[key] = {
                    "wall": ratio,
                    "turns": per_turn,
                }
                print(
                    f"{game}: {key} / naive: {ratio:.1f}x episodes/min, {per_turn:.1f}x turns/min"
                )
        if "batched" in by_mode and "fast" in by_mode:
            same = _agreement(by_mode["batched"]["texts"], by_mode["fast"]["texts"])
            results.setdefault("same_episodes", {})[game] = same
            print(f"{game}: episodes with identical text, batched vs fast: {same}\n")
        for key in [k for k in by_mode if k.startswith("vllm")]:
            fast_key = key.replace("vllm", "fast")
            if fast_key in by_mode:
                same = _agreement(by_mode[fast_key]["texts"], by_mode[key]["texts"])
                results.setdefault("same_episodes_vllm", {}).setdefault(game, {})[key] = same
                print(f"{game}: episodes with identical text, {fast_key} vs {key}: {same}")
    if not args.no_decode:
        d = _spawn(passthrough, "decode")
        results["decode"] = d
        print(
            f"batch-32 decode: fast {d['fast_tps']:.1f} tok/s, generate {d['generate_tps']:.1f} "
            f"tok/s; matmul {d['matmul_gflops']:.1f} GFLOP/s (after: "
            f"{d['matmul_gflops_after']:.1f}) -> bound {d['bound_tps']:.0f} tok/s; "
            f"fast = {d['fast_fraction']:.0%} of bound, generate = {d['generate_fraction']:.0%}"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
