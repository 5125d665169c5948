"""OpenSkill: the ``openskill`` package's Plackett–Luce model, which rates whole rankings and
so suits games of more than two seats. Its interval is the normal one, ``mu ± z·σ``, with ``z``
from the configured confidence level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from palaestra.arena.ratings.base import Rating, RatingOptions, RatingTable, normal_quantile
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import Comparison, aborted, seat_returns


@dataclass
class OpenSkillFit:
    """OpenSkill ratings: ``mu`` and ``sigma`` per agent, ``ordinal = mu − 3σ``.

    ``ratings`` holds ``mu`` with the interval ``mu ± z·σ`` (``z`` for the fit's confidence:
    1.960 at 95%, 1.645 at 90%), best ``ordinal`` first.
    ``skipped`` counts episodes left out (one agent in several seats, or aborted).
    """

    model: Any
    players: dict[str, Any]
    ratings: list[Rating]
    skipped: int = 0

    def mu(self, agent: str) -> float:
        return float(self._player(agent).mu)

    def sigma(self, agent: str) -> float:
        return float(self._player(agent).sigma)

    def ordinal(self, agent: str) -> float:
        return float(self._player(agent).ordinal())

    def win_probability(self, a: str, b: str) -> float:
        """Probability that ``a`` finishes ahead of ``b`` (the package's ``predict_win``)."""
        pa, pb = self._player(a), self._player(b)
        return float(self.model.predict_win([[pa], [pb]])[0])

    def _player(self, agent: str):
        try:
            return self.players[agent]
        except KeyError:
            raise ValueError(f"unknown agent {agent!r}; rated: {sorted(self.players)}") from None


@dataclass(frozen=True)
class OpenSkill:
    """The ``openskill`` Plackett–Luce model, rated episode by episode on the returns' ranking.

    Attributes:
        mu: Initial mean skill.
        sigma: Initial uncertainty.
    """

    mu: float = 25.0
    sigma: float = 25.0 / 3.0

    def fit(self, records: Sequence[EpisodeRecord], confidence: float = 0.95) -> OpenSkillFit:
        """Rate ``records`` in order; intervals ``mu ± z·σ`` at ``confidence``."""
        from openskill.models import PlackettLuce

        z = normal_quantile(confidence)
        model = PlackettLuce(mu=self.mu, sigma=self.sigma)
        players: dict[str, object] = {}
        episodes: dict[str, int] = defaultdict(int)
        skipped = 0
        for record in records:
            roles = list(record.seating)
            names = [record.seating[r] for r in roles]
            if aborted(record) or len(set(names)) != len(names) or len(names) < 2:
                skipped += 1
                continue
            for name in names:
                players.setdefault(name, model.rating(name=name))
                episodes[name] += 1
            returns = seat_returns(record)
            scores = [returns[r] for r in roles]
            distinct = sorted(set(scores), reverse=True)
            ranks = [distinct.index(s) for s in scores]
            rated = model.rate([[players[name]] for name in names], ranks=ranks)
            for name, team in zip(names, rated):
                players[name] = team[0]
        rows = [
            Rating(
                name,
                float(p.mu),
                float(p.mu - z * p.sigma),
                float(p.mu + z * p.sigma),
                episodes[name],
                {"sigma": float(p.sigma), "ordinal": float(p.ordinal())},
            )
            for name, p in players.items()
        ]
        rows.sort(key=lambda r: -players[r.agent].ordinal())
        return OpenSkillFit(model, players, rows, skipped)


class OpenSkillRater:
    """:class:`OpenSkill` as a :class:`~palaestra.arena.ratings.base.Rater`."""

    key = "openskill"
    title = "OpenSkill μ"
    many_seats_only = True

    def rate(
        self,
        records: Sequence[EpisodeRecord],
        comps: Sequence[Comparison],
        options: RatingOptions,
    ) -> RatingTable | None:
        fit = OpenSkill().fit(records, options.confidence)
        z = normal_quantile(options.confidence)
        return RatingTable(
            self.key,
            self.title,
            f"Plackett–Luce, episodes in order; mu ± {z:.3f}·sigma (normal)",
            options.confidence,
            fit.ratings,
            {"skipped": fit.skipped},
            fit,
        )
