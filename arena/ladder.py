"""The checkpoint ladder: ``palaestra ladder RUN_DIR``.

Self-play progress is shown by playing a run's checkpoints against each other (AlphaZero's and
SPIRAL's ladders): a round robin on held-out seeds among

* the run's saved policies: every ``checkpoints/step-N/weights.pt`` and league snapshot
  ``snapshots/step-N.pt`` (named ``step-N``),
* ``initial``, the policy before training (after the warm start, if the run had one: the
  starting point of the policy-gradient steps),
* the game's reference opponents: every scripted player of the game
  (``scripted:kuhn-poker/nash``, ``scripted:kuhn-poker/uniform``; the scripted negotiators),
  or those given with ``--opponent``,

every pair in both seat orders on every seed (seat swaps, so the deal or the first move favours
nobody). Bradley–Terry ratings with bootstrap confidence intervals
(:class:`~palaestra.arena.ratings.BradleyTerry`) and each entrant's mean return are written
against training step into ``RUN_DIR/report/ladder/``: ``ladder.json``, ``ladder.png`` and,
from the arena's own report code, ``episodes.jsonl``, ``ratings.json``, ``report.html``,
``plots/`` and ``tables/``.

A checkpoint becomes an agent through the trainer's own machinery: the run's
``config.json`` builds the :class:`~palaestra.arena.train.policy.Policy` (base model, LoRA
settings, sampling options), the warm start is re-applied when the run has one, and each
checkpoint is a frozen adapter on that one base model
(:meth:`~palaestra.arena.train.policy.Policy.snapshot_agent`), so the ladder holds one model in
memory however many checkpoints it rates. :func:`checkpoint_agent` does this for one
checkpoint.

Held-out seeds: training draws its seeds below ``eval.seed_start`` (1,000,000 by default) and
the warm start uses 2,000,000 upwards; the ladder starts at 3,000,000 and refuses seeds below
the run's ``eval.seed_start``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.arena.records import EpisodeRecord

#: Where the ladder writes, inside the run directory.
LADDER_DIR = Path("report") / "ladder"
#: First held-out seed of the ladder (apart from training, evaluation and warm-start seeds).
DEFAULT_SEED_START = 3_000_000
INITIAL = "initial"


@dataclass(frozen=True)
class Entrant:
    """One player of the ladder.

    Attributes:
        name: Its name in the records (``step-N``, ``initial`` or the agent spec).
        kind: ``checkpoint``, ``initial`` or ``reference``.
        step: Training step (0 for ``initial``, ``None`` for reference opponents).
        path: The weights file of a checkpoint.
    """

    name: str
    kind: str
    step: int | None = None
    path: str | None = None


def run_checkpoints(run_dir: str | Path) -> dict[int, Path]:
    """Step -> trained-weights file, from ``checkpoints/`` and ``snapshots/`` (a checkpoint
    wins over a snapshot of the same step)."""
    run_dir = Path(run_dir)
    found: dict[int, Path] = {}
    for path in (run_dir / "snapshots").glob("step-*.pt"):
        found[int(path.stem.removeprefix("step-"))] = path
    for path in (run_dir / "checkpoints").glob("step-*/weights.pt"):
        found[int(path.parent.name.removeprefix("step-"))] = path
    return dict(sorted(found.items()))


def select_steps(steps: Sequence[int], limit: int | None) -> list[int]:
    """At most ``limit`` of ``steps``, evenly spread, always keeping the first and last.

    >>> select_steps([5, 10, 15, 20, 25], 3)
    [5, 15, 25]
    """
    steps = sorted(steps)
    if limit is None or len(steps) <= limit:
        return steps
    if limit < 2:
        raise ValueError(f"max_checkpoints must be >= 2, got {limit}")
    picks = np.linspace(0, len(steps) - 1, limit).round().astype(int)
    return [steps[i] for i in sorted(set(picks.tolist()))]


def load_run_config(run_dir: str | Path) -> Any:
    """The :class:`~palaestra.arena.train.config.TrainConfig` a training run saved."""
    from palaestra.arena.train.config import TrainConfig

    saved = Path(run_dir) / "config.json"
    if not saved.is_file():
        raise FileNotFoundError(
            f"{str(run_dir)!r} is not a training run directory (no config.json); "
            "expected the run_dir of `palaestra train`"
        )
    return TrainConfig.model_validate_json(saved.read_text())


def load_run_policy(run_dir: str | Path) -> tuple[Any, Any]:
    """``(TrainConfig, Policy)`` of a training run, warm start re-applied."""
    import torch

    from palaestra.arena.train.policy import Policy
    from palaestra.arena.train.trainer import WARM_START_FILE

    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    policy = Policy(config.policy, seed=config.seed, engine=False)  # rate on transformers
    warm = run_dir / WARM_START_FILE
    if warm.exists():
        policy.load_trainable_state(torch.load(warm, weights_only=True))
        policy.absorb()
    return config, policy


def checkpoint_agent(run_dir: str | Path, step: int, policy: Any | None = None) -> Any:
    """The policy of a run at a saved step, as an agent named ``step-<step>``.

    Args:
        run_dir: The training run directory.
        step: A step with a checkpoint or snapshot (see :func:`run_checkpoints`).
        policy: The run's :class:`Policy` from :func:`load_run_policy` (built when ``None``);
            pass it to put several checkpoints on one base model.

    Raises:
        ValueError: No weights were saved at ``step`` (the message lists the saved steps).
    """
    import torch

    saved = run_checkpoints(run_dir)
    if step not in saved:
        raise ValueError(f"no checkpoint at step {step} in {str(run_dir)!r}; saved: {list(saved)}")
    if policy is None:
        _, policy = load_run_policy(run_dir)
    state = torch.load(saved[step], weights_only=True)
    return policy.snapshot_agent(f"step-{step}", state)


def reference_opponents(env_id: str) -> list[str]:
    """Specs of every scripted player of a game (``scripted:<game>/<name>``)."""
    from palaestra.envs import spec

    game = env_id.rsplit("-v", 1)[0]
    return [f"scripted:{game}/{name}" for name in spec(env_id).scripted]


def play_round_robin(
    agents: dict[str, Any],
    env_id: str,
    env_kwargs: dict[str, Any],
    seeds: Sequence[int],
    concurrency: int = 32,
) -> list[EpisodeRecord]:
    """Every pair of ``agents`` in every seat order on every seed."""
    from palaestra.arena.runner import EpisodeJob, MatchRunner
    from palaestra.arena.schedule import seatings
    from palaestra.envs import make

    roles = list(make(env_id, wrappers=False, **env_kwargs).possible_agents)
    orders = seatings(list(agents), roles, mode="permutations")
    jobs = []
    for seed in seeds:
        for order in orders:
            seating = dict(zip(roles, order))
            seated = ",".join(f"{r}={a}" for r, a in seating.items())
            jobs.append(
                EpisodeJob(
                    env_id=env_id,
                    seed=int(seed),
                    agents={r: agents[a] for r, a in seating.items()},
                    env_kwargs=dict(env_kwargs),
                    episode_id=f"ladder/{env_id}/{seed}/{seated}",
                    meta={"ladder": True},
                )
            )
    return list(MatchRunner(concurrency=concurrency).run(jobs))


def ladder_table(
    records: Sequence[EpisodeRecord],
    entrants: Sequence[Entrant],
    rounds: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Per entrant: Bradley–Terry rating with its bootstrap interval, and mean return."""
    from palaestra.arena.ratings import BradleyTerry
    from palaestra.arena.stats import comparisons, mean_ci

    fit = BradleyTerry().bootstrap(comparisons(records), rounds=rounds, seed=seed,
                                   confidence=confidence)  # fmt: skip
    rows = []
    for e in entrants:
        returns = [
            float(r.returns[role]) for r in records for role, name in r.seating.items()
            if name == e.name
        ]  # fmt: skip
        rating = fit.rating(e.name)
        ret = mean_ci(returns, confidence)
        rows.append(
            {
                **asdict(e),
                "rating": rating.rating,
                "rating_low": rating.ci_low,
                "rating_high": rating.ci_high,
                "comparisons": rating.games,
                "mean_return": ret.mean,
                "mean_return_low": ret.low,
                "mean_return_high": ret.high,
                "episodes": len(returns),
            }
        )
    return rows


