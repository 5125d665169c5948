"""Kuhn poker self-play, measured by exact exploitability (issue 14's learning target).

    python benchmarks/learning/kuhn_selfplay.py --seed 0 --minutes 45          # one seed
    python benchmarks/learning/kuhn_selfplay.py --seed 1 --minutes 45 --threads 1
    python benchmarks/learning/kuhn_selfplay.py --summarise                    # plot 3 seeds

Runs ``kuhn-selfplay.yaml`` (or ``--config``) with the trainer, one step at a time, and
computes the policy's exploitability exactly (``palaestra.arena.exact.exploitability_of``,
scored: OpenSpiel's best responses to the distribution the model puts on ``pass``/``bet`` and
their aliases at each of the 12 information states, as ``palaestra evaluate exploitability``)
before the warm start, after it (``exploitability_before``), after every ``eval.every``
steps and at the end (``exploitability_after``). Training stops at ``steps`` or when
``--minutes`` of training wall time would pass (a step starts only if it can end inside the
budget, at the mean step time so far), whichever comes first; the clock starts after model
loading and the warm start counts. ``first_at_target`` records the first evaluation at or
below 0.10 and its minute. Writes ``results/kuhn-selfplay-s<seed>.json`` (the curve, both policy
tables, step times, the config, the machine and its load) and the run folder
(``runs/kuhn-selfplay-s<seed>``: checkpoints for ``palaestra ladder``). ``--summarise`` reads
the per-seed results and writes ``results/kuhn-selfplay.json`` and ``kuhn-selfplay.png``
(exploitability against step, every seed) and ``kuhn-selfplay-policy.png`` (the learned
P(bet) per information state next to the Nash family).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: Issue 14's target: exploitability at or below this within this many minutes.
TARGET = {"exploitability": 0.10, "minutes": 45}
sys.path.insert(0, str(HERE))

#: Nash equilibria of Kuhn poker (Kuhn 1950; e.g. the Wikipedia "Kuhn poker" article and
#: OpenSpiel's kuhn_poker): P(bet) per information state (card, history) as a function of
#: player 0's free parameter alpha in [0, 1/3]; player 1's strategy is unique.
NASH = {
    "J": lambda a: (a, a),  # player 0, opening with the Jack: bet (bluff) with prob. alpha
    "Q": lambda a: (0.0, 0.0),  # player 0 checks the Queen
    "K": lambda a: (3 * a, 3 * a),  # player 0 bets the King with prob. 3 alpha
    "Jpb": lambda a: (0.0, 0.0),  # player 0, checked then facing a bet: fold the Jack
    "Qpb": lambda a: (a + 1 / 3, a + 1 / 3),  # call with the Queen with prob. alpha + 1/3
    "Kpb": lambda a: (1.0, 1.0),  # always call with the King
    "Jb": lambda a: (0.0, 0.0),  # player 1 facing a bet: fold the Jack
    "Qb": lambda a: (1 / 3, 1 / 3),  # call with the Queen 1/3
    "Kb": lambda a: (1.0, 1.0),  # call with the King
    "Jp": lambda a: (1 / 3, 1 / 3),  # player 1 after a check: bluff the Jack 1/3
    "Qp": lambda a: (0.0, 0.0),  # check the Queen behind
    "Kp": lambda a: (1.0, 1.0),  # bet the King
}


def nash_range(label: str) -> tuple[float, float]:
    """Lowest and highest Nash P(bet) at an information state over alpha in [0, 1/3]."""
    values = [NASH[label](a)[0] for a in (0.0, 1 / 6, 1 / 3)]
    return min(values), max(values)


def average_policy(tables: list[dict[str, float]]) -> dict[str, float]:
    """The policy that draws one of ``tables`` (P(bet) per state label) at random for each
    game, as one behaviour policy: at player 0's second decision (``?pb``) each table is
    weighted by the probability that it reaches that state (it checked first), elsewhere
    equally (each player's first decision). The average strategy of fictitious play / NFSP."""
    out = {}
    for label in tables[0]:
        if label.endswith("pb"):
            reach = [1 - t[label[0]] for t in tables]
            total = sum(reach)
            out[label] = sum(w * t[label] for w, t in zip(reach, tables)) / total if total else 0.5
        else:
            out[label] = sum(t[label] for t in tables) / len(tables)
    return out


def league_average(run_dir: str | Path, first_step: int) -> dict[str, Any] | None:
    """Exact exploitability of :func:`average_policy` over the run's evaluated policies from
    ``first_step`` on (read from its ``exploitability.jsonl``), or ``None`` without them."""
    from kuhn_diagnosis import tabular_exploitability

    path = Path(run_dir) / "exploitability.jsonl"
    if not path.exists():
        return None
    points = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    chosen = [p for p in points if p["phase"] == "training" and p["step"] >= first_step]
    if not chosen:
        return None
    tables = [{r["state"]: r["p_bet"] for r in p["policy"]} for p in chosen]
    return {
        "steps": [p["step"] for p in chosen],
        "exploitability": tabular_exploitability(average_policy(tables)),
    }


def machine() -> dict[str, Any]:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import torch

    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": list(os.getloadavg()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
    }


