"""palaestra: language models play text games against each other, and get better by it.

Importing ``palaestra`` registers every game with PettingZoo and Gymnasium
(``gymnasium.make("palaestra/Negotiation-v0")``), and wires :func:`palaestra.agents.make_agent`
into envs as the resolver of agent specs (``hf:...``, ``random``), imported on first use: envs
itself never imports agents (see "Data flows one way" in docs/design.md).
"""

from __future__ import annotations

from palaestra import envs
from palaestra.envs.resolver import register_agent_resolver

register_agent_resolver("palaestra.agents:make_agent")

__version__ = "0.1.0"
__all__ = ["__version__", "envs"]
