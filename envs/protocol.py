"""The contract between games and players (see "Data flows one way" in docs/design.md).

An env hands each seat an :class:`Observation`; an agent answers a *batch* of observations
with a batch of :class:`Action`. These types live with the games because the games produce
and consume them; :mod:`palaestra.agents` re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Observation:
    """What one seat sees when it is asked to move.

    Attributes:
        text: The whole prompt: ``preamble``, the transcript, then ``instruction``. A seat's
            previous ``text`` less its instruction is a prefix of its next one.
        game: Env id, e.g. ``"negotiation-v0"``.
        role: The seat's role name.
        preamble: The part that never changes during the episode (rules, role, private facts).
        instruction: This turn's instruction (the last part of ``text``).
        facts: The role's view as plain data (for scripted agents); never another role's
            private information.
        vector: The numeric observation (same as the PettingZoo observation's ``observation``).
        episode: An id of the episode, unique within a run (``""`` outside the arena).
        turn: The game's turn counter.
    """

    text: str
    game: str
    role: str
    preamble: str = ""
    instruction: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)
    vector: Sequence[float] = ()
    episode: str = ""
    turn: int = 0

    @property
    def seat(self) -> str:
        """Key of this seat in this episode (used e.g. to keep a per-seat KV cache)."""
        return f"{self.episode}/{self.role}"

    @property
    def history(self) -> str:
        """The text between the preamble and the instruction (the transcript)."""
        start = len(self.preamble)
        end = len(self.text) - len(self.instruction) if self.instruction else len(self.text)
        return self.text[start:end].strip()


@dataclass
class Action:
    """One agent reply.

    Attributes:
        text: The reply as the agent wrote it (reasoning included; the env strips it).
        error: Set when the agent failed to produce a reply (exception, timeout, endpoint
            error); such an action is recorded as an agent failure, never played as text.
        prompt_ids: For trainable agents, the prompt's token ids.
        completion_ids: The sampled completion's token ids.
        logprobs: Per-token log-probabilities of ``completion_ids`` under the sampling policy.
        meta: Anything else worth recording (latency, token counts, model name).
    """

    text: str = ""
    error: str | None = None
    prompt_ids: list[int] | None = None
    completion_ids: list[int] | None = None
    logprobs: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None


@runtime_checkable
class Agent(Protocol):
    """Anything that can play: one call answers many pending turns at once."""

    name: str

    def act(self, observations: Sequence[Observation]) -> list[Action]: ...

    def reset(self) -> None: ...