def _table(result: Any) -> list[dict[str, Any]]:
    """Per information state: its label (card + history, e.g. ``Qpb``), P(bet), the Nash range."""
    out = []
    for state in result.states:
        label = state.private["card"] + state.key[1:]
        out.append(
            {
                "state": label,
                "info_state": state.key,
                "player": state.player,
                # the move is "bet", or "King: bet" with name_card
                "p_bet": state.probs[[m.split(": ")[-1] for m in state.moves].index("bet")],
                "nash_p_bet": list(nash_range(label)),
                "invalid_mass": state.invalid_mass,
            }
        )
    return out


def _mean_step(steps: list[dict[str, Any]]) -> float:
    """Mean wall seconds of the steps so far (0 before the first)."""
    return sum(s["time/step_s"] for s in steps) / len(steps) if steps else 0.0


def train(args: argparse.Namespace) -> Path:
    import torch

    torch.set_num_threads(args.threads)
    from palaestra.arena.exact import exploitability_of
    from palaestra.arena.train.config import load_config, parse_config
    from palaestra.arena.train.plots import write_report
    from palaestra.arena.train.trainer import Trainer

    data = load_config(args.config).model_dump()
    data["seed"] = args.seed
    data["run_dir"] = f"{data['run_dir']}-s{args.seed}{args.tag}"
    if args.steps is not None:
        data["steps"] = args.steps
    overrides = [("loss", item) for item in args.loss or []]
    overrides += [("optim", item) for item in args.optim or []]
    overrides += [tuple(item.split(".", 1)) for item in args.set or []]
    for section, item in overrides:
        key, _, value = item.partition("=")
        data[section][key] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    config = parse_config(data)
    load_before = list(os.getloadavg())
    started = time.perf_counter()
    trainer = Trainer(config)
    load_seconds = time.perf_counter() - started
    curve: list[dict[str, Any]] = []
    # The game as the run plays it (e.g. ``name_card``), read the same way.
    game_kwargs = dict(config.stages[0].games[0].kwargs)
    log_path = Path(config.run_dir) / "exploitability.jsonl"
    log_path.write_text("")
    clock: float | None = None

    def measure(step: int, phase: str) -> dict[str, Any]:
        t0 = time.perf_counter()
        result = exploitability_of(
            trainer.policy.agent, "kuhn-poker-v0", method="scored", **game_kwargs
        )
        point = {
            "step": step,
            "phase": phase,
            "exploitability": result.exploitability,
            "invalid_mass": result.invalid_mass,
            "seconds": time.perf_counter() - t0,
            # Since the budget's clock started (before the warm start); None for the base model.
            "elapsed_s": None if clock is None else t0 - clock,
            "policy": _table(result),
        }
        with log_path.open("a") as f:
            f.write(json.dumps(point) + "\n")
        print(
            f"[seed {args.seed}] step {step} ({phase}): exploitability "
            f"{point['exploitability']:.4f}, invalid mass {point['invalid_mass']:.3f}",
            flush=True,
        )
        return point

    # The base model is the same for every seed: measured once per policy spec (its dtype
    # changes the figure), then read back.
    base_file = RESULTS / "kuhn-selfplay-base-model.json"
    points = json.loads(base_file.read_text())["points"] if base_file.exists() else {}
    if config.policy.spec in points:
        base = points[config.policy.spec]
    else:
        base = points[config.policy.spec] = measure(0, "base model")
        RESULTS.mkdir(parents=True, exist_ok=True)
        base_file.write_text(json.dumps({"points": points}, indent=2) + "\n")
    clock = time.perf_counter()
    warm_seconds = 0.0
    if config.warm_start is not None:
        trainer.warm_start()
        warm_seconds = time.perf_counter() - clock
    if config.eval.every:
        row = {"step": 0, "stage": trainer.curriculum.current.name, **trainer.evaluate()}
        trainer.guards.check(row)
        trainer._log(row)
    curve.append(measure(0, "after warm start" if config.warm_start else "initial"))
    steps: list[dict[str, Any]] = []
    deadline = clock + args.minutes * 60
    # A step is started only if it can end inside the budget (at the mean step time so far).
    while trainer.step < config.steps and time.perf_counter() + _mean_step(steps) < deadline:
        cpu0 = time.process_time()
        metrics = trainer.train_step()
        metrics["time/step_cpu_s"] = time.process_time() - cpu0
        steps.append(
            {
                k: metrics.get(k)
                for k in (
                    "step",
                    "train/reward",
                    "train/kl",
                    "train/entropy",
                    "train/invalid_rate",
                    "train/samples",
                    "train/kept",
                    "time/rollout_s",
                    "time/update_s",
                    "time/step_s",
                    "time/step_cpu_s",
                )
            }
        )
        print(
            f"[seed {args.seed}] step {trainer.step}: {metrics['time/step_s']:.1f}s "
            f"(cpu {metrics['time/step_cpu_s']:.1f}s) "
            f"(rollout {metrics['time/rollout_s']:.1f}, update {metrics['time/update_s']:.1f}), "
            f"kl {metrics.get('train/kl', 0):.4f}, invalid {metrics['train/invalid_rate']:.3f}",
            flush=True,
        )
        if trainer.step % config.eval.every == 0:
            curve.append(measure(trainer.step, "training"))
    train_seconds = time.perf_counter() - clock
    if curve[-1]["step"] != trainer.step:
        curve.append(measure(trainer.step, "training"))
    if trainer.step % config.checkpoint.every:
        trainer.save_checkpoint()
    write_report(trainer.run_dir)
    before, after = curve[0], curve[-1]
    result = {
        "config": os.path.relpath(Path(args.config).resolve(), HERE.parent.parent),
        "config_resolved": config.model_dump(),
        "overrides": [f"{section}.{item}" for section, item in overrides],
        "seed": args.seed,
        "run_dir": config.run_dir,
        "minutes_budget": args.minutes,
        "steps": trainer.step,
        "exploitability_base_model": base["exploitability"],
        "invalid_mass_base_model": base["invalid_mass"],
        "exploitability_before": before["exploitability"],
        "exploitability_after": after["exploitability"],
        "exploitability_min": min(p["exploitability"] for p in curve),
        # The first evaluation at or below the target, and when (minutes since the clock).
        "first_at_target": next(
            (
                {"step": p["step"], "minutes": p["elapsed_s"] / 60}
                for p in curve
                if p["exploitability"] <= TARGET["exploitability"]
            ),
            None,
        ),
        "target": TARGET,
        "target_met": after["exploitability"] <= TARGET["exploitability"]
        and train_seconds <= TARGET["minutes"] * 60,
        "curve": [{k: v for k, v in p.items() if k != "policy"} for p in curve],
        "policy_before": before["policy"],
        "policy_after": after["policy"],
        "policy_base_model": base["policy"],
        "seconds": {
            "model_load": load_seconds,
            "warm_start": warm_seconds,
            "training_incl_warm_start_and_evals": train_seconds,
            "mean_step": _mean_step(steps),
            # CPU seconds of this process (all its threads): on a shared machine the wall
            # time says how loaded it was, this says what a step costs.
            "mean_step_cpu": sum(s["time/step_cpu_s"] for s in steps) / max(1, len(steps)),
            "process_cpu_total": time.process_time(),
            "mean_rollout": sum(s["time/rollout_s"] for s in steps) / max(1, len(steps)),
            "mean_update": sum(s["time/update_s"] for s in steps) / max(1, len(steps)),
            "mean_exploitability_eval": sum(p["seconds"] for p in curve) / len(curve),
        },
        "step_metrics": steps,
        "machine": {**machine(), "load_average_at_start": load_before},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"kuhn-selfplay-s{args.seed}{args.tag}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return out


def summarise(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = sorted(RESULTS.glob(f"kuhn-selfplay-s*{args.tag}.json"))
    files = [f for f in files if f.stem[len("kuhn-selfplay-s") :].removesuffix(args.tag).isdigit()]
    runs = [json.loads(f.read_text()) for f in files]
    if not runs:
        raise SystemExit(f"no results/kuhn-selfplay-s<seed>{args.tag}.json to summarise")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for run in runs:
        xs = [p["step"] for p in run["curve"]]
        ys = [p["exploitability"] for p in run["curve"]]
        ax.plot(xs, ys, marker="o", label=f"seed {run['seed']}")
    ax.axhline(0.4583, color="grey", ls=":", label="uniform random (0.458)")
    level = TARGET["exploitability"]
    ax.axhline(level, color="green", ls="--", label=f"target ({level:.2f})")
    ax.set_xlabel("training step (after the warm start)")
    ax.set_ylabel("exploitability (exact)")
    ax.set_title("Kuhn poker self-play, SmolLM2-135M (LoRA)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"kuhn-selfplay{args.tag}.png", dpi=110)
    plt.close(fig)

    labels = [row["state"] for row in runs[0]["policy_after"]]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for k, label in enumerate(labels):
        low, high = nash_range(label)
        ax.add_patch(
            plt.Rectangle((k - 0.4, low - 0.01), 0.8, high - low + 0.02, color="green", alpha=0.25)
        )
    ax.plot([], [], color="green", alpha=0.4, lw=8, label="Nash P(bet) (alpha in [0, 1/3])")
    for i, run in enumerate(runs):
        after = {r["state"]: r["p_bet"] for r in run["policy_after"]}
        before = {r["state"]: r["p_bet"] for r in run["policy_before"]}
        off = (i - (len(runs) - 1) / 2) * 0.15
        ax.scatter([k + off for k in range(len(labels))], [after[lb] for lb in labels],
                   marker="o", label=f"seed {run['seed']} after", zorder=3)  # fmt: skip
        if i == 0:
            ax.scatter(range(len(labels)), [before[lb] for lb in labels], marker="x",
                       color="grey", label="after warm start (seed 0)", zorder=2)  # fmt: skip
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([f"P{'0' if r['player'] == 0 else '1'} {r['state']}"
                        for r in runs[0]["policy_after"]], rotation=45, ha="right")  # fmt: skip
    ax.set_ylabel("P(bet)  (bet = bet or call)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Learned policy per information state vs the Nash family")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(RESULTS / f"kuhn-selfplay{args.tag}-policy.png", dpi=110)
    plt.close(fig)

    summary = {
        "seeds": [r["seed"] for r in runs],
        "per_seed": [
            {
                k: r[k]
                for k in (
                    "seed",
                    "steps",
                    "exploitability_base_model",
                    "exploitability_before",
                    "exploitability_after",
                    "exploitability_min",
                    "target_met",
                    "seconds",
                    "overrides",
                )
            }
            | {
                "machine": r["machine"],
                "curve": r["curve"],
                # the second half's evaluated policies, one drawn per game (league averaging)
                "league_average_second_half": league_average(r["run_dir"], r["steps"] // 2),
            }
            for r in runs
        ],
        "nash_p_bet": {label: list(nash_range(label)) for label in NASH},
    }
    out = RESULTS / f"kuhn-selfplay{args.tag}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out} and the plots")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(HERE / "kuhn-selfplay.yaml"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=45.0, help="training time budget")
    parser.add_argument("--steps", type=int, default=None, help="override the config's steps")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--tag", default="", help="suffix of the run folder and result files")
    parser.add_argument("--loss", action="append", help="override a loss key: key=value")
    parser.add_argument("--optim", action="append", help="override an optim key: key=value")
    parser.add_argument("--set", action="append", help="override any key: section.key=value")
    parser.add_argument("--summarise", action="store_true", help="plot and summarise seeds")
    args = parser.parse_args(argv)
    if args.summarise:
        summarise(args)
    else:
        train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
