"""Reward design on top of the game's rewards: penalties, length cost, abstention.

Applied per turn to the seat's per-step rewards before credit is computed:

* ``invalid_move_penalty`` on every turn the env judged invalid (format or rules);
* ``format_penalty`` on a turn whose visible text is empty (e.g. only ``<think>``) or does not
  contain ``format_pattern``;
* ``length_penalty`` per generated token beyond ``length_free_tokens``;
* ``abstention``: for games whose summary says what kind of answer each reply was
  (:func:`turn_verdicts`: ``correct``, ``abstain``, ``wrong``), the step reward of that reply
  is replaced by the configured value for its kind (kinds not configured keep the game's).
  Only valid replies are re-valued: an invalid reply that the game played as an abstention
  keeps the game's reward, invalid-move penalty included.
  Rewarding "I don't know" above a wrong answer makes abstaining the better bet when the model
  is unsure, which is how hallucination rate falls without accuracy falling.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from palaestra.arena.records import EpisodeRecord, Turn
from palaestra.arena.train.config import RewardConfig


def judged(turns: Sequence[Turn]) -> list[bool]:
    """Which turns the game judged: the last reply at each game turn (earlier replies at the
    same turn were invalid and retried)."""
    return [i + 1 == len(turns) or turns[i + 1].turn != t.turn for i, t in enumerate(turns)]


def turn_verdicts(record: EpisodeRecord, role: str, turns: Sequence[Turn]) -> list[str | None]:
    """The kind of answer of each of ``role``'s turns, where the game reports one.

    Games with many answers per episode list them in ``info["questions"]`` (``role`` and
    ``verdict`` per answer, in order; the quiz); single-answer games may give
    ``info["verdicts"][role]`` or ``info["verdict"]`` (then the last turn carries it).
    """
    info: dict[str, Any] = record.info or {}
    out: list[str | None] = [None] * len(turns)
    questions = info.get("questions")
    if isinstance(questions, list):
        kinds = [q.get("verdict") for q in questions if q.get("role") == role]
        slots = [i for i, j in enumerate(judged(turns)) if j]
        for i, kind in zip(slots, kinds):
            out[i] = kind if isinstance(kind, str) else None
        return out
    per_role = info.get("verdicts")
    kind = per_role.get(role) if isinstance(per_role, dict) else info.get("verdict")
    if turns and isinstance(kind, str):
        out[-1] = kind
    return out


def seat_rewards(record: EpisodeRecord, role: str, turns: Sequence[Turn]) -> list[float]:
    """The game's per-step rewards of ``role``'s turns.

    Whatever of the seat's episode return is not on one of its turns (a reward that arrived
    after its last reply, or a forfeit) is added to its last turn, so the rewards always sum
    to the seat's return.
    """
    rewards = [float(t.reward) for t in turns]
    if rewards:
        rest = float(record.returns.get(role, 0.0)) - sum(rewards)
        if abs(rest) > 1e-9:
            rewards[-1] += rest
    return rewards


def shape_rewards(
    record: EpisodeRecord,
    role: str,
    turns: Sequence[Turn],
    config: RewardConfig,
    base: Sequence[float] | None = None,
) -> list[float]:
    """Per-turn shaped rewards of ``role`` (see the module docstring).

    Args:
        record: The episode.
        role: The seat.
        turns: The seat's turns, in order.
        config: What to add.
        base: Rewards to shape instead of the game's (self-reward pseudo-labels).
    """
    rewards = list(base) if base is not None else seat_rewards(record, role, turns)
    if len(rewards) != len(turns):
        raise ValueError(f"{len(rewards)} base rewards for {len(turns)} turns")
    if not rewards:
        return rewards
    if config.abstention is not None and base is None:
        for i, kind in enumerate(turn_verdicts(record, role, turns)):
            if kind in config.abstention and turns[i].valid:
                # The verdict settles that answer: its value replaces the game's step reward.
                rewards[i] = float(config.abstention[kind])
    pattern = re.compile(config.format_pattern) if config.format_pattern else None
    for i, turn in enumerate(turns):
        if not turn.valid:
            rewards[i] += config.invalid_move_penalty
        if not turn.text.strip() or (pattern is not None and not pattern.search(turn.text)):
            rewards[i] += config.format_penalty
        if config.length_penalty:
            extra = max(0, turn.tokens - config.length_free_tokens)
            rewards[i] -= config.length_penalty * extra
    return rewards
