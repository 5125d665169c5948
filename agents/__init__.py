"""Anything that can play: scripted, random, human, local models, endpoints, plug-ins.

>>> from palaestra.agents import make_agent
>>> make_agent("scripted:negotiation/fair").name
'scripted:negotiation/fair'
"""

from __future__ import annotations

import importlib
from typing import Any

from palaestra.agents.base import CallableAgent, RandomAgent, obs_rng
from palaestra.agents.human import HumanAgent
from palaestra.agents.specs import AgentSpecError, make_agent, split_spec
from palaestra.envs.protocol import Action, Agent, Observation

__all__ = [
    "Action",
    "Agent",
    "AgentSpecError",
    "CallableAgent",
    "HFAgent",
    "HumanAgent",
    "Observation",
    "OpenAIAgent",
    "RandomAgent",
    "make_agent",
    "obs_rng",
    "split_spec",
]

# Imported on first use: the openai agent pulls in httpx, which CLI start-up need not pay for.
_LAZY = {
    "HFAgent": "palaestra.agents.hf",
    "OpenAIAgent": "palaestra.agents.openai",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
