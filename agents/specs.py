"""Agent specs: one string names any agent, for the CLI and configs.

========================================  ==============================================
spec                                      agent
========================================  ==============================================
``random`` / ``random?seed=3``            :class:`~palaestra.agents.base.RandomAgent`
``scripted:<game>/<name>``                a game's scripted player
``human``                                 :class:`~palaestra.agents.human.HumanAgent`
``hf:<model id|path|alias>?k=v&...``      local transformers model
``vllm:<model id|path|alias>?k=v&...``    a model on a vLLM engine (optional extra)
``openai:<model>@<base_url>?k=v``         any OpenAI-compatible chat endpoint
``module.path:ClassName?k=v``             your own class, built with the keyword arguments
``<entry point name>?k=v``                third-party agents in the ``palaestra.agents`` group
========================================  ==============================================

Query values are parsed as JSON where they parse (``3`` -> int, ``0.7`` -> float, ``true``),
else kept as strings.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qsl

from palaestra.envs.protocol import Agent

ENTRY_POINT_GROUP = "palaestra.agents"


class AgentSpecError(ValueError):
    """A spec string that does not name an agent; the message says what was expected."""


#: Factories for ``scheme:`` specs. Each takes the part after the scheme and the query kwargs.
SCHEMES: dict[str, str] = {
    "scripted": "palaestra.agents.specs:_scripted",
    "hf": "palaestra.agents.hf:agent_from_spec",
    "vllm": "palaestra.agents.vllm:agent_from_spec",
    "openai": "palaestra.agents.openai:agent_from_spec",
}


def parse_query(query: str) -> dict[str, Any]:
    """``"a=1&b=x"`` -> ``{"a": 1, "b": "x"}`` (values parsed as JSON where they parse)."""
    out: dict[str, Any] = {}
    for key, raw in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def split_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"body?k=v"`` into the body and the keyword arguments."""
    body, _, query = spec.partition("?")
    return body.strip(), parse_query(query)


def _load_attr(path: str) -> Any:
    module, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(module)
    except ImportError as err:
        raise AgentSpecError(f"cannot import module {module!r} for agent spec: {err}") from err
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as err:
            raise AgentSpecError(f"module {module!r} has no attribute {attr!r}") from err
    return obj


def _scripted(rest: str, kwargs: dict[str, Any]) -> Agent:
    from palaestra.envs.resolver import scripted_player

    game, sep, name = rest.partition("/")
    if not sep or not game or not name:
        raise AgentSpecError(f"expected 'scripted:<game>/<name>', got 'scripted:{rest}'")
    try:
        return scripted_player(game, name, **kwargs)
    except ValueError as err:
        raise AgentSpecError(str(err)) from err


def make_agent(spec: Any, **kwargs: Any) -> Agent:
    """Build an agent from a spec string, an agent, or a ``str -> str`` callable.

    Args:
        spec: See the table in this module's docstring.
        **kwargs: Extra keyword arguments for the agent (merged over the spec's query).

    Raises:
        AgentSpecError: The spec names no agent; the message says what was expected.
    """
    from palaestra.agents.base import CallableAgent, RandomAgent

    if isinstance(spec, Mapping):
        spec = dict(spec)
        if "spec" not in spec:
            raise AgentSpecError(f"an agent table needs a 'spec' key, got keys {sorted(spec)}")
        return make_agent(spec.pop("spec"), **{**spec, **kwargs})
    if not isinstance(spec, str):
        if hasattr(spec, "act") and hasattr(spec, "reset"):
            return spec
        if callable(spec):
            return CallableAgent(spec)
        raise AgentSpecError(
            f"expected an agent spec string, an agent or a str -> str callable, got {spec!r}"
        )
    body, query = split_spec(spec)
    options = {**query, **kwargs}
    if not body:
        raise AgentSpecError("empty agent spec; try 'random' or 'scripted:negotiation/fair'")
    if body == "random":
        return RandomAgent(**options)
    if body == "human":
        from palaestra.agents.human import HumanAgent

        return HumanAgent(**options)
    scheme, sep, rest = body.partition(":")
    if sep and scheme in SCHEMES:
        factory: Callable[[str, dict[str, Any]], Agent] = _load_attr(SCHEMES[scheme])
        return factory(rest, options)
    if (sep and "." in scheme) or (sep and scheme and rest and rest[0].isupper()):
        cls = _load_attr(body)
        try:
            return cls(**options)
        except TypeError as err:
            raise AgentSpecError(f"cannot build {body!r} with {options}: {err}") from err
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == body]
    if found:
        return found[0].load()(**options)
    raise AgentSpecError(
        f"unknown agent spec {spec!r}; expected 'random', 'human', 'scripted:<game>/<name>', "
        "'hf:<model>', 'vllm:<model>', 'openai:<model>@<base_url>', 'module.path:ClassName', "
        "or the name of "
        f"an entry point in the {ENTRY_POINT_GROUP!r} group"
    )
