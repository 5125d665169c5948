"""Turning opponent specs into agents, without envs depending on :mod:`palaestra.agents`.

envs sits below agents (see "Data flows one way" in docs/design.md), yet the single-agent
Gymnasium view and the debate jury take agents given as spec strings. envs resolves what it
owns itself: agent objects and ``scripted:<game>/<name>`` specs (its games' scripted players).
Every other spec (``random``, ``hf:...``, ``openai:...``, callables) goes to resolvers that
higher layers register with :func:`register_agent_resolver`; the ``palaestra`` package
registers :func:`palaestra.agents.make_agent` when it is imported, so any import of palaestra
makes those specs work.

>>> resolve_agent("scripted:negotiation/fair").name
'scripted:negotiation/fair'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from palaestra.envs.protocol import Agent
from palaestra.envs.registry import find_game

#: A function that builds an agent from a spec (or raises ValueError/TypeError).
AgentResolver = Callable[[Any], Agent]

_RESOLVERS: list[AgentResolver | str] = []


def register_agent_resolver(resolver: AgentResolver | str) -> None:
    """Add a resolver for specs envs does not resolve itself.

    Args:
        resolver: A callable ``spec -> Agent``, or its ``"module:attribute"`` path, imported
            on first use (so registering costs no import).
    """
    if not (callable(resolver) or (isinstance(resolver, str) and ":" in resolver)):
        raise TypeError(f"expected a callable or a 'module:attribute' path, got {resolver!r}")
    if resolver not in _RESOLVERS:
        _RESOLVERS.append(resolver)


def _load(resolver: AgentResolver | str) -> AgentResolver:
    if callable(resolver):
        return resolver
    module, _, attr = resolver.partition(":")
    return getattr(importlib.import_module(module), attr)


def scripted_player(game: str, name: str, **kwargs: Any) -> Agent:
    """The scripted player ``name`` of ``game``, named ``scripted:<game>/<name>``.

    Raises:
        ValueError: No such game, or the game has no scripted player of that name.
    """
    try:
        env_spec = find_game(game)
    except KeyError as err:
        raise ValueError(str(err).strip("'\"")) from err
    players = env_spec.scripted
    if name not in players:
        raise ValueError(
            f"game {game!r} has no scripted player {name!r}; choose from {sorted(players)}"
        )
    return players[name](name=f"scripted:{game}/{name}", **kwargs)


def resolve_agent(value: Any) -> Agent:
    """An agent from an agent object, a plain ``scripted:<game>/<name>`` spec, or any spec a
    registered resolver understands.

    Raises:
        ValueError: The spec names no agent, or no resolver is registered for it.
    """
    if not isinstance(value, str) and hasattr(value, "act") and hasattr(value, "reset"):
        return value
    if isinstance(value, str) and value.startswith("scripted:") and "?" not in value:
        game, sep, name = value.removeprefix("scripted:").partition("/")
        if not sep or not game or not name:
            raise ValueError(f"expected 'scripted:<game>/<name>', got {value!r}")
        return scripted_player(game, name)
    if not _RESOLVERS:
        raise ValueError(
            f"cannot build an agent from {value!r}: envs resolves agent objects and "
            "'scripted:<game>/<name>' specs; other specs need a resolver "
            "(import palaestra, which registers palaestra.agents.make_agent)"
        )
    resolver = _load(_RESOLVERS[-1])  # the latest registered wins: it can wrap the earlier
    return resolver(value)
