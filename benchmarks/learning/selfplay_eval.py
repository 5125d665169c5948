"""Held-out evaluation of a negotiation self-play run: the panel, head to head, the baselines.

    python benchmarks/learning/selfplay_eval.py negotiation-selfplay            # base, warm, final
    python benchmarks/learning/selfplay_eval.py negotiation-selfplay --players base warm
    python benchmarks/learning/selfplay_eval.py negotiation-selfplay --step 20  # another checkpoint
    python benchmarks/learning/selfplay_eval.py negotiation-selfplay --smoke    # the --smoke run

``--pairs final-warm final-base`` picks head-to-head pairs (default: every pair of
``--players``; ``--pairs`` alone: none), so the panel of early players can be measured while
training still runs and the final one later.

Three players, built from the run directory the way the trainer builds them:

* ``base``: the config's model before anything was trained (a separate copy of it, with the
  policy's sampling options);
* ``warm``: the warm-started policy (the run's ``warm_start.pt``; the trainer's ``initial``,
  where the policy-gradient steps started);
* ``final``: the checkpoint of ``--step`` (default: the newest) on top of the warm start.

Each plays the held-out panel (:data:`baselines.NEGOTIATION_PANEL`, the scripted negotiators
the run never trained against) in both seats on the config's ``eval`` seeds (32 from
1,000,000: never training seeds, which are drawn below ``eval.seed_start``), through the
trainer's own job builder and :func:`~palaestra.arena.train.evaluation.seat_metrics`. The
pooled reward's interval is a bootstrap over deals (each deal's six episodes, three opponents
times two seats, resampled together). Head to head, each pair of players meets on the same
seeds with seats swapped; reported are each side's mean reward with its interval, the paired
difference (per episode, bootstrapped over deals) and the first player's win rate. Players
whose panels one invocation plays are also compared on the panel itself, paired (``panel_paired``:
the same deal, opponent and seat on both sides, bootstrapped over deals).

The comparison with the simple baselines reads ``results/baselines.json`` (written by
``baselines.py negotiation-selfplay``: the teachers and the best constant reply, searched on
the same seeds and panel). The figures are merged into ``results/<name>.json`` under
``selfplay_eval`` (per player, so players can be evaluated in separate invocations), with the
two targets of issue 14 checked: the final policy beats the warm-started one head to head with
intervals apart, and its pooled panel reward lies above the best constant reply's, intervals
apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from baselines import (
    NEGOTIATION_PANEL,
    RESULTS,
    SeatedAs,
    panel_figures,
    panel_records,
    trainer_shell,
)
from run import smoke

from palaestra.agents import make_agent
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import cluster_bootstrap_ci
from palaestra.arena.train.config import TrainConfig, load_config, parse_config
from palaestra.arena.train.evaluation import episode_item, seat_metrics
from palaestra.arena.train.policy import POLICY_NAME, Policy
from palaestra.arena.train.trainer import WARM_START_FILE
from palaestra.envs.protocol import Agent

HERE = Path(__file__).resolve().parent
PLAYERS = ("base", "warm", "final")
#: Head-to-head pairs (first player, second player).
PAIRS = (("final", "warm"), ("final", "base"), ("warm", "base"))


def checkpoint_path(run_dir: Path, step: int | None) -> Path:
    """The weights of checkpoint ``step`` (``None``: the newest)."""
    found = sorted((run_dir / "checkpoints").glob("step-*/weights.pt"))
    if step is not None:
        found = [p for p in found if p.parent.name == f"step-{step:06d}"]
    if not found:
        raise FileNotFoundError(
            f"no checkpoint {'step ' + str(step) if step is not None else ''} in "
            f"{str(run_dir / 'checkpoints')!r}"
        )
    return found[-1]


def build_players(config: TrainConfig, names: Sequence[str], step: int | None) -> dict[str, Any]:
    """Name -> agent for ``names`` among :data:`PLAYERS`, plus ``final_step``."""
    run_dir = Path(config.run_dir)
    out: dict[str, Any] = {}
    if "base" in names:
        spec = config.policy.spec
        out["base"] = make_agent(spec, name="base", seed=config.seed)
    if "warm" in names or "final" in names:
        policy = Policy(config.policy, seed=config.seed)
        if config.warm_start is not None:
            warm_state = torch.load(run_dir / WARM_START_FILE, weights_only=True)
            policy.load_trainable_state(warm_state)
            policy.absorb()  # as the trainer does: the warm start becomes the base weights
        out["warm"] = policy.initial_agent("warm")
        if "final" in names:
            path = checkpoint_path(run_dir, step)
            policy.load_trainable_state(torch.load(path, weights_only=True))
            out["final"] = policy.agent  # named POLICY_NAME
            out["final_step"] = int(path.parent.name.removeprefix("step-"))
    return out


def as_policy(agent: Agent) -> Agent:
    """``agent`` under the name the evaluation scores."""
    return agent if agent.name == POLICY_NAME else SeatedAs(agent)


def head_to_head(
    config: TrainConfig, first: Agent, second: Agent, confidence: float
) -> dict[str, Any]:
    """``first`` (in the policy's seats) against ``second`` on every held-out seed, seats
    swapped: both sides' figures, the paired reward difference and ``first``'s win rate."""
    shell = trainer_shell(config, as_policy(first))
    name = second.name if second.name != POLICY_NAME else "opponent"
    shell._agents[name] = second
    records: list[EpisodeRecord] = panel_records(shell, [name])[name]
    mine = seat_metrics(records, POLICY_NAME, confidence)
    theirs = seat_metrics(records, name, confidence)
    diffs, items = [], []
    for r in records:
        seat = r.meta["seat"]
        other = next(role for role in r.returns if role != seat)
        diffs.append(float(r.returns[seat]) - float(r.returns[other]))
        items.append(episode_item(r))
    d = cluster_bootstrap_ci(diffs, items, confidence)
    return {
        "first": mine,
        "second": {k: v for k, v in theirs.items() if not k.startswith("win_rate")},
        "difference": {"mean": d.mean, "low": d.low, "high": d.high, "items": len(set(items))},
        "first_win_rate": [mine.get(k) for k in ("win_rate", "win_rate_low", "win_rate_high")],
        "cis_apart": bool(mine["reward_low"] > theirs["reward_high"]),
    }


def panel_difference(
    first: dict[str, list[EpisodeRecord]],
    second: dict[str, list[EpisodeRecord]],
    confidence: float,
) -> dict[str, Any]:
    """``first``'s panel reward minus ``second``'s, paired: the same deal, opponent and seat
    on both sides, the interval a bootstrap over deals (a deal's episodes resampled
    together). Pairing removes what the deals themselves vary, so it resolves smaller changes
    than two separate intervals do."""

    def keyed(records: dict[str, list[EpisodeRecord]]) -> dict[tuple, EpisodeRecord]:
        return {(o, r.meta["seat"], r.seed): r for o, rs in records.items() for r in rs}

    a, b = keyed(first), keyed(second)
    if a.keys() != b.keys():
        raise ValueError(
            f"the two panels were not played on the same deals, opponents and seats "
            f"({len(a.keys() - b.keys())} and {len(b.keys() - a.keys())} episodes unmatched)"
        )
    diffs, items = [], []
    for key, ra in a.items():
        seat = key[1]
        diffs.append(float(ra.returns[seat]) - float(b[key].returns[seat]))
        items.append(episode_item(ra))
    d = cluster_bootstrap_ci(diffs, items, confidence)
    return {
        "mean": d.mean,
        "low": d.low,
        "high": d.high,
        "episodes": len(diffs),
        "items": len(set(items)),
        "apart_from_zero": bool(d.low > 0 or d.high < 0),
    }


def _interval(m: dict[str, Any]) -> list[float]:
    return [m["reward"], m["reward_low"], m["reward_high"]]


def targets(result: dict[str, Any], baselines: dict[str, Any] | None) -> dict[str, Any]:
    """The two targets, from whatever has been measured so far."""
    out: dict[str, Any] = {}
    h2h = result.get("head_to_head", {}).get("final vs warm")
    if h2h:
        out["final_beats_initial_head_to_head"] = {
            "final": _interval(h2h["first"]),
            "initial (warm-started)": _interval(h2h["second"]),
            "difference": h2h["difference"],
            "met": h2h["cis_apart"],
        }
    final = result.get("players", {}).get("final")
    if final and baselines:
        label = f"best constant reply {baselines['best_constant_reply']}"
        best = baselines["baselines"][label]["pooled"]
        out["final_above_best_constant_reply_on_panel"] = {
            "final": _interval(final["pooled"]),
            "best constant reply": [baselines["best_constant_reply"], *_interval(best)],
            "met": bool(final["pooled"]["reward_low"] > best["reward_high"]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="config name in benchmarks/learning")
    parser.add_argument("--smoke", action="store_true", help="the run.py --smoke run")
    parser.add_argument("--players", nargs="+", choices=PLAYERS, default=list(PLAYERS))
    parser.add_argument("--step", type=int, default=None, help="final checkpoint's step")
    parser.add_argument("--episodes", type=int, default=None, help="held-out seeds (default: eval)")
    parser.add_argument(
        "--pairs",
        nargs="*",
        choices=[f"{a}-{b}" for a, b in PAIRS],
        default=None,
        help="head-to-head pairs to play (default: every pair of --players; none: no pairs)",
    )
    args = parser.parse_args(argv)

    data = load_config(HERE / f"{args.name}.yaml").model_dump()
    if args.smoke:
        data = smoke(data)
    if args.episodes is not None:
        data["eval"] = {**data["eval"], "episodes": args.episodes}
    config = parse_config(data)
    confidence = config.eval.confidence
    tag = f"{args.name}-smoke" if args.smoke else args.name
    path = RESULTS / f"{tag}.json"
    saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    result = saved.setdefault("selfplay_eval", {})
    result["panel"] = list(NEGOTIATION_PANEL)
    result["seeds"] = [config.eval.seed_start, config.eval.seed_start + config.eval.episodes - 1]
    result.setdefault("players", {})
    result.setdefault("head_to_head", {})
    result.setdefault("seconds", {})

    if args.pairs is None:
        pairs = [(a, b) for a, b in PAIRS if a in args.players and b in args.players]
    else:
        pairs = [tuple(p.split("-")) for p in args.pairs]
    needed = set(args.players) | {n for pair in pairs for n in pair}
    players = build_players(config, [n for n in PLAYERS if n in needed], args.step)
    if "final_step" in players:
        result["final_step"] = players.pop("final_step")
    played: dict[str, dict[str, list[EpisodeRecord]]] = {}
    for name in args.players:
        started = time.perf_counter()
        shell = trainer_shell(config, as_policy(players[name]))
        played[name] = panel_records(shell, NEGOTIATION_PANEL)
        figures = panel_figures(played[name], POLICY_NAME, confidence)
        result["players"][name] = figures
        result["seconds"][f"panel {name}"] = round(time.perf_counter() - started, 1)
        m = figures["pooled"]
        low, high = m["reward_low"], m["reward_high"]
        print(f"panel {name:6s} {m['reward']:+.3f} [{low:+.3f}, {high:+.3f}]")
    result.setdefault("panel_paired", {})
    for a, b in PAIRS:  # every pair whose panels this invocation played
        if a in played and b in played:
            d = panel_difference(played[a], played[b], confidence)
            result["panel_paired"][f"{a} - {b}"] = d
            print(f"panel {a} - {b}: {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]")
    for a, b in pairs:
        started = time.perf_counter()
        h = head_to_head(config, players[a], players[b], confidence)
        result["head_to_head"][f"{a} vs {b}"] = h
        result["seconds"][f"{a} vs {b}"] = round(time.perf_counter() - started, 1)
        d = h["difference"]
        print(
            f"{a} vs {b}: {h['first']['reward']:+.3f} vs {h['second']['reward']:+.3f}, "
            f"difference {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
        )
    baselines_path = RESULTS / "baselines.json"
    baselines = None
    if baselines_path.exists():
        baselines = json.loads(baselines_path.read_text()).get("negotiation-selfplay")
    if baselines:
        result["baselines"] = {
            label: figures["pooled"] for label, figures in baselines["baselines"].items()
        }
        result["best_constant_reply"] = baselines["best_constant_reply"]
    result["targets"] = targets(result, baselines)
    result["machine"] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "load_average": list(os.getloadavg()),  # 1, 5 and 15 minutes, at the end
    }
    RESULTS.mkdir(exist_ok=True)
    if path.exists():  # another invocation may have written players or pairs meanwhile
        latest = json.loads(path.read_text()).get("selfplay_eval", {})
        for key in ("players", "head_to_head", "seconds", "panel_paired"):
            result[key] = {**latest.get(key, {}), **result[key]}
        result["targets"] = targets(result, baselines)
    path.write_text(json.dumps(saved, indent=2) + "\n")
    print(json.dumps(result["targets"], indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
