"""envs builds its own scripted players and hands every other spec to a registered resolver."""

from __future__ import annotations

import gymnasium
import pytest

from palaestra.envs import resolver
from palaestra.envs.protocol import Action
from palaestra.envs.resolver import register_agent_resolver, resolve_agent
from palaestra.envs.scripted import ScriptedAgent


def test_scripted_specs_need_no_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolver, "_RESOLVERS", [])
    agent = resolve_agent("scripted:negotiation/hard")
    assert isinstance(agent, ScriptedAgent)
    assert agent.name == "scripted:negotiation/hard"


def test_agent_objects_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolver, "_RESOLVERS", [])
    agent = ScriptedAgent("mine")
    assert resolve_agent(agent) is agent


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("scripted:negotiation/nobody", "no scripted player 'nobody'"),
        ("scripted:chess/fair", "chess"),
        ("scripted:negotiation", "expected 'scripted:<game>/<name>'"),
    ],
)
def test_bad_scripted_specs_are_named(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_agent(spec)


def test_other_specs_without_a_resolver_get_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(resolver, "_RESOLVERS", [])
    with pytest.raises(ValueError, match=r"'hf:tiny'.*need a resolver"):
        resolve_agent("hf:tiny")


class _Echo:
    def __init__(self, spec: str) -> None:
        self.name = f"echo({spec})"

    def reset(self) -> None:
        pass

    def act(self, observations):
        return [Action("hello") for _ in observations]


def test_a_registered_resolver_builds_the_other_specs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(resolver, "_RESOLVERS", [])
    register_agent_resolver(_Echo)
    assert resolve_agent("anything:at/all").name == "echo(anything:at/all)"
    env = gymnasium.make("palaestra/Negotiation-v0", role="bob", opponents={"alice": "x"})
    assert env.unwrapped.opponents["alice"].name == "echo(x)"


def test_register_rejects_what_cannot_resolve() -> None:
    with pytest.raises(TypeError, match="module:attribute"):
        register_agent_resolver("make_agent")


def test_importing_palaestra_registers_the_agents_resolver() -> None:
    # The package root wires palaestra.agents in; envs names no agents module itself.
    assert "palaestra.agents:make_agent" in resolver._RESOLVERS
    env = gymnasium.make("palaestra/Negotiation-v0", role="bob", opponents={"alice": "random"})
    assert type(env.unwrapped.opponents["alice"]).__name__ == "RandomAgent"
