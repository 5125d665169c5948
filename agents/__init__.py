"""Anything that can play: scripted, random, human, local models, endpoints, plug-ins.

>>> from palaestra.agents import make_agent
>>> make_agent("scripted:negotiation/fair").name
'scripted:negotiation/fair'
"""

from __future__ import annotations

from palaestra.agents.base import CallableAgent, RandomAgent, obs_rng
from palaestra.agents.human import HumanAgent
from palaestra.agents.specs import AgentSpecError, make_agent, split_spec
from palaestra.envs.protocol import Action, Agent, Observation

__all__ = [
    "Action",
    "Agent",
    "AgentSpecError",
    "CallableAgent",
    "HumanAgent",
    "Observation",
    "RandomAgent",
    "make_agent",
    "obs_rng",
    "split_spec",
]
