"""Evaluation during training: held-out seeds against fixed opponents, with confidence intervals.

For each evaluated game, opponent and policy seat, the policy plays the seeds
``seed_start, seed_start + 1, ...`` (never drawn for training). Reported per (game, opponent):
mean reward and win rate (wins + half the draws against the best other seat), the invalid-move
rate, and for games that report a verdict per answer (the quiz's ``info["questions"]``) the
rate of each verdict over answers, split by whether the question was answerable:
``unanswerable_wrong`` is the hallucination rate, ``answerable_correct`` the accuracy on
answerable questions.

*Repeated items.* Different seeds can draw the same item: the quiz's 96 held-out seeds ask
only a few dozen distinct test questions (its 29 unanswerable answers come from 14), and a
negotiation deal (pool and values) can come up on several seeds and is played from each
seat. Answers to the same item are not independent, so every interval accounts for the items
(:func:`episode_item`, :func:`answer_item`) and each is reported with the number of distinct
items behind it (``<metric>_items``, next to ``episodes``):

* the mean reward gets a cluster bootstrap interval, resampling items
  (:func:`~palaestra.arena.stats.cluster_bootstrap_ci`);
* rates (win rate, verdict rates) get Wilson score intervals at the effective sample size
  ``n / design_effect`` (:func:`~palaestra.arena.stats.design_effect`). Wilson treats each
  observation as a 0/1 outcome; a win rate's scores are 0, ½ or 1, whose variance at mean
  ``p`` is at most ``p (1 - p)``, so the interval is conservative for them. It stays inside
  [0, 1] and keeps its width where a bootstrap would collapse to a point: at 0% or 100%, and
  at a win rate of exactly ½ from all draws (every resample of all-draws is all-draws, yet 16
  draws do not prove the next game will be one).

With every item distinct the reward interval is the plain percentile bootstrap over episodes
and the rate intervals are plain Wilson intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import cluster_bootstrap_ci, design_effect
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


def proportion_interval(successes: float, n: float, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a rate (stays inside [0, 1], sensible at 0 or n successes).

    ``successes`` and ``n`` may be fractional: an effective sample size (see
    :func:`rate_interval`) or a score with draws counted as halves. ``Interval.n`` is ``n``
    rounded down.
    """
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), int(n))


def rate_interval(
    values: Sequence[float], items: Sequence[object], confidence: float = 0.95
) -> Interval:
    """A rate (the mean of values in [0, 1]) with a Wilson interval at the effective sample
    size ``n / design_effect(values, items)``; ``Interval.n`` is the number of values."""
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    p = float(np.mean(values))
    n_eff = n / design_effect(values, items)
    iv = proportion_interval(p * n_eff, n_eff, confidence)
    return Interval(p, iv.low, iv.high, n)


def episode_item(record: EpisodeRecord) -> str:
    """The item an episode was played on: the game's ``info["item"]`` (e.g. a negotiation's
    pool and values), else the items of its questions (the quiz), else its seed."""
    info = record.info or {}
    item = info.get("item")
    if isinstance(item, (str, int)):
        return str(item)
    questions = info.get("questions")
    if isinstance(questions, list) and questions:
        ids = [str(q.get("item")) for q in questions if q.get("item") is not None]
        if ids:
            return "+".join(dict.fromkeys(ids))
    return f"seed:{record.seed}"


def answer_item(record: EpisodeRecord, question: dict[str, object]) -> str:
    """The item of one answer in ``info["questions"]`` (its question id, else the episode's)."""
    item = question.get("item")
    return str(item) if item is not None else episode_item(record)


def seat_metrics(
    records: Sequence[EpisodeRecord], policy: str, confidence: float = 0.95
) -> dict[str, float]:
    """Metrics of the policy's seats over ``records`` (keys without a prefix).

    ``reward`` (with ``reward_low``/``reward_high``, a cluster bootstrap over items, and
    ``reward_items``), ``episodes``, ``win_rate`` (with its Wilson interval and
    ``win_rate_items``) where there is another seat, ``invalid_rate``, and per verdict kind
    the rate over answers, overall and split by answerability (with intervals and
    ``<rate>_items``).
    """
    rewards: list[float] = []
    items: list[str] = []
    scores: list[float] = []
    score_items: list[str] = []
    invalid = turns = 0
    verdicts: dict[str, list[tuple[str, str]]] = {"all": [], "answerable": [], "unanswerable": []}
    for record in records:
        for role, name in record.seating.items():
            if name != policy:
                continue
            own = float(record.returns.get(role, 0.0))
            item = episode_item(record)
            rewards.append(own)
            items.append(item)
            others = [float(v) for r, v in record.returns.items() if r != role]
            if others:
                scores.append(match_score(own, max(others)))
                score_items.append(item)
            mine = [t for t in record.turns if t.role == role]
            turns += len(mine)
            invalid += sum(not t.valid for t in mine)
            questions = record.info.get("questions")
            if isinstance(questions, list):
                for q in questions:
                    kind = q.get("verdict")
                    if q.get("role") != role or not isinstance(kind, str):
                        continue
                    entry = (kind, answer_item(record, q))
                    verdicts["all"].append(entry)
                    answerable = q.get("answerable")
                    if isinstance(answerable, bool):
                        verdicts["answerable" if answerable else "unanswerable"].append(entry)
            else:
                verdicts["all"].extend((k, item) for k in turn_verdicts(record, role, mine) if k)
    out: dict[str, float] = {}
    r = cluster_bootstrap_ci(rewards, items, confidence) if rewards else None
    if r is None or math.isnan(r.low):  # fewer than two items: no interval to give
        m = mean_interval(rewards, confidence)
        r_mean, r_low, r_high = m.mean, m.low, m.high
    else:
        r_mean, r_low, r_high = r.mean, r.low, r.high
    out.update(reward=r_mean, reward_low=r_low, reward_high=r_high, episodes=len(rewards))
    out["reward_items"] = len(set(items))
    if scores:
        w = rate_interval(scores, score_items, confidence)
        out.update(win_rate=w.mean, win_rate_low=w.low, win_rate_high=w.high)
        out["win_rate_items"] = len(set(score_items))
    out["invalid_rate"] = invalid / turns if turns else 0.0
    for split, entries in verdicts.items():
        if not entries:
            continue
        answer_items = [i for _, i in entries]
        for kind in ("correct", "abstain", "wrong"):
            hits = [float(k == kind) for k, _ in entries]
            iv = rate_interval(hits, answer_items, confidence)
            prefix = kind if split == "all" else f"{split}_{kind}"
            out.update({prefix: iv.mean, f"{prefix}_low": iv.low, f"{prefix}_high": iv.high})
            out[f"{prefix}_items"] = len(set(answer_items))
    return out
