"""The opponent league and prioritised fictitious self-play (PFSP).

Members are named by spec: agent specs (``scripted:negotiation/fair``), ``self`` (the current
policy in every seat), ``initial`` (the policy before training) and ``snapshot:<step>``
(a frozen past checkpoint), and ``best-response`` in the games that have exact evaluation
(Kuhn, Leduc): the exact best response to the policy's current strategy, read off the model at
every information state and rebuilt every ``league.best_response_every`` steps. Playing it is
exploitability descent (Lockhart et al. 2019): by Danskin's theorem the policy gradient
against a fixed best response is the gradient of the policy's worst-case value, and it makes
the mistakes a best responder punishes loud (NFSP's best-response half, Heinrich and Silver
2016, computed exactly instead of learned).

The league keeps the policy's results against each member and draws opponents by PFSP
(Vinyals et al. 2019, AlphaStar): with ``x`` the policy's win rate against a member (wins +
half the draws, smoothed by ``prior_games`` pseudo-games at 0.5), the member's weight is
``(1 - x) ** power``: opponents the policy still loses to are drawn more often, beaten ones
rarely. ``self`` is a mirror match, its win rate fixed at 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SELF = "self"
INITIAL = "initial"
BEST_RESPONSE = "best-response"
SNAPSHOTS = "snapshots"
SNAPSHOT_PREFIX = "snapshot:"


@dataclass
class Record:
    """The policy's results against one member."""

    games: float = 0.0
    score: float = 0.0  # wins + 0.5 * draws


@dataclass
class League:
    """Opponents, results, and PFSP sampling.

    Args:
        sampling: ``"pfsp"`` or ``"uniform"``.
        power: PFSP exponent.
        prior_games: Pseudo-games at win rate 0.5 before any real result.
        max_snapshots: Snapshots kept; the oldest leave first.
    """

    sampling: str = "pfsp"
    power: float = 1.0
    prior_games: float = 2.0
    max_snapshots: int = 4
    records: dict[str, Record] = field(default_factory=dict)
    snapshots: list[str] = field(default_factory=list)  # snapshot names, oldest first
    snapshot_paths: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sampling not in ("pfsp", "uniform"):
            raise ValueError(f"sampling must be 'pfsp' or 'uniform', got {self.sampling!r}")

    # -- members ----------------------------------------------------------------------------
    def add_snapshot(self, step: int, path: str) -> tuple[str, str | None]:
        """Add the checkpoint of ``step``; returns its name and the path of the one evicted."""
        name = f"{SNAPSHOT_PREFIX}{step}"
        self.snapshots.append(name)
        self.snapshot_paths[name] = path
        evicted = None
        if len(self.snapshots) > self.max_snapshots:
            old = self.snapshots.pop(0)
            evicted = self.snapshot_paths.pop(old)
        return name, evicted

    def expand(self, pool: Sequence[str]) -> list[str]:
        """A stage's opponent list with ``snapshots`` replaced by the current snapshots."""
        out: list[str] = []
        for name in pool:
            if name == SNAPSHOTS:
                out.extend(self.snapshots)
            elif name not in out:
                out.append(name)
        # Before the first snapshot exists, a pool of only "snapshots" falls back to self-play.
        return out or [SELF]

    # -- results ----------------------------------------------------------------------------
    def record(self, opponent: str, score: float) -> None:
        """One game against ``opponent``: ``score`` 1 win, 0.5 draw, 0 loss."""
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {score!r}")
        rec = self.records.setdefault(opponent, Record())
        rec.games += 1
        rec.score += score

    def win_rate(self, opponent: str) -> float:
        """Smoothed win rate of the policy against ``opponent`` (0.5 for ``self``)."""
        if opponent == SELF:
            return 0.5
        rec = self.records.get(opponent, Record())
        return (rec.score + 0.5 * self.prior_games) / (rec.games + self.prior_games)

    def weights(self, pool: Sequence[str]) -> np.ndarray:
        """Sampling probabilities over ``pool`` (already expanded)."""
        if not pool:
            raise ValueError("the opponent pool is empty")
        if self.sampling == "uniform":
            w = np.ones(len(pool))
        else:
            w = np.array([(1.0 - self.win_rate(o)) ** self.power for o in pool])
            if w.sum() <= 0:  # the policy beats everyone: fall back to uniform
                w = np.ones(len(pool))
        return w / w.sum()

    def sample(self, pool: Sequence[str], rng: np.random.Generator) -> str:
        """Draw one opponent from ``pool`` (after :meth:`expand`)."""
        pool = list(pool)
        return pool[int(rng.choice(len(pool), p=self.weights(pool)))]

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "records": {k: asdict(v) for k, v in self.records.items()},
            "snapshots": list(self.snapshots),
            "snapshot_paths": dict(self.snapshot_paths),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.records = {k: Record(**v) for k, v in state["records"].items()}
        self.snapshots = list(state["snapshots"])
        self.snapshot_paths = dict(state["snapshot_paths"])


def match_score(own: float, other: float) -> float:
    """1 if ``own`` beats ``other``, 0.5 for a tie, else 0 (general-sum: compare payoffs)."""
    if own > other:
        return 1.0
    return 0.5 if own == other else 0.0
