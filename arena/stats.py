"""Outcomes and plain statistics of episode records: who won, W/D/L, mean rewards, clemscore.

Everything here reads :class:`~palaestra.arena.records.EpisodeRecord` lists and nothing else,
so it works the same on a live run and on an ``episodes.jsonl`` read back from disk.

Outcomes come from the returns: within one episode a seat beats another when its return is
higher, and ties when it is equal. General-sum games (negotiation) are judged the same way:
"who scored more" is the question a head-to-head table answers; the mean-reward table keeps the
real payoffs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats as scipy_stats

from palaestra.arena.records import EpisodeRecord

ALL_ROLES = "*"
"""The ``role`` of a reward row that pools every role the agent played."""

CI_METHODS = ("t", "bootstrap")


# -- one episode --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """Who won one episode, judged by the returns.

    Attributes:
        scores: role -> the share of the other seats this seat beat (a tie counts one half):
            1 for the winner of a two-player game, 0.5 for a draw, 0 for the loser.
        ranks: role -> 0 for the best return, 1 for the next distinct return, and so on
            (equal returns share a rank).
        winners: The roles with the highest return (all roles on a draw).
        draw: Whether every seat got the same return.
    """

    scores: dict[str, float]
    ranks: dict[str, int]
    winners: tuple[str, ...]
    draw: bool


def seat_returns(record: EpisodeRecord) -> dict[str, float]:
    """role -> return for every seated role of ``record``.

    Raises:
        ValueError: If a seated role has no return.
    """
    missing = [role for role in record.seating if role not in record.returns]
    if missing:
        raise ValueError(
            f"episode {record.episode_id!r}: no return for roles {missing}; "
            f"returns has {sorted(record.returns)}"
        )
    return {role: float(record.returns[role]) for role in record.seating}


def outcome(record: EpisodeRecord) -> Outcome:
    """The :class:`Outcome` of ``record`` from its returns.

    Raises:
        ValueError: If a seated role has no return.
    """
    returns = seat_returns(record)
    distinct = sorted(set(returns.values()), reverse=True)
    ranks = {role: distinct.index(value) for role, value in returns.items()}
    n = len(returns)
    scores = {}
    for role, mine in returns.items():
        beaten = sum(1.0 if mine > v else 0.5 if mine == v else 0.0 for v in returns.values())
        beaten -= 0.5  # the seat itself counted as a tie
        scores[role] = beaten / (n - 1) if n > 1 else 0.5
    best = distinct[0] if distinct else 0.0
    winners = tuple(role for role, value in returns.items() if value == best)
    return Outcome(scores=scores, ranks=ranks, winners=winners, draw=len(distinct) <= 1)


def aborted(record: EpisodeRecord) -> bool:
    """Whether the run gave up on this episode (``meta["aborted"]`` or an ``aborted`` outcome)."""
    return bool(record.meta.get("aborted")) or record.outcome.lower().startswith("abort")


def failed_roles(record: EpisodeRecord) -> set[str]:
    """Roles whose agent failed (raised, timed out, endpoint error) or forfeited by a bad move."""
    roles = {e.get("role", "") for e in record.errors}
    if record.outcome.startswith("forfeit by "):
        roles.add(record.outcome[len("forfeit by ") :].split(":", 1)[0].strip())
    return roles & set(record.seating)


def played(record: EpisodeRecord, agent: str) -> bool:
    """Whether ``agent`` played ``record`` out: no abort, and none of its seats failed.

    This is clembench's "played" (not Aborted): an invalid move that the game forgave under
    the ``retry`` or ``penalty`` policy still counts as played.
    """
    if aborted(record):
        return False
    return not any(record.seating[role] == agent for role in failed_roles(record))


@dataclass(frozen=True)
class Comparison:
    """One pairwise result inside an episode, between two different agents.

    Attributes:
        episode: Index of the episode in the list the comparison was made from (bootstrap
            resamples whole episodes through it).
        game: The episode's env id.
        a: First agent.
        b: Second agent.
        score: 1 if ``a`` scored more than ``b``, 0.5 on equal returns, 0 if ``b`` scored more.
    """

    episode: int
    game: str
    a: str
    b: str
    score: float


def comparisons(records: Sequence[EpisodeRecord]) -> list[Comparison]:
    """Every pair of seats held by different agents in every episode, as :class:`Comparison`.

    A two-player episode gives one comparison; a game of ``n`` seats gives ``n(n-1)/2`` (the
    usual pairwise reduction of a ranking). Seats of the same agent are not compared: self-play
    says nothing about relative strength. Aborted episodes are skipped.
    """
    out = []
    for index, record in enumerate(records):
        if aborted(record):
            continue
        returns = seat_returns(record)
        roles = list(record.seating)
        for i, ra in enumerate(roles):
            for rb in roles[i + 1 :]:
                a, b = record.seating[ra], record.seating[rb]
                if a == b:
                    continue
                ya, yb = returns[ra], returns[rb]
                score = 1.0 if ya > yb else 0.5 if ya == yb else 0.0
                out.append(Comparison(index, record.env_id, a, b, score))
    return out


def agents_of(records: Iterable[EpisodeRecord]) -> list[str]:
    """The agent names seated in ``records``, sorted."""
    return sorted({agent for r in records for agent in r.seating.values()})


def games_of(records: Iterable[EpisodeRecord]) -> list[str]:
    """The env ids in ``records``, sorted."""
    return sorted({r.env_id for r in records})


# -- estimates ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A mean with a confidence interval (``low``/``high`` are NaN below two values)."""

    mean: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def mean_ci(
    values: Sequence[float],
    confidence: float = 0.95,
    method: str = "t",
    *,
    rounds: int = 1000,
    seed: int = 0,
) -> Estimate:
    """The mean of ``values`` with a two-sided confidence interval.

    Args:
        values: The sample.
        confidence: Coverage of the interval, in (0, 1).
        method: ``"t"`` (Student t on the standard error) or ``"bootstrap"`` (percentile
            interval of ``rounds`` resampled means, from a generator seeded with ``seed``).
        rounds: Bootstrap resamples.
        seed: Bootstrap seed.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; expected one of {CI_METHODS}")
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n)
    if method == "t":
        sem = float(x.std(ddof=1)) / math.sqrt(n)
        half = float(scipy_stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sem
        return Estimate(mean, mean - half, mean + half, n)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, n, size=(rounds, n))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(mean, float(low), float(high), n)


# -- repeated items -----------------------------------------------------------------------------
def _clusters(values: Sequence[float], items: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    """Per-item sums and counts, items in order of first appearance."""
    if len(values) != len(items):
        raise ValueError(f"{len(values)} values but {len(items)} item ids; need one per value")
    index: dict[object, int] = {}
    for item in items:
        index.setdefault(item, len(index))
    codes = np.array([index[i] for i in items], dtype=np.int64)
    x = np.asarray(values, dtype=float)
    sums = np.bincount(codes, weights=x, minlength=len(index))
    counts = np.bincount(codes, minlength=len(index)).astype(float)
    return sums, counts


def cluster_bootstrap_ci(
    values: Sequence[float],
    items: Sequence[object],
    confidence: float = 0.95,
    *,
    rounds: int = 2000,
    seed: int = 0,
) -> Estimate:
    """The mean of ``values`` with a percentile bootstrap interval that resamples items.

    When several values come from the same item (the same quiz question asked on several
    seeds, the same deal played from both seats), they are not independent, and resampling
    values one by one understates the spread: the interval behaves as if there were more
    distinct items than there are. Resampling whole items with replacement (the cluster
    bootstrap; Davison & Hinkley 1997, *Bootstrap Methods and their Application*, §3.8) keeps
    each item's values together; the statistic of a resample is the mean over every value of
    the drawn items. With every item distinct it is exactly :func:`mean_ci`'s bootstrap
    (same ``rounds`` and ``seed``: the same draws).

    Args:
        values: One value per observation.
        items: The item id of each observation (any hashable).
        confidence: Coverage of the interval, in (0, 1).
        rounds: Bootstrap resamples.
        seed: Seed of the resampling generator.

    Returns:
        An :class:`Estimate` whose ``n`` counts observations; ``low``/``high`` are NaN with
        fewer than two distinct items.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    sums, counts = _clusters(values, items)
    n = int(counts.sum())
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(sums.sum() / n)
    g = len(sums)
    if g < 2:
        return Estimate(mean, math.nan, math.nan, n)
    draws = np.random.default_rng(seed).integers(0, g, size=(rounds, g))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(mean, float(low), float(high), n)


