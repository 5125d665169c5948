"""palaestra: language models play text games against each other, and get better by it.

Importing ``palaestra`` registers every game with PettingZoo and Gymnasium
(``gymnasium.make("palaestra/Negotiation-v0")``).
"""

from __future__ import annotations

from palaestra import envs

__version__ = "0.1.0"
__all__ = ["__version__", "envs"]
