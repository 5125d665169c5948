"""Base class for scripted players (rule-based baselines shipped with each game).

Scripted players read ``Observation.facts`` (the role's view as data), never the prompt
text, and are deterministic: the same observation always gets the same reply. They are the
default opponents of the single-agent Gymnasium view and the fixtures of the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from palaestra.envs.protocol import Action, Observation


class ScriptedAgent:
    """A deterministic rule-based player; subclasses implement :meth:`reply`."""

    #: Short name used in ``scripted:<game>/<name>`` specs.
    key: ClassVar[str] = "scripted"

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"scripted:{self.key}"

    def reply(self, obs: Observation) -> str:
        raise NotImplementedError

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        return [Action(self.reply(obs)) for obs in observations]

    def reset(self) -> None:
        """Scripted players keep no state between episodes."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
