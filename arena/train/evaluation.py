"""Evaluation during training: held-out seeds against fixed opponents, with confidence intervals.

For each evaluated game, opponent and policy seat, the policy plays the seeds
``seed_start, seed_start + 1, ...`` (never drawn for training). Reported per (game, opponent):
mean reward and win rate (wins + half the draws against the best other seat) with Student-t
confidence intervals over episodes (the win rate's clipped to [0, 1]), the invalid-move rate,
and for games that report a verdict per answer (the quiz's ``info["questions"]``) the rate of
each verdict over answers, split by whether the question was answerable:
``unanswerable_wrong`` is the hallucination rate, ``answerable_correct`` the accuracy on
answerable questions. Rates get Wilson score intervals, which stay inside [0, 1] and are not
zero-width at 0% or 100%. Answer-level intervals treat answers as independent (they are
distinct items, but several share an episode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.train.league import match_score
from palaestra.arena.train.shaping import turn_verdicts


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval."""

    mean: float
    low: float
    high: float
    n: int


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Student-t interval of the mean (zero width for fewer than 2 values)."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, mean, mean, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)


def proportion_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a rate (stays inside [0, 1], sensible at 0 or n successes)."""
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n)


def seat_metrics(
    records: Sequence[EpisodeRecord], policy: str, confidence: float = 0.95
) -> dict[str, float]:
    """Metrics of the policy's seats over ``records`` (keys without a prefix)."""
    rewards: list[float] = []
    scores: list[float] = []
    invalid = turns = 0
    verdicts: dict[str, list[str]] = {"all": [], "answerable": [], "unanswerable": []}
    for record in records:
        for role, name in record.seating.items():
            if name != policy:
                continue
            own = float(record.returns.get(role, 0.0))
            rewards.append(own)
            others = [float(v) for r, v in record.returns.items() if r != role]
            if others:
                scores.append(match_score(own, max(others)))
            mine = [t for t in record.turns if t.role == role]
            turns += len(mine)
            invalid += sum(not t.valid for t in mine)
            questions = record.info.get("questions")
            if isinstance(questions, list):
                for q in questions:
                    kind = q.get("verdict")
                    if q.get("role") != role or not isinstance(kind, str):
                        continue
                    verdicts["all"].append(kind)
                    answerable = q.get("answerable")
                    if isinstance(answerable, bool):
                        verdicts["answerable" if answerable else "unanswerable"].append(kind)
            else:
                verdicts["all"].extend(k for k in turn_verdicts(record, role, mine) if k)
    out: dict[str, float] = {}
    r = mean_interval(rewards, confidence)
    out.update(reward=r.mean, reward_low=r.low, reward_high=r.high, episodes=r.n)
    if scores:
        w = mean_interval(scores, confidence)  # scores are 0, 0.5 or 1: clip to that range
        out.update(win_rate=w.mean, win_rate_low=max(0.0, w.low), win_rate_high=min(1.0, w.high))
    out["invalid_rate"] = invalid / turns if turns else 0.0
    for split, kinds in verdicts.items():
        for kind in ("correct", "abstain", "wrong"):
            if kinds:
                iv = proportion_interval(sum(k == kind for k in kinds), len(kinds), confidence)
                prefix = kind if split == "all" else f"{split}_{kind}"
                out.update({prefix: iv.mean, f"{prefix}_low": iv.low, f"{prefix}_high": iv.high})
    return out