def design_effect(values: Sequence[float], items: Sequence[object]) -> float:
    """How much repeated items inflate the variance of the mean (Kish's design effect).

    The ratio of the cluster-robust variance of the mean,
    ``G / (G - 1) * sum_g (S_g - mean * n_g)**2 / n**2`` over ``G`` items with sums ``S_g``
    and counts ``n_g``, to the variance it would have if all ``n`` values were independent,
    ``s**2 / n``. ``n / design_effect`` is the effective number of independent observations.
    It is 1 when every item is distinct (the two variances are then equal), and it is never
    reported below 1 (clustering is not allowed to make an interval narrower). When the values
    do not vary (every answer wrong, every game a draw) there is nothing to estimate it from,
    and it is ``n / G``: the worst case, every item counting once (its values all alike).
    """
    sums, counts = _clusters(values, items)
    n, g = float(counts.sum()), len(sums)
    if n < 2:
        return 1.0
    x = np.asarray(values, dtype=float)
    naive = float(x.var(ddof=1)) / n
    if naive <= 0 or g < 2:
        return n / g
    mean = float(x.mean())
    robust = g / (g - 1) * float(((sums - mean * counts) ** 2).sum()) / n**2
    return max(1.0, robust / naive)


# -- tables -------------------------------------------------------------------------------------
@dataclass
class HeadToHead:
    """Win/draw/loss counts between every pair of agents.

    ``wins[i, j]`` is how often ``agents[i]`` scored more than ``agents[j]``; ``losses`` is the
    transpose of ``wins``; ``draws`` is symmetric. Counts are pairwise comparisons (one per
    episode in two-player games).
    """

    agents: list[str]
    wins: np.ndarray
    draws: np.ndarray

    @property
    def losses(self) -> np.ndarray:
        return self.wins.T.copy()

    @property
    def games(self) -> np.ndarray:
        return self.wins + self.wins.T + self.draws

    def index(self, agent: str) -> int:
        try:
            return self.agents.index(agent)
        except ValueError:
            raise ValueError(f"unknown agent {agent!r}; known: {self.agents}") from None

    def record(self, a: str, b: str) -> tuple[int, int, int]:
        """``(wins, draws, losses)`` of ``a`` against ``b``."""
        i, j = self.index(a), self.index(b)
        return int(self.wins[i, j]), int(self.draws[i, j]), int(self.wins[j, i])

    def score_rate(self, a: str, b: str) -> float:
        """``a``'s share of points against ``b`` (a draw counts one half); NaN if they never met."""
        w, d, lost = self.record(a, b)
        n = w + d + lost
        return (w + 0.5 * d) / n if n else math.nan

    def totals(self, agent: str) -> tuple[int, int, int]:
        """``(wins, draws, losses)`` of ``agent`` against everyone."""
        i = self.index(agent)
        return int(self.wins[i].sum()), int(self.draws[i].sum()), int(self.wins[:, i].sum())

    def to_dict(self) -> dict[str, object]:
        return {
            "agents": list(self.agents),
            "wins": self.wins.astype(int).tolist(),
            "draws": self.draws.astype(int).tolist(),
            "losses": self.losses.astype(int).tolist(),
        }


