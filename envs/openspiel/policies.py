"""Scripted players for the OpenSpiel games: policies over the legal actions.

A :class:`PolicyAgent` reads an observation's facts (``info_state`` and ``legal_actions``),
asks :meth:`PolicyAgent.action_probabilities` for a distribution over the legal actions, and
samples one with a generator seeded from (seed, episode, turn, role), so play is
reproducible whatever the batching. It replies with the move's canonical text. The exact
evaluation reads ``action_probabilities`` directly.

``scripted:<game>/uniform`` exists for every bridged game; games add their own policies to
:data:`POLICIES`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from palaestra.envs.protocol import Action, Observation
from palaestra.envs.scripted import ScriptedAgent


class PolicyAgent(ScriptedAgent):
    """A player defined by a distribution over the legal actions at each information state.

    Subclasses implement :meth:`action_probabilities`.

    Args:
        name: Agent name (the spec, e.g. ``scripted:kuhn-poker/uniform``).
        seed: Base seed of the sampling.
    """

    key: ClassVar[str] = "policy"

    def __init__(self, name: str | None = None, seed: int | str = 0) -> None:
        super().__init__(name)
        try:
            self.seed = int(seed)
        except (TypeError, ValueError):
            raise ValueError(f"seed must be an integer, got {seed!r}") from None

    def action_probabilities(self, obs: Observation) -> dict[int, float]:
        """Probability of each legal OpenSpiel action id (``obs.facts["legal_actions"]``)."""
        raise NotImplementedError

    def rng_for(self, obs: Observation) -> np.random.Generator:
        """The generator for this decision: seeded by (seed, episode, turn, role) only."""
        key = f"{self.seed}\x00{obs.episode}\x00{obs.turn}\x00{obs.role}".encode()
        digest = hashlib.blake2b(key, digest_size=8).digest()
        return np.random.default_rng(int.from_bytes(digest, "little"))

    def reply(self, obs: Observation) -> str:
        legal: Sequence[int] = obs.facts.get("legal_actions", ())
        candidates: Sequence[str] = obs.facts.get("candidates", ())
        if not legal:
            return ""  # not this seat's turn
        probs = self.action_probabilities(obs)
        weights = np.array([max(float(probs.get(a, 0.0)), 0.0) for a in legal])
        if weights.sum() <= 0:
            raise ValueError(f"{self.name}: no probability on any legal action {list(legal)}")
        u = self.rng_for(obs).random() * weights.sum()
        index = min(int(np.searchsorted(np.cumsum(weights), u, side="right")), len(legal) - 1)
        return candidates[index]

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        return [Action(self.reply(obs)) for obs in observations]


class UniformPolicy(PolicyAgent):
    """Every legal move with the same probability."""

    key = "uniform"

    def action_probabilities(self, obs: Observation) -> dict[int, float]:
        legal = list(obs.facts.get("legal_actions", ()))
        return {a: 1.0 / len(legal) for a in legal}


#: OpenSpiel short name -> policy name -> class, besides ``uniform`` (every game has that).
POLICIES: dict[str, dict[str, type[PolicyAgent]]] = {}


def scripted_players(game: str) -> Mapping[str, type[PolicyAgent]]:
    """The scripted players of OpenSpiel game ``game`` (its short name, e.g. ``kuhn_poker``)."""
    return {"uniform": UniformPolicy, **POLICIES.get(game, {})}
