"""Arena throughput: episodes per minute and generated tokens/s at concurrency 1, 4, 16, 32.

The default model (SmolLM2-135M-Instruct) plays negotiation against itself (one agent object
in both seats, so at every tick every live episode has a turn for it and the batch is the
number of live episodes). Each concurrency level plays its own episodes through
:class:`~palaestra.arena.runner.MatchRunner`, and every ``act`` batch the arena makes is
replayed right away through a bare ``model.generate`` on the same left-padded prompt ids (its
time is taken off the arena's wall time). Decoding is greedy, so both sides generate the same
tokens and ``arena / raw`` is a ratio of wall times: what the arena adds (env steps,
observations, chat templates, tokenization, records) on top of generation.

Targets (issue 6): at concurrency 16 at least 4x the episodes per minute of concurrency 1,
and at least 90% of raw generate throughput.

    python benchmarks/arena_throughput.py [--model smollm2-135m] [--concurrency 1 4 16 32]
        [--episodes N] [--max-turns 4] [--max-new-tokens 24] [--threads N]
        [--reuse-cache on|off] [--raw on|off] [--json PATH]

With ``--reuse-cache on`` (the agent's default) the agent prefills only what is new in a
seat's prompt since its last turn, while the raw ``generate`` replay prefills whole prompts, so
``arena / raw`` above 100% is the cache's gain.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence

import torch

from palaestra.agents.hf import HFAgent
from palaestra.arena.runner import EpisodeJob, MatchRunner
from palaestra.envs.protocol import Action, Observation


class RecordingAgent:
    """Wraps the model's agent; after each ``act`` replays the batch through raw generate.

    Replaying right away (rather than after the run) means load from other processes hits
    both sides alike. The replay's time is kept apart and taken off the arena's wall time.
    """

    def __init__(self, agent: HFAgent, replay: bool = True) -> None:
        self.agent, self.name, self.replay = agent, agent.name, replay
        self.sizes: list[int] = []
        self.act_seconds = 0.0
        self.raw_seconds = 0.0

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        start = time.perf_counter()
        out = self.agent.act(observations)
        self.act_seconds += time.perf_counter() - start
        self.sizes.append(len(observations))
        if self.replay:
            batch, limit = list(observations), self.agent.max_new_tokens
            self.raw_seconds += raw_generate(self.agent, batch, limit)
        return out

    def reset(self) -> None:
        self.agent.reset()


def raw_generate(agent: HFAgent, batch: list[Observation], max_new_tokens: int) -> float:
    """Seconds of one bare greedy ``generate`` on the batch's left-padded prompt ids."""
    tok, model = agent.tokenizer, agent.model
    prompts = [agent.render(obs).ids for obs in batch]
    width = max(len(p) for p in prompts)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt)
        mask[row, width - len(prompt) :] = 1
    start = time.perf_counter()
    with torch.no_grad():
        model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad,
        )
    return time.perf_counter() - start


def measure(
    agent: HFAgent, concurrency: int, episodes: int, max_turns: int, replay: bool = True
) -> dict:
    player = RecordingAgent(agent, replay)
    game_args: dict = {"invalid_move": "penalty"}
    if max_turns:
        game_args["max_turns"] = max_turns
    jobs = [
        EpisodeJob(
            "negotiation-v0",
            seed,
            {"alice": player, "bob": player},
            dict(game_args),
            episode_id=f"bench/{concurrency}/{seed}",
        )
        for seed in range(episodes)
    ]
    start = time.perf_counter()
    records = list(MatchRunner(concurrency=concurrency).run(jobs))
    wall = time.perf_counter() - start - player.raw_seconds
    tokens = sum(t.tokens for r in records for t in r.turns)
    raw = player.raw_seconds
    sizes = player.sizes
    return {
        "concurrency": concurrency,
        "episodes": len(records),
        "turns": sum(len(r.turns) for r in records),
        "mean_batch": sum(sizes) / len(sizes),
        "tokens": tokens,
        "wall_s": wall,
        "act_s": player.act_seconds,
        "raw_s": raw,
        "episodes_per_min": 60 * len(records) / wall,
        "arena_tok_s": tokens / wall,
        "raw_tok_s": tokens / raw if replay else None,
        "arena_vs_raw": raw / wall if replay else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--episodes", type=int, default=None, help="default: max(4, c)")
    parser.add_argument("--max-turns", type=int, default=4, help="0: the game's default (10)")
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--reuse-cache",
        choices=("on", "off"),
        default="on",
        help="the hf agent's per-seat KV cache reuse across turns (default on, as the agent)",
    )
    parser.add_argument(
        "--raw",
        choices=("on", "off"),
        default="on",
        help="replay every batch through bare generate (off: episodes per minute only)",
    )
    parser.add_argument("--cache-mb", type=int, default=4096, help="the hf agent's cache_mb")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    agent = HFAgent(
        args.model,
        temperature=0.0,
        max_new_tokens=args.max_new_tokens,
        device="cpu",
        reuse_cache=args.reuse_cache == "on",
        cache_mb=args.cache_mb,
    )
    print(
        f"{platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), model {args.model}, reuse_cache {args.reuse_cache}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    header = (
        "| concurrency | episodes | mean batch | tokens | episodes/min | arena tok/s "
        "| raw generate tok/s | arena / raw |"
    )
    print(header + "\n|" + "---|" * 8)
    rows = []
    for c in args.concurrency:
        row = measure(agent, c, args.episodes or max(4, c), args.max_turns, args.raw == "on")
        rows.append(row)
        raw = "-" if row["raw_tok_s"] is None else f"{row['raw_tok_s']:.1f}"
        ratio = "-" if row["arena_vs_raw"] is None else f"{100 * row['arena_vs_raw']:.0f}%"
        print(
            f"| {c} | {row['episodes']} | {row['mean_batch']:.1f} | {row['tokens']} "
            f"| {row['episodes_per_min']:.1f} | {row['arena_tok_s']:.1f} | {raw} | {ratio} |",
            flush=True,
        )
    base = rows[0]["episodes_per_min"]
    for row in rows[1:]:
        print(f"concurrency {row['concurrency']}: {row['episodes_per_min'] / base:.1f}x c=1 ep/min")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load": os.getloadavg(), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