def head_to_head(
    records: Sequence[EpisodeRecord], agents: Sequence[str] | None = None
) -> HeadToHead:
    """The :class:`HeadToHead` table of ``records`` (pairwise, see :func:`comparisons`)."""
    names = list(agents) if agents is not None else agents_of(records)
    pos = {name: i for i, name in enumerate(names)}
    wins = np.zeros((len(names), len(names)), dtype=int)
    draws = np.zeros_like(wins)
    for c in comparisons(records):
        i, j = pos[c.a], pos[c.b]
        if c.score == 1.0:
            wins[i, j] += 1
        elif c.score == 0.0:
            wins[j, i] += 1
        else:
            draws[i, j] += 1
            draws[j, i] += 1
    return HeadToHead(names, wins, draws)


@dataclass(frozen=True)
class RewardRow:
    """Mean return of one agent in one role of one game (``role == "*"``: all its roles)."""

    game: str
    agent: str
    role: str
    estimate: Estimate

    def to_dict(self) -> dict[str, object]:
        return {
            "game": self.game,
            "agent": self.agent,
            "role": self.role,
            **self.estimate.to_dict(),
        }


def reward_table(
    records: Sequence[EpisodeRecord], confidence: float = 0.95, method: str = "t", seed: int = 0
) -> list[RewardRow]:
    """Mean return with a CI per (game, agent, role), and per (game, agent) over all roles.

    Aborted episodes are left out; forfeits keep the return the game gave them.
    """
    samples: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for record in records:
        if aborted(record):
            continue
        for role, agent in record.seating.items():
            value = float(record.returns.get(role, 0.0))
            samples[(record.env_id, agent, role)].append(value)
            samples[(record.env_id, agent, ALL_ROLES)].append(value)
    return [
        RewardRow(game, agent, role, mean_ci(values, confidence, method, seed=seed))
        for (game, agent, role), values in sorted(samples.items())
    ]


