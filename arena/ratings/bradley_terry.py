"""Bradley–Terry with bootstrap confidence intervals, as Chatbot Arena reports it.

The maximum-likelihood fit of ``P(a beats b) = σ(θa − θb)`` on the Elo scale (``400 / ln 10``
points per unit of θ, 1000 on average or at a named anchor agent), with percentile confidence
intervals from refits on episodes resampled with replacement. Draws count as half a win each
way, or are modelled with Davidson's tie parameter. Every random choice comes from a ``numpy``
generator seeded by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from palaestra.arena.ratings.base import (
    BASE_RATING,
    ELO_SCALE,
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

TIE_MODELS = ("half", "davidson")


@dataclass(frozen=True)
class PairCounts:
    """Outcomes aggregated per unordered pair: ``i[k] < j[k]`` index into ``agents``."""

    agents: list[str]
    i: np.ndarray
    j: np.ndarray
    wins: np.ndarray  # i beat j
    losses: np.ndarray  # j beat i
    ties: np.ndarray


class _PairTable:
    """Comparisons indexed once, so each bootstrap round only re-weights them."""

    def __init__(self, comps: Sequence[Comparison], agents: list[str]) -> None:
        pos = {a: n for n, a in enumerate(agents)}
        first = np.array([pos[c.a] for c in comps], dtype=int)
        second = np.array([pos[c.b] for c in comps], dtype=int)
        score = np.array([c.score for c in comps], dtype=float)
        swap = first > second
        low, high = np.where(swap, second, first), np.where(swap, first, second)
        score = np.where(swap, 1.0 - score, score)
        # column: 0 low agent won, 1 high agent won, 2 tie
        self.column = np.where(score == 1.0, 0, np.where(score == 0.0, 1, 2))
        keys = low * max(len(agents), 1) + high
        unique, self.pair = np.unique(keys, return_inverse=True)
        self.agents = agents
        self.i = unique // max(len(agents), 1)
        self.j = unique % max(len(agents), 1)
        self.episode = np.array([c.episode for c in comps], dtype=int)

    def counts(self, episode_weights: np.ndarray | None = None) -> PairCounts:
        w = None if episode_weights is None else episode_weights[self.episode]
        flat = np.bincount(
            self.pair * 3 + self.column, weights=w, minlength=3 * len(self.i)
        ).reshape(-1, 3)
        return PairCounts(self.agents, self.i, self.j, flat[:, 0], flat[:, 1], flat[:, 2])


@dataclass(frozen=True)
class WinProbability:
    """Predicted outcome of one episode between two agents."""

    win: float
    draw: float
    loss: float


@dataclass
class BradleyTerryFit:
    """A fitted Bradley–Terry model.

    Attributes:
        agents: Agent names, in the order of ``strength``.
        strength: Natural-log strengths θ (``P(a beats b) = σ(θa − θb)`` with half-win ties).
        ratings: The strengths on the Elo scale, one :class:`Rating` per agent, best first.
        tie: Davidson's ν (0 when ties count as half wins).
        samples: Bootstrap strengths, ``(rounds, agents)``, or ``None`` without a bootstrap.
    """

    agents: list[str]
    strength: np.ndarray
    ratings: list[Rating]
    tie: float = 0.0
    samples: np.ndarray | None = None

    def rating(self, agent: str) -> Rating:
        for r in self.ratings:
            if r.agent == agent:
                return r
        raise ValueError(f"unknown agent {agent!r}; rated: {self.agents}")

    def win_probability(self, a: str, b: str) -> WinProbability:
        """Predicted win/draw/loss probabilities of ``a`` against ``b``.

        Under half-win ties the model predicts no draws: ``win`` is then ``a``'s expected score.
        """
        d = float(self.strength[self._index(a)] - self.strength[self._index(b)])
        p = _outcome_probabilities(d, self.tie)
        return WinProbability(float(p.win), float(p.draw), float(p.loss))

    def win_probability_interval(
        self, a: str, b: str, confidence: float = 0.95
    ) -> tuple[float, float]:
        """Percentile interval of ``win_probability(a, b).win`` over the bootstrap samples."""
        if self.samples is None:
            raise ValueError("this fit has no bootstrap samples; use BradleyTerry.bootstrap")
        check_confidence(confidence)
        d = self.samples[:, self._index(a)] - self.samples[:, self._index(b)]
        p = _outcome_probabilities(d, self.tie).win
        low, high = percentile_interval(p, confidence)
        return float(low), float(high)

    def _index(self, agent: str) -> int:
        try:
            return self.agents.index(agent)
        except ValueError:
            raise ValueError(f"unknown agent {agent!r}; rated: {self.agents}") from None


def _outcome_probabilities(d: float | np.ndarray, tie: float) -> WinProbability:
    """Win/draw/loss at strength gap ``d`` (elementwise for an array of gaps)."""
    if tie <= 0.0:
        p = expit(d)
        return WinProbability(p, 0.0 * p, 1.0 - p)
    up, down = np.exp(d / 2), np.exp(-d / 2)
    z = up + down + tie
    return WinProbability(up / z, tie / z, down / z)


@dataclass(frozen=True)
class BradleyTerry:
    """Bradley–Terry by maximum likelihood (scipy L-BFGS with exact gradients).

    Attributes:
        ties: ``"half"``: a draw is half a win for each side (Chatbot Arena's choice);
            ``"davidson"``: draws have their own probability ``ν√(πaπb) / (πa + πb + ν√(πaπb))``
            with ν fitted too.
        l2: Ridge penalty ``l2/2 · Σθ²``: keeps an agent that never lost (or never won) finite.
            Its pull fades as games accumulate; 0 gives the plain MLE.
        anchor: The rating of ``anchor_agent``, or the mean rating when that is ``None``.
        anchor_agent: Agent pinned at ``anchor`` (Chatbot Arena pins one model).
        scale: Rating points per unit of θ (``400 / ln 10``: the Elo scale).
    """

    ties: str = "half"
    l2: float = 0.01
    anchor: float = BASE_RATING
    anchor_agent: str | None = None
    scale: float = ELO_SCALE

    def __post_init__(self) -> None:
        if self.ties not in TIE_MODELS:
            raise ValueError(f"unknown tie model {self.ties!r}; expected one of {TIE_MODELS}")
        if self.l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {self.l2}")

    def fit(self, comps: Sequence[Comparison]) -> BradleyTerryFit:
        """Fit on all of ``comps``."""
        agents = agent_index(comps)
        theta, tie = self._fit_counts(_PairTable(comps, agents).counts(), None)
        return self._result(comps, agents, theta, tie, None, 0.95)

    def bootstrap(
        self,
        comps: Sequence[Comparison],
        rounds: int = 200,
        seed: int = 0,
        confidence: float = 0.95,
    ) -> BradleyTerryFit:
        """Fit, plus percentile intervals from ``rounds`` refits on resampled episodes.

        Episodes (not single comparisons) are drawn with replacement, so the comparisons of
        one many-seat episode stay together.
        """
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        check_confidence(confidence)
        agents = agent_index(comps)
        table = _PairTable(comps, agents)
        theta, tie = self._fit_counts(table.counts(), None)
        episodes = np.array(sorted({c.episode for c in comps}), dtype=int)
        rng = np.random.default_rng(seed)
        size = int(episodes.max()) + 1 if episodes.size else 0
        samples = np.empty((rounds, len(agents)))
        for r in range(rounds):
            weights = np.zeros(size)
            np.add.at(weights, rng.choice(episodes, size=episodes.size, replace=True), 1.0)
            start = np.append(theta, math.log(tie)) if tie > 0 else theta
            samples[r], _ = self._fit_counts(table.counts(weights), start)
        return self._result(comps, agents, theta, tie, samples, confidence)

    # The scale is fixed by a sum-to-zero penalty ((Σθ)²/2), which does not change the
    # likelihood (it only sees differences), so even with l2 = 0 the optimum is unique.
    def _fit_counts(self, pc: PairCounts, start: np.ndarray | None) -> tuple[np.ndarray, float]:
        n = len(pc.agents)
        # no draws to fit ν on: Davidson's model is then plain Bradley–Terry (ν → 0)
        fit_tie = self.ties == "davidson" and pc.ties.sum() > 0
        if start is None:
            start = np.append(np.zeros(n), math.log(0.5)) if fit_tie else np.zeros(n)
        objective = _Likelihood(pc, self.l2, fit_tie)
        # the objective is convex with an exact Hessian: a few trust-region Newton steps
        res = minimize(
            objective.value_grad,
            start[: n + 1 if fit_tie else n],
            jac=True,
            hess=objective.hessian,
            method="trust-exact",
            options={"gtol": 1e-8, "maxiter": 200},
        )
        theta = res.x[:n]
        tie = float(math.exp(res.x[n])) if fit_tie else 0.0
        return theta - theta.mean(), tie

    def _result(
        self,
        comps: Sequence[Comparison],
        agents: list[str],
        theta: np.ndarray,
        tie: float,
        samples: np.ndarray | None,
        confidence: float,
    ) -> BradleyTerryFit:
        if self.anchor_agent is not None and self.anchor_agent not in agents:
            raise ValueError(
                f"anchor agent {self.anchor_agent!r} is not among the rated agents {agents}"
            )

        def to_points(t: np.ndarray) -> np.ndarray:
            if self.anchor_agent is None:
                ref = t.mean(-1, keepdims=True)
            else:
                ref = t[..., agents.index(self.anchor_agent), None]
            return self.anchor + self.scale * (t - ref)

        points = to_points(theta)
        games = games_played(comps)
        if samples is not None:
            low, high = percentile_interval(to_points(samples), confidence)
        else:
            low = high = np.full(len(agents), math.nan)
        ratings = [
            Rating(a, float(points[k]), float(low[k]), float(high[k]), games[a])
            for k, a in enumerate(agents)
        ]
        return BradleyTerryFit(agents, theta, best_first(ratings), tie, samples)


class _Likelihood:
    """Penalised negative log-likelihood of Bradley–Terry (or Davidson) with its derivatives.

    ``x`` is θ (one strength per agent), followed by η = log ν when the tie parameter is fitted.
    The likelihood sees only differences of θ, so ``(Σθ)²/2`` is added: it picks the sum-zero
    optimum without moving it, and keeps the optimum unique even with ``l2 = 0``.
    """

    def __init__(self, pc: PairCounts, l2: float, fit_tie: bool) -> None:
        self.pc, self.l2, self.fit_tie = pc, l2, fit_tie
        self.n = len(pc.agents)
        self.total = pc.wins + pc.losses + pc.ties

    def _pairs(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """NLL and, per pair, dNLL/dd, d²NLL/dd², and (Davidson) dNLL/dη, d²NLL/dd dη, d²/dη²."""
        pc = self.pc
        d = x[pc.i] - x[pc.j]
        if not self.fit_tie:
            wins, losses = pc.wins + 0.5 * pc.ties, pc.losses + 0.5 * pc.ties
            p = expit(d)
            nll = -(wins * log_expit(d) + losses * log_expit(-d)).sum()
            zero = np.zeros_like(d)
            return (
                nll,
                -(wins - self.total * p),
                self.total * p * (1 - p),
                zero,
                np.stack([zero, zero]),
            )
        # Davidson: P(win, loss, tie) ∝ (e^{d/2}, e^{-d/2}, ν); log Z is a log-sum-exp
        eta = x[self.n]
        log_z = np.logaddexp(np.logaddexp(d / 2, -d / 2), eta)
        p_win, p_loss, p_tie = np.exp(d / 2 - log_z), np.exp(-d / 2 - log_z), np.exp(eta - log_z)
        nll = -(pc.wins * d / 2 - pc.losses * d / 2 + pc.ties * eta - self.total * log_z).sum()
        mean_d = (p_win - p_loss) / 2
        g_d = -((pc.wins - pc.losses) / 2 - self.total * mean_d)
        h_dd = self.total * ((p_win + p_loss) / 4 - mean_d**2)
        g_eta = -(pc.ties - self.total * p_tie)
        h_d_eta = -self.total * mean_d * p_tie
        h_eta = self.total * (p_tie - p_tie**2)
        return nll, g_d, h_dd, g_eta, np.stack([h_d_eta, h_eta])

    def value_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        nll, g_d, _, g_eta, _ = self._pairs(x)
        theta = x[: self.n]
        grad = np.zeros_like(x)
        np.add.at(grad, self.pc.i, g_d)
        np.subtract.at(grad, self.pc.j, g_d)
        if self.fit_tie:
            grad[self.n] = g_eta.sum()
        total = theta.sum()
        grad[: self.n] += self.l2 * theta + total
        return float(nll + 0.5 * self.l2 * (theta @ theta) + 0.5 * total**2), grad

    def hessian(self, x: np.ndarray) -> np.ndarray:
        _, _, h_dd, _, (h_d_eta, h_eta) = self._pairs(x)
        i, j, n = self.pc.i, self.pc.j, self.n
        hess = np.zeros((x.size, x.size))
        np.add.at(hess, (i, i), h_dd)
        np.add.at(hess, (j, j), h_dd)
        np.subtract.at(hess, (i, j), h_dd)
        np.subtract.at(hess, (j, i), h_dd)
        hess[:n, :n] += self.l2 * np.eye(n) + 1.0
        if self.fit_tie:
            cross = np.zeros(n)
            np.add.at(cross, i, h_d_eta)
            np.subtract.at(cross, j, h_d_eta)
            hess[:n, n] = hess[n, :n] = cross
            hess[n, n] = h_eta.sum()
        return hess


class BradleyTerryRater:
    """:class:`BradleyTerry` (bootstrapped) as a :class:`~palaestra.arena.ratings.base.Rater`."""

    key = "bradley_terry"
    title = "Bradley–Terry"
    many_seats_only = False

    def rate(
        self,
        records: Sequence[EpisodeRecord],
        comps: Sequence[Comparison],
        options: RatingOptions,
    ) -> RatingTable | None:
        if not comps:
            return None
        fit = BradleyTerry(ties=options.ties).bootstrap(
            comps, options.bootstrap_rounds, options.seed, options.confidence
        )
        return RatingTable(
            self.key,
            self.title,
            f"maximum likelihood; percentile bootstrap over episodes "
            f"({options.bootstrap_rounds} refits)",
            options.confidence,
            fit.ratings,
            {"tie": fit.tie, "rounds": options.bootstrap_rounds},
            fit,
        )
