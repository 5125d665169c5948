"""What every rating method shares: a :class:`Rating` row, a :class:`RatingTable` with its
interval stated, the settings (:class:`RatingOptions`) and the :class:`Rater` protocol that the
summary and the report iterate over.

Every interval is a confidence interval at ``RatingOptions.confidence``: ``ci_low`` and
``ci_high`` in every table, JSON file and CSV mean the same thing whatever the method, and
:attr:`RatingTable.interval` says how the method computes it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scipy.stats import norm

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import Comparison

ELO_SCALE = 400.0 / math.log(10.0)
"""Elo points per natural-log unit of strength (a 400-point gap is 10:1 odds)."""

BASE_RATING = 1000.0


@dataclass(frozen=True)
class Rating:
    """One agent's rating with its confidence interval.

    Attributes:
        agent: Agent name.
        rating: Point estimate (Elo scale for Elo and Bradley–Terry; ``mu`` for OpenSkill).
        ci_low: Lower end of the confidence interval (NaN when the method gave none).
        ci_high: Upper end.
        games: Pairwise comparisons (Elo, Bradley–Terry) or episodes (OpenSkill) it rests on.
        details: Method-specific numbers for the JSON row (OpenSkill's ``sigma``, ``ordinal``).
    """

    agent: str
    rating: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    games: int = 0
    details: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: float) -> float | None:
            return None if math.isnan(v) else round(v, 3)

        return {
            "agent": self.agent,
            "rating": clean(self.rating),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
            "games": self.games,
            **{k: clean(float(v)) for k, v in self.details.items()},
        }


@dataclass(frozen=True)
class RatingOptions:
    """Settings shared by every rater.

    Attributes:
        confidence: Coverage of every confidence interval (e.g. 0.95).
        bootstrap_rounds: Refits on episodes resampled with replacement (Bradley–Terry, Elo).
        elo_permutations: Episode orders the Elo point estimate averages over.
        seed: Seed of every resampling generator.
        elo_k: Elo step size.
        ties: Bradley–Terry tie model (``"half"`` or ``"davidson"``).
    """

    confidence: float = 0.95
    bootstrap_rounds: int = 200
    elo_permutations: int = 50
    seed: int = 0
    elo_k: float = 32.0
    ties: str = "half"

    def __post_init__(self) -> None:
        check_confidence(self.confidence)


@dataclass
class RatingTable:
    """One method's ratings of a set of records, best first.

    Attributes:
        method: The method's key (``"bradley_terry"``, ``"elo"``, ``"openskill"``).
        title: Its name for headers (``"Bradley–Terry"``).
        interval: How ``ci_low``/``ci_high`` were computed, in words.
        confidence: Their coverage.
        ratings: One row per agent.
        extra: Method-level numbers for the JSON (Bradley–Terry's ``tie``, ``rounds``).
        fit: The fitted model, for callers that need more (not serialised).
    """

    method: str
    title: str
    interval: str
    confidence: float
    ratings: list[Rating]
    extra: dict[str, Any] = field(default_factory=dict)
    fit: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "title": self.title,
            "interval": self.interval,
            "confidence": self.confidence,
            "ratings": [r.to_dict() for r in self.ratings],
            **self.extra,
        }


class Rater(Protocol):
    """A rating method as the summary and the report use it.

    A new method is one module with a class that has these members, added to
    :data:`palaestra.arena.ratings.RATERS`.

    Attributes:
        key: The method's key in ``ratings.json`` and ``tables/ratings.csv``.
        title: Its name in table headers.
        many_seats_only: Shown in the terminal table only for games of more than two seats.
    """

    key: str
    title: str
    many_seats_only: bool

    def rate(
        self,
        records: Sequence[EpisodeRecord],
        comps: Sequence[Comparison],
        options: RatingOptions,
    ) -> RatingTable | None:
        """Rate ``records`` (whose pairwise results are ``comps``); ``None`` when the method
        has nothing to rate (e.g. no comparisons between different agents)."""
        ...


def check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def normal_quantile(confidence: float) -> float:
    """``z`` with ``P(|Z| <= z) = confidence`` for a standard normal ``Z`` (1.645 at 0.90)."""
    check_confidence(confidence)
    return float(norm.ppf(0.5 + confidence / 2))


def percentile_interval(samples: Any, confidence: float) -> tuple[Any, Any]:
    """The equal-tailed percentile interval of ``samples`` along axis 0."""
    import numpy as np

    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
    return low, high


def agent_index(comps: Sequence[Comparison]) -> list[str]:
    if not comps:
        raise ValueError("no comparisons to rate: need episodes between two different agents")
    return sorted({c.a for c in comps} | {c.b for c in comps})


def games_played(comps: Sequence[Comparison]) -> dict[str, int]:
    games: dict[str, int] = defaultdict(int)
    for c in comps:
        games[c.a] += 1
        games[c.b] += 1
    return games


def best_first(ratings: list[Rating]) -> list[Rating]:
    return sorted(ratings, key=lambda r: (-r.rating, r.agent))
