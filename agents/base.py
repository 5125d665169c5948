"""Agent contract and the simplest agents: callables, random play.

The contract (see "Data flows one way" in docs/design.md) is
:class:`~palaestra.envs.protocol.Agent`: ``act`` answers a batch of observations with a batch
of :class:`~palaestra.envs.protocol.Action`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from palaestra.envs.protocol import Action, Agent, Observation

__all__ = ["Action", "Agent", "CallableAgent", "Observation", "RandomAgent", "obs_rng"]


def obs_rng(seed: int, obs: Observation) -> np.random.Generator:
    """A generator seeded by ``seed`` and the observation itself.

    Agents that draw random numbers use it so that a reply depends only on the seed and what
    the agent saw: batch order, concurrency and backend cannot change a transcript.
    """
    digest = hashlib.blake2b(
        f"{seed}\x00{obs.episode}\x00{obs.role}\x00{obs.turn}\x00{obs.text}".encode(),
        digest_size=8,
    ).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


class CallableAgent:
    """Wraps a plain ``str -> str`` function (prompt text in, reply out) as an agent."""

    def __init__(self, fn: Callable[[str], str], name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"expected a callable str -> str, got {fn!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "callable")

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        out = []
        for obs in observations:
            reply = self.fn(obs.text)
            if not isinstance(reply, str):
                raise TypeError(f"agent {self.name!r} returned {type(reply).__name__}, not str")
            out.append(Action(reply))
        return out

    def reset(self) -> None:
        pass


_WORDS = ("yes", "no", "maybe", "offer", "deal", "why", "because", "the", "answer", "is", "I")


class RandomAgent:
    """Plays a uniformly random legal move when the game lists candidates, else random words.

    Args:
        seed: Base seed; each reply's generator also depends on the observation (see
            :func:`obs_rng`), so play is reproducible whatever the batching.
    """

    def __init__(self, seed: int = 0, name: str = "random") -> None:
        self.seed = seed
        self.name = name

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        out = []
        for obs in observations:
            rng = obs_rng(self.seed, obs)
            candidates = obs.facts.get("candidates") if obs.facts else None
            if candidates:
                out.append(Action(str(candidates[int(rng.integers(len(candidates)))])))
            else:
                n = int(rng.integers(1, 12))
                out.append(Action(" ".join(rng.choice(_WORDS, size=n))))
        return out

    def reset(self) -> None:
        pass
