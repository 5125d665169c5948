"""Typed episode records: what the arena writes, and what ratings, reports and training read.

One finished episode is one :class:`EpisodeRecord`, one line of ``episodes.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class Turn:
    """One reply of one seat.

    Attributes:
        role: The seat's role.
        agent: The agent's name.
        turn: The game's turn counter when the reply was asked for.
        prompt: What the seat saw (the observation text).
        text: What the env received after reasoning was stripped (what others saw).
        reasoning: The stripped ``<think>`` part (never shown to other players).
        valid: Whether the move parsed and obeyed the rules.
        reason: Why it was invalid (``""`` if valid).
        reward: The reward the seat got for this step (per-step rewards; 0 for terminal-only
            games until the last step).
        tokens: Generated tokens (0 for non-LLM agents).
        seconds: Wall time of the ``act`` call divided among its batch.
        train: For trainable agents: ``prompt_ids``, ``completion_ids``, ``logprobs``.
    """

    role: str
    agent: str
    turn: int
    prompt: str
    text: str
    reasoning: str = ""
    valid: bool = True
    reason: str = ""
    reward: float = 0.0
    tokens: int = 0
    seconds: float = 0.0
    train: dict[str, list[Any]] | None = None


@dataclass
class EpisodeRecord:
    """One finished episode.

    Attributes:
        episode_id: Unique within a run, stable across resumes (e.g. ``"negotiation-v0/3/ab"``).
        env_id: The env id.
        env_kwargs: Game and adapter arguments the env was made with.
        seed: Reset seed.
        seating: role -> agent name.
        returns: role -> sum of that role's rewards.
        outcome: The game's outcome text (``"agreement"``, ``"forfeit by bob: ..."``).
        turns: Every reply in order.
        info: The game's summary (``infos`` at the end), e.g. agreement, verdict.
        invalid_moves: role -> count.
        errors: Agent failures, as ``{"role", "agent", "error"}`` dicts.
        discount: The game's declared discount.
        stats: Per agent name: ``{"tokens", "seconds", "calls"}``.
        meta: Free-form (pairing id, tournament round, backend).
    """

    episode_id: str
    env_id: str
    seed: int
    seating: dict[str, str]
    returns: dict[str, float]
    outcome: str = ""
    turns: list[Turn] = field(default_factory=list)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    invalid_moves: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    discount: float = 1.0
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    @property
    def failed(self) -> bool:
        """Whether an agent failure decided this episode."""
        return bool(self.errors)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeRecord:
        data = dict(data)
        data["turns"] = [Turn(**t) for t in data.get("turns", [])]
        return cls(**data)

    @classmethod
    def from_json(cls, line: str) -> EpisodeRecord:
        return cls.from_dict(json.loads(line))
