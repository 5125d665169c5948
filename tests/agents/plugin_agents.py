"""Agents used by the plug-in tests (imported by spec strings as ``module:Class``)."""

from __future__ import annotations

from collections.abc import Sequence

from palaestra.envs.protocol import Action, Observation


class EchoAgent:
    """Replies with a fixed prefix and the role; counts resets."""

    def __init__(self, prefix: str = "echo", name: str = "echo") -> None:
        self.prefix = prefix
        self.name = name
        self.resets = 0

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        return [Action(f"{self.prefix} {obs.role}") for obs in observations]

    def reset(self) -> None:
        self.resets += 1
