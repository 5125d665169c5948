"""Online Elo, its order-independent average and a bootstrap confidence interval.

An agent's online Elo depends on when it played whom, so the point estimate is the mean over
random episode orders, and the interval is a percentile bootstrap over episodes
(:meth:`Elo.bootstrap`), at the same confidence level as every other rater.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from palaestra.arena.ratings.base import (
    BASE_RATING,
    Rating,
    RatingOptions,
    RatingTable,
    agent_index,
    best_first,
    check_confidence,
    games_played,
    percentile_interval,
)
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import Comparison


@dataclass(frozen=True)
class Elo:
    """Online Elo.

    Within one episode every comparison is scored against the ratings from before the episode
    and the updates are applied together, so a game of many seats is one update per agent.

    Attributes:
        k: Step size (points moved by a fully unexpected result is ``k``).
        initial: Starting rating.
        scale: Points for 10:1 odds (400 in chess).
    """

    k: float = 32.0
    initial: float = BASE_RATING
    scale: float = 400.0

    def __post_init__(self) -> None:
        if self.k <= 0 or self.scale <= 0:
            raise ValueError(f"Elo needs k > 0 and scale > 0, got k={self.k}, scale={self.scale}")

    def expected(self, ra: float, rb: float) -> float:
        """Expected score of a player rated ``ra`` against one rated ``rb``."""
        return 1.0 / (1.0 + 10.0 ** ((rb - ra) / self.scale))

    def fit(self, comps: Sequence[Comparison], order: Sequence[int] | None = None) -> list[Rating]:
        """Ratings after playing ``comps`` episode by episode.

        Args:
            comps: Pairwise results.
            order: Episode indices in the order to play them (default: as they come).
        """
        agents = agent_index(comps)
        ratings = self._run(comps, agents, order)
        games = games_played(comps)
        return best_first(
            [Rating(a, float(ratings[i]), games=games[a]) for i, a in enumerate(agents)]
        )

    def fit_permutations(
        self, comps: Sequence[Comparison], rounds: int = 100, seed: int = 0
    ) -> list[Rating]:
        """Elo averaged over ``rounds`` random episode orders (seeded): the order-independent
        point estimate. No interval: see :meth:`bootstrap`."""
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        agents = agent_index(comps)
        episodes = np.array(sorted({c.episode for c in comps}), dtype=int)
        rng = np.random.default_rng(seed)
        runs = np.array(
            [self._run(comps, agents, rng.permutation(episodes)) for _ in range(rounds)]
        )
        games = games_played(comps)
        mean = runs.mean(axis=0)
        return best_first([Rating(a, float(mean[i]), games=games[a]) for i, a in enumerate(agents)])

    def bootstrap(
        self,
        comps: Sequence[Comparison],
        rounds: int = 200,
        seed: int = 0,
        confidence: float = 0.95,
        permutations: int = 50,
    ) -> list[Rating]:
        """The :meth:`fit_permutations` estimate with a percentile bootstrap confidence interval.

        Each of ``rounds`` rounds draws the episodes with replacement (the comparisons of one
        many-seat episode stay together) and plays the draw online in a random order; the
        interval is the ``confidence`` percentile range of an agent's rating over the rounds.
        It covers both the sampling of episodes and the order the online update sees them in.
        """
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        check_confidence(confidence)
        point = {r.agent: r for r in self.fit_permutations(comps, permutations, seed)}
        agents = agent_index(comps)
        episodes = np.array(sorted({c.episode for c in comps}), dtype=int)
        rng = np.random.default_rng([seed, 1])  # apart from the permutations' stream
        runs = np.array(
            [
                self._run(comps, agents, rng.choice(episodes, size=episodes.size, replace=True))
                for _ in range(rounds)
            ]
        )
        low, high = percentile_interval(runs, confidence)
        return best_first(
            [
                Rating(a, point[a].rating, float(low[i]), float(high[i]), point[a].games)
                for i, a in enumerate(agents)
            ]
        )

    def history(
        self, comps: Sequence[Comparison], order: Sequence[int] | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Online ratings after each episode: the agents and a ``(episodes + 1, agents)`` array.

        Row 0 is the starting rating; row ``t`` the ratings after the ``t``-th episode of
        ``order`` (default: as the episodes come).
        """
        agents = agent_index(comps)
        rows: list[list[float]] = []
        self._run(comps, agents, order, rows)
        return agents, np.array(rows)

    def _run(
        self,
        comps: Sequence[Comparison],
        agents: list[str],
        order: Sequence[int] | None,
        history: list[list[float]] | None = None,
    ) -> np.ndarray:
        pos = {a: i for i, a in enumerate(agents)}
        by_episode: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
        for c in comps:
            by_episode[c.episode].append((pos[c.a], pos[c.b], c.score))
        if order is None:
            order = list(by_episode)
        # plain floats: this loop runs once per episode and order, numpy scalars would be slow
        ratings = [float(self.initial)] * len(agents)
        k, scale = self.k, self.scale
        if history is not None:
            history.append(list(ratings))
        for episode in order:
            games = by_episode.get(int(episode), ())
            if len(games) == 1:
                ((i, j, score),) = games
                change = k * (score - 1.0 / (1.0 + 10.0 ** ((ratings[j] - ratings[i]) / scale)))
                ratings[i] += change
                ratings[j] -= change
            else:
                delta: dict[int, float] = defaultdict(float)
                for i, j, score in games:
                    change = k * (score - 1.0 / (1.0 + 10.0 ** ((ratings[j] - ratings[i]) / scale)))
                    delta[i] += change
                    delta[j] -= change
                for i, change in delta.items():
                    ratings[i] += change
            if history is not None:
                history.append(list(ratings))
        return np.array(ratings)


class EloRater:
    """:class:`Elo` as a :class:`~palaestra.arena.ratings.base.Rater`."""

    key = "elo"
    title = "Elo"
    many_seats_only = False

    def rate(
        self,
        records: Sequence[EpisodeRecord],
        comps: Sequence[Comparison],
        options: RatingOptions,
    ) -> RatingTable | None:
        if not comps:
            return None
        rows = Elo(k=options.elo_k).bootstrap(
            comps,
            options.bootstrap_rounds,
            options.seed,
            options.confidence,
            options.elo_permutations,
        )
        return RatingTable(
            self.key,
            self.title,
            f"mean over {options.elo_permutations} episode orders; percentile bootstrap over "
            f"episodes ({options.bootstrap_rounds} rounds, each in a random order)",
            options.confidence,
            rows,
            {"rounds": options.bootstrap_rounds, "k": options.elo_k},
        )
