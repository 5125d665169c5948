"""Spaces for text games.

Gymnasium's ``Text`` space checks every character against a charset and rejects ordinary
utterances (``"hello world"``), so palaestra uses :class:`Utterance`, a space of any string up
to a maximum length. Its ``sample()`` draws printable garbage with the space's own seeded
generator, which is what conformance tests feed to an env as moves.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium import spaces

_SAMPLE_CHARS = np.array(list(string.ascii_letters + string.digits + string.punctuation + " \n"))


class Utterance(spaces.Space[str]):
    """Any ``str`` of at most ``max_length`` characters.

    >>> space = Utterance(16, seed=0)
    >>> space.contains("hello, world!")
    True
    >>> space.contains("x" * 17)
    False
    """

    def __init__(self, max_length: int, seed: int | np.random.Generator | None = None) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {max_length!r}")
        self.max_length = max_length
        super().__init__(dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        length = int(self.np_random.integers(0, min(self.max_length, 64) + 1))
        return "".join(self.np_random.choice(_SAMPLE_CHARS, size=length))

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"Utterance({self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Utterance) and other.max_length == self.max_length

    def __hash__(self) -> int:
        return hash(("Utterance", self.max_length))


def observation_space(
    vector_size: int, bounds: tuple[float, float], max_text: int, seed: int | None = None
) -> spaces.Dict:
    """``Dict(observation=Box(vector), text=Utterance)``, as "Observation spaces" in
    docs/design.md describes."""
    low, high = bounds
    return spaces.Dict(
        {
            "observation": spaces.Box(low, high, shape=(vector_size,), dtype=np.float32),
            "text": Utterance(max_text),
        },
        seed=seed,
    )
