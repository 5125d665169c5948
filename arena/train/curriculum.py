"""Curriculum: ordered stages, each with its own games, opponents and advance condition.

A stage advances when it has run ``min_steps`` and the mean of its watched metric over the
last ``window`` values reached ``threshold``, or when it has run ``max_steps``. The last
stage never ends. Only values logged while a stage is current count for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from palaestra.arena.train.config import StageConfig


@dataclass
class Curriculum:
    """Which stage is current, and when to move on."""

    stages: Sequence[StageConfig]
    index: int = 0
    steps_in_stage: int = 0
    history: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a curriculum needs at least one stage")

    @property
    def current(self) -> StageConfig:
        return self.stages[self.index]

    @property
    def finished_all(self) -> bool:
        return self.index == len(self.stages) - 1

    def observe(self, metrics: Mapping[str, Any]) -> bool:
        """Count one step of the current stage with its metrics; True if the stage advanced."""
        self.steps_in_stage += 1
        cond = self.current.advance
        value = metrics.get(cond.metric)
        if isinstance(value, (int, float)):
            self.history.append(float(value))
        if self.finished_all or self.steps_in_stage < cond.min_steps:
            return False
        ready = False
        if cond.threshold is not None and len(self.history) >= cond.window:
            recent = self.history[-cond.window :]
            ready = sum(recent) / len(recent) >= cond.threshold
        if cond.max_steps is not None and self.steps_in_stage >= cond.max_steps:
            ready = True
        if ready:
            self.index += 1
            self.steps_in_stage = 0
            self.history = []
        return ready

    def state_dict(self) -> dict[str, Any]:
        return {"index": self.index, "steps": self.steps_in_stage, "history": list(self.history)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not 0 <= int(state["index"]) < len(self.stages):
            raise ValueError(f"checkpoint stage {state['index']} is not in this config")
        self.index = int(state["index"])
        self.steps_in_stage = int(state["steps"])
        self.history = [float(v) for v in state["history"]]
