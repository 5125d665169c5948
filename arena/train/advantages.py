"""Credit and advantages: from a seat's per-step rewards to one scalar per completion.

Whole-completion credit: a completion (one turn's reply) is one action, credited with one
scalar; every token of it shares the advantage. Multi-turn games credit a turn with the
discounted return of its seat from that turn on,

    G_t = r_t + γ r_{t+1} + γ² r_{t+2} + ...   (over the seat's own turns),

so reward earned later in a dialogue counts for the moves that led to it.

Baselines:

* group-relative (GRPO, Shao et al. 2024): episodes that share game, seed, seat and opponent
  form a group; ``A = G - mean(R_group)``, optionally divided by ``std(R_group) + eps``, where
  ``R_group`` are the episode returns (each episode counted once, however many turns it has).
* role-conditioned (RAE, SPIRAL, Liu et al. 2025, arXiv 2506.24119): a running baseline per
  (game, role), ``b <- α b + (1 - α) R`` for each episode return ``R`` in order, then
  ``A = G - b``. In zero-sum and asymmetric games the seats' expected returns differ (first
  mover advantage); one shared baseline would bias every update towards one seat.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np


def discounted_returns(rewards: Sequence[float], discount: float) -> list[float]:
    """``G_t = sum_k discount**k * rewards[t + k]`` for every ``t``.

    >>> discounted_returns([1.0, 0.0, 2.0], 0.5)
    [1.5, 1.0, 2.0]
    """
    if not 0.0 <= discount <= 1.0:
        raise ValueError(f"discount must be in [0, 1], got {discount!r}")
    out = [0.0] * len(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = float(rewards[t]) + discount * running
        out[t] = running
    return out


def turn_credits(rewards: Sequence[float], mode: str, discount: float) -> list[float]:
    """Credit of each of a seat's turns: ``"return"`` (discounted return-to-go) or ``"step"``
    (the turn's own reward)."""
    if mode == "return":
        return discounted_returns(rewards, discount)
    if mode == "step":
        return [float(r) for r in rewards]
    raise ValueError(f"credit mode must be 'return' or 'step', got {mode!r}")


def group_advantages(
    credits: Sequence[float],
    groups: Sequence[Hashable],
    episodes: Sequence[Hashable],
    episode_returns: dict[Hashable, float],
    scale_std: bool = False,
    eps: float = 1e-6,
) -> list[float]:
    """Group-relative advantages.

    Args:
        credits: Credit of each sample.
        groups: Group key of each sample (game, seed, seat, opponent).
        episodes: Episode key of each sample (a group's statistics count each episode once).
        episode_returns: Episode key -> the seat's episode return.
        scale_std: Divide by the group's (population) standard deviation plus ``eps``.
        eps: Keeps the division finite for groups whose returns are all equal.
    """
    if not len(credits) == len(groups) == len(episodes):
        raise ValueError("credits, groups and episodes must have the same length")
    members: dict[Hashable, dict[Hashable, float]] = {}
    for g, e in zip(groups, episodes):
        members.setdefault(g, {})[e] = episode_returns[e]
    stats = {}
    for g, eps_returns in members.items():
        values = np.array(list(eps_returns.values()), dtype=np.float64)
        stats[g] = (float(values.mean()), float(values.std()))
    out = []
    for c, g in zip(credits, groups):
        mean, std = stats[g]
        a = c - mean
        out.append(a / (std + eps) if scale_std else a)
    return out


def flat_group_fraction(
    groups: Sequence[Hashable],
    episodes: Sequence[Hashable],
    episode_returns: dict[Hashable, float],
    tol: float = 1e-8,
) -> float:
    """Fraction of groups whose episodes all returned the same (within ``tol``).

    Such a group's baseline is its common return, so with a terminal reward every one of its
    samples gets a zero advantage (per-turn credits that differ from the return still leave
    some): nothing to learn from. A group of one episode counts as flat. Returns 0 when there
    are no groups.
    """
    members: dict[Hashable, dict[Hashable, float]] = {}
    for g, e in zip(groups, episodes):
        members.setdefault(g, {})[e] = episode_returns[e]
    if not members:
        return 0.0
    flat = sum(max(m.values()) - min(m.values()) <= tol for m in members.values())
    return flat / len(members)


@dataclass
class RoleBaseline:
    """Running baseline per (game, role): SPIRAL's role-conditioned advantage estimation.

    Args:
        decay: ``α`` in ``b <- α b + (1 - α) R``; baselines start at 0.
    """

    decay: float = 0.95
    values: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {self.decay!r}")

    @staticmethod
    def key(game: str, role: str) -> str:
        return f"{game}/{role}"

    def update(self, game: str, role: str, episode_return: float) -> float:
        """Fold one episode return in; returns the updated baseline."""
        k = self.key(game, role)
        b = self.decay * self.values.get(k, 0.0) + (1.0 - self.decay) * float(episode_return)
        self.values[k] = b
        return b

    def advantages(
        self,
        credits: Sequence[float],
        keys: Sequence[tuple[str, str]],
        episodes: Sequence[Hashable],
        episode_returns: dict[Hashable, float],
    ) -> list[float]:
        """Update with each episode once (in first-seen order), then ``A = credit - b``.

        Args:
            credits: Credit of each sample.
            keys: ``(game, role)`` of each sample.
            episodes: Episode key of each sample.
            episode_returns: Episode key -> the seat's episode return.
        """
        seen: set[Hashable] = set()
        for (game, role), e in zip(keys, episodes):
            if e not in seen:
                seen.add(e)
                self.update(game, role, episode_returns[e])
        return [c - self.values[self.key(g, r)] for c, (g, r) in zip(credits, keys)]

    def state_dict(self) -> dict[str, object]:
        return {"decay": self.decay, "values": dict(self.values)}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.decay = float(state["decay"])  # type: ignore[arg-type]
        self.values = {str(k): float(v) for k, v in dict(state["values"]).items()}  # type: ignore[call-overload]