def plot_ladder(rows: Sequence[dict[str, Any]], title: str, path: str | Path) -> Path:
    """Ratings (with intervals) of the checkpoints against step; reference opponents as
    horizontal bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    trained = sorted((r for r in rows if r["kind"] != "reference"), key=lambda r: r["step"])
    if trained:
        xs = [r["step"] for r in trained]
        ys = [r["rating"] for r in trained]
        err = [[r["rating"] - r["rating_low"] for r in trained],
               [r["rating_high"] - r["rating"] for r in trained]]  # fmt: skip
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label="policy (checkpoints)")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, r in enumerate(r for r in rows if r["kind"] == "reference"):
        c = colours[(i + 1) % len(colours)]
        ax.axhline(r["rating"], color=c, ls="--", lw=1, label=r["name"])
        ax.axhspan(r["rating_low"], r["rating_high"], color=c, alpha=0.12)
    ax.set_xlabel("training step (0: initial policy)")
    ax.set_ylabel("Bradley–Terry rating (Elo scale, 95% CI)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_ladder(
    run_dir: str | Path,
    *,
    game: str | None = None,
    episodes: int = 32,
    seed_start: int = DEFAULT_SEED_START,
    opponents: Sequence[str] | None = None,
    max_checkpoints: int | None = None,
    rounds: int = 200,
    concurrency: int = 32,
    report: bool = True,
) -> dict[str, Any]:
    """Play and rate the ladder of a training run; returns what ``ladder.json`` holds.

    Args:
        run_dir: The training run directory.
        game: Env id (default: the run's first game).
        episodes: Seeds; each pair plays each seed in every seat order.
        seed_start: First seed; must be at least the run's ``eval.seed_start`` (held out).
        opponents: Reference opponent specs (default: the game's scripted players).
        max_checkpoints: Rate at most this many saved steps, evenly spread (default: all).
        rounds: Bootstrap rounds of the rating intervals.
        concurrency: Episodes stepped at once.
        report: Also write the arena's report of the ladder's episodes.

    Raises:
        ValueError: Held-out seeds overlap training seeds, no checkpoint was saved, or the
            game is not one of the run's.
    """
    from palaestra.agents import make_agent
    from palaestra.arena.store import EpisodeStore
    from palaestra.arena.train.trainer import TRAIN_DEFAULTS

    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if seed_start < config.eval.seed_start:
        raise ValueError(
            f"seed_start {seed_start} is below the run's eval.seed_start "
            f"{config.eval.seed_start}: those seeds may have been trained on; "
            f"use {DEFAULT_SEED_START} or above"
        )
    games = {g.env: g for stage in config.stages for g in stage.games}
    env_id = game or next(iter(games))
    if env_id not in games:
        raise ValueError(f"the run trained on {sorted(games)}, not {env_id!r}")
    saved = run_checkpoints(run_dir)
    if not saved:
        raise ValueError(f"no checkpoints or snapshots in {str(run_dir)!r} to rate")
    steps = select_steps(list(saved), max_checkpoints)
    _, policy = load_run_policy(run_dir)
    entrants = [Entrant(INITIAL, "initial", 0)]
    agents: dict[str, Any] = {INITIAL: policy.initial_agent(INITIAL)}
    for step in steps:
        e = Entrant(f"step-{step}", "checkpoint", step, str(saved[step]))
        entrants.append(e)
        agents[e.name] = checkpoint_agent(run_dir, step, policy)
    for spec in opponents if opponents is not None else reference_opponents(env_id):
        entrants.append(Entrant(spec, "reference"))
        agents[spec] = make_agent(spec)
        agents[spec].name = spec  # records name seats by agent name; entrants by spec
    env_kwargs = {**TRAIN_DEFAULTS, **games[env_id].kwargs}
    seeds = range(seed_start, seed_start + episodes)
    records = play_round_robin(agents, env_id, env_kwargs, seeds, concurrency)
    out_dir = run_dir / LADDER_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "episodes.jsonl").unlink(missing_ok=True)
    with EpisodeStore(out_dir) as store:
        for record in records:
            store.append(record)
    rows = ladder_table(records, entrants, rounds=rounds)
    result = {
        "run_dir": str(run_dir),
        "game": env_id,
        "env_kwargs": env_kwargs,
        "seeds": [seed_start, seed_start + episodes - 1],
        "episodes_played": len(records),
        "bootstrap_rounds": rounds,
        "rating": "Bradley-Terry on per-episode wins (draws half), Elo scale, mean 1000",
        "entrants": rows,
    }
    (out_dir / "ladder.json").write_text(json.dumps(result, indent=2, default=_json) + "\n")
    plot_ladder(rows, f"Checkpoint ladder: {run_dir.name} ({env_id})", out_dir / "ladder.png")
    if report:
        from palaestra.arena.report import write_report

        write_report(out_dir, records)
    return result


def _json(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"not JSON serialisable: {value!r}")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ladder",
        help="rate a training run's checkpoints in a round robin (see docs/training.md)",
        description="Play a round robin on held-out seeds among RUN_DIR's checkpoints, the "
        "initial policy and the game's reference opponents (seat swaps); write Bradley-Terry "
        "ratings with bootstrap CIs against training step, a plot and the arena report into "
        "RUN_DIR/report/ladder/.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a `palaestra train` run directory")
    p.add_argument("--game", default=None, help="env id (default: the run's first game)")
    p.add_argument("--episodes", type=int, default=32, help="seeds per pairing (default 32)")
    p.add_argument("--seed-start", type=int, default=DEFAULT_SEED_START,
                   help=f"first held-out seed (default {DEFAULT_SEED_START:,})")  # fmt: skip
    p.add_argument(
        "--opponent",
        action="append",
        default=None,
        metavar="SPEC",
        help="reference opponent (repeat; default: the game's scripted players)",
    )
    p.add_argument("--max-checkpoints", type=int, default=None,
                   help="rate at most this many saved steps, evenly spread")  # fmt: skip
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap rounds (default 200)")
    p.add_argument("--concurrency", type=int, default=32, help="episodes stepped at once")
    p.set_defaults(handler=_ladder)


def _ladder(args: argparse.Namespace) -> int:
    result = run_ladder(
        args.run_dir,
        game=args.game,
        episodes=args.episodes,
        seed_start=args.seed_start,
        opponents=args.opponent,
        max_checkpoints=args.max_checkpoints,
        rounds=args.bootstrap,
        concurrency=args.concurrency,
    )
    print(f"{'entrant':32} {'step':>6} {'rating':>8} {'95% CI':>17} {'mean return':>12}")
    for r in sorted(result["entrants"], key=lambda r: -r["rating"]):
        step = "" if r["step"] is None else str(r["step"])
        ci = f"[{r['rating_low']:.0f}, {r['rating_high']:.0f}]"
        print(f"{r['name']:32} {step:>6} {r['rating']:8.0f} {ci:>17} {r['mean_return']:12.3f}")
    print(f"wrote {Path(args.run_dir) / LADDER_DIR}")
    return 0
