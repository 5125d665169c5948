"""What the local model agents (``hf:`` and ``vllm:``) share about sampling.

* :data:`SAMPLING_OPTIONS`: the spec options both accept (each adds its engine's own).
* :class:`CountedCalls`: the generate-call counter both mix into their sampling seeds, so a
  trainer that resumes from a checkpoint restores it and samples as the uninterrupted run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from palaestra.envs.protocol import Observation

#: Spec options every local model agent accepts.
SAMPLING_OPTIONS = frozenset(
    {"name", "temperature", "top_p", "top_k", "max_new_tokens", "stop", "seed", "train", "dtype"}
)


class CountedCalls:
    """A ``calls`` counter (validated on assignment) and the seed of one generate call."""

    seed: int
    _calls: int = 0

    @property
    def calls(self) -> int:
        """Generate calls made so far. Each call's sampling seed mixes it in, so a trainer
        that resumes from a checkpoint restores it to sample as the uninterrupted run would."""
        return self._calls

    @calls.setter
    def calls(self, value: int) -> None:
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"calls must be a non-negative integer, got {value!r}")
        self._calls = value

    def seed_of(self, observations: Iterable[Observation]) -> int:
        """A 63-bit seed from the agent's seed, the call count and the observations."""
        digest = hashlib.blake2b(digest_size=8)
        digest.update(f"{self.seed}\x00{self._calls}".encode())
        for obs in observations:
            digest.update(f"\x00{obs.episode}\x00{obs.role}\x00{obs.turn}\x00{obs.text}".encode())
        return int.from_bytes(digest.digest(), "little") & 0x7FFF_FFFF_FFFF_FFFF
