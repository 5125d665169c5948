"""Sample selection: zero-advantage filtering and prioritised replay.

Prioritised experience replay (Schaul et al. 2016) with priority ``|A|``: a stored sample is
drawn with probability ``P(i) = p_i**α / Σ_j p_j**α`` and its loss is scaled by the importance
weight ``w_i = (N P(i))**-β / max_j w_j``, which undoes the bias of drawing some samples more
often (β = 1 undoes it fully).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


def drop_zero_advantage(samples: Sequence[T], advantages: Sequence[float], tol: float = 1e-8):
    """The samples (and advantages) whose advantage is not zero (``|A| > tol``)."""
    kept = [(s, a) for s, a in zip(samples, advantages) if abs(a) > tol]
    return [s for s, _ in kept], [a for _, a in kept]


class ReplayBuffer(Generic[T]):
    """A bounded FIFO of past samples, drawn by priority ``|advantage| ** alpha``.

    Args:
        capacity: Samples kept; the oldest leave first.
        alpha: Priority exponent (0: uniform).
        beta: Importance-weight exponent (0: no correction, 1: full correction).
    """

    def __init__(self, capacity: int, alpha: float = 0.6, beta: float = 0.4) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity!r}")
        if alpha < 0 or not 0 <= beta <= 1:
            raise ValueError(f"need alpha >= 0 and 0 <= beta <= 1, got {alpha!r}, {beta!r}")
        self.capacity = capacity
        self.alpha = alpha
        self.beta = beta
        self.items: list[T] = []
        self.priorities: list[float] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, samples: Sequence[T], advantages: Sequence[float]) -> None:
        """Store samples with priority ``|advantage|`` (zero-priority samples are skipped)."""
        if self.capacity == 0:
            return
        for s, a in zip(samples, advantages):
            if abs(a) > 0:
                self.items.append(s)
                self.priorities.append(abs(float(a)))
        overflow = len(self.items) - self.capacity
        if overflow > 0:
            del self.items[:overflow]
            del self.priorities[:overflow]

    def probabilities(self) -> np.ndarray:
        """``P(i)`` of every stored sample."""
        p = np.asarray(self.priorities, dtype=np.float64) ** self.alpha
        return p / p.sum()

    def weights(self, indices: Sequence[int]) -> np.ndarray:
        """Importance weights of the given indices, normalised by the largest over the buffer."""
        probs = self.probabilities()
        n = len(probs)
        w_all = (n * probs) ** (-self.beta)
        return w_all[np.asarray(indices, dtype=np.int64)] / w_all.max()

    def sample(self, n: int, rng: np.random.Generator) -> tuple[list[T], np.ndarray]:
        """Draw ``n`` samples (with replacement) and their importance weights."""
        if n <= 0 or not self.items:
            return [], np.zeros(0)
        idx = rng.choice(len(self.items), size=n, replace=True, p=self.probabilities())
        return [self.items[i] for i in idx], self.weights(idx)

    def state_dict(self) -> dict[str, Any]:
        return {"items": list(self.items), "priorities": list(self.priorities)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.items = list(state["items"])
        self.priorities = [float(p) for p in state["priorities"]]