@dataclass(frozen=True)
class ClemRow:
    """clembench-style columns for one agent in one game (see "Tables" in docs/arena.md).

    Attributes:
        game: Env id.
        agent: Agent name.
        episodes: Episodes the agent sat in.
        played: Percent of those played out (no abort, no failure or forfeit of the agent).
        quality: Mean over played episodes of 100 × the agent's outcome score (100 win,
            50 draw, 0 loss; the share of seats beaten in games of more players).
        clemscore: ``played × quality / 100``, in [0, 100].
    """

    game: str
    agent: str
    episodes: int
    played: float
    quality: float
    clemscore: float

    def to_dict(self) -> dict[str, object]:
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def clem_table(records: Sequence[EpisodeRecord]) -> list[ClemRow]:
    """:class:`ClemRow` per (game, agent) of ``records``."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    quality: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record in records:
        result = None if aborted(record) else outcome(record)
        for agent in set(record.seating.values()):
            key = (record.env_id, agent)
            seen[key] += 1
            if result is not None and played(record, agent):
                mine = [s for role, s in result.scores.items() if record.seating[role] == agent]
                quality[key].append(100.0 * sum(mine) / len(mine))
    rows = []
    for (game, agent), n in sorted(seen.items()):
        q = quality[(game, agent)]
        pct = 100.0 * len(q) / n
        mean_q = float(np.mean(q)) if q else math.nan
        clem = pct * mean_q / 100.0 if q else 0.0
        rows.append(ClemRow(game, agent, n, pct, mean_q, clem))
    return rows


def clem_overall(rows: Sequence[ClemRow]) -> list[ClemRow]:
    """Macro averages over games, as clembench reports them (``game == "*"``).

    ``played`` and ``quality`` are the means of the per-game values (each game weighs the
    same, whatever its episode count), and ``clemscore = played × quality / 100``.
    """
    by_agent: dict[str, list[ClemRow]] = defaultdict(list)
    for row in rows:
        by_agent[row.agent].append(row)
    out = []
    for agent, mine in sorted(by_agent.items()):
        pct = float(np.mean([r.played for r in mine]))
        qualities = [r.quality for r in mine if not math.isnan(r.quality)]
        quality = float(np.mean(qualities)) if qualities else math.nan
        clem = pct * quality / 100.0 if qualities else 0.0
        out.append(ClemRow(ALL_ROLES, agent, sum(r.episodes for r in mine), pct, quality, clem))
    return out


@dataclass
class AgentCounts:
    """Episode-level tallies of one agent (used by the terminal table)."""

    episodes: int = 0
    invalid_moves: int = 0
    errors: int = 0
    tokens: float = 0.0
    seconds: float = 0.0
    roles: set[str] = field(default_factory=set)


def agent_counts(records: Sequence[EpisodeRecord]) -> dict[str, AgentCounts]:
    """Per agent: episodes, invalid moves, agent errors, generated tokens and seconds."""
    out: dict[str, AgentCounts] = defaultdict(AgentCounts)
    for record in records:
        for agent in set(record.seating.values()):
            out[agent].episodes += 1
        for role, agent in record.seating.items():
            out[agent].roles.add(role)
            out[agent].invalid_moves += int(record.invalid_moves.get(role, 0))
        for error in record.errors:
            agent = error.get("agent") or record.seating.get(error.get("role", ""), "")
            if agent:
                out[agent].errors += 1
        for agent, s in record.stats.items():
            out[agent].tokens += float(s.get("tokens", 0.0))
            out[agent].seconds += float(s.get("seconds", 0.0))
    return dict(out)
