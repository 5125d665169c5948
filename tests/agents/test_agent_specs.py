from __future__ import annotations

import pytest

from palaestra.agents import AgentSpecError, CallableAgent, HumanAgent, RandomAgent, make_agent
from palaestra.agents import specs as specs_module
from palaestra.agents.specs import parse_query, split_spec


def test_parse_query_reads_json_values_and_keeps_strings():
    assert parse_query("a=3&b=0.5&c=true&d=hello&e=[1,2]&f=") == {
        "a": 3,
        "b": 0.5,
        "c": True,
        "d": "hello",
        "e": [1, 2],
        "f": "",
    }
    assert split_spec(" hf:tiny ?temperature=0") == ("hf:tiny", {"temperature": 0})


@pytest.mark.parametrize(
    ("spec", "cls", "name"),
    [
        ("random", RandomAgent, "random"),
        ("random?seed=3&name=r3", RandomAgent, "r3"),
        ("human", HumanAgent, "human"),
        ("scripted:negotiation/fair", None, "scripted:negotiation/fair"),
        ("plugin_agents:EchoAgent?prefix=hi", None, "echo"),
    ],
)
def test_good_specs(spec, cls, name):
    agent = make_agent(spec)
    assert agent.name == name
    if cls is not None:
        assert type(agent) is cls
    assert callable(agent.act) and callable(agent.reset)


def test_spec_query_and_keyword_arguments_reach_the_agent():
    agent = make_agent("random?seed=3")
    assert agent.seed == 3
    assert make_agent("random?seed=3", seed=5).seed == 5  # keyword arguments win
    plugin = make_agent("plugin_agents:EchoAgent?prefix=hi")
    assert plugin.prefix == "hi"
    table = make_agent({"spec": "plugin_agents:EchoAgent", "prefix": "yo", "name": "e2"})
    assert (table.prefix, table.name) == ("yo", "e2")


def test_agents_and_callables_pass_through():
    agent = RandomAgent()
    assert make_agent(agent) is agent
    wrapped = make_agent(str.upper)
    assert isinstance(wrapped, CallableAgent) and wrapped.name == "upper"


def test_entry_point_agents(monkeypatch):
    class FakeEntryPoint:
        name = "echo-plugin"

        def load(self):
            from plugin_agents import EchoAgent

            return EchoAgent

    def fake_entry_points(group):
        assert group == "palaestra.agents"
        return [FakeEntryPoint()]

    monkeypatch.setattr(specs_module, "entry_points", fake_entry_points)
    agent = make_agent("echo-plugin?prefix=ep")
    assert (type(agent).__name__, agent.prefix) == ("EchoAgent", "ep")
    with pytest.raises(AgentSpecError, match=r"entry point in the 'palaestra\.agents' group"):
        make_agent("other-plugin")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty agent spec"),
        ("?seed=1", "empty agent spec"),
        ("randm", "unknown agent spec 'randm'; expected 'random', 'human'"),
        ("scripted:negotiation", "expected 'scripted:<game>/<name>'"),
        ("scripted:negotiation/nope", "no scripted player 'nope'; choose from"),
        ("no_such_module_xyz.sub:Agent", "cannot import module 'no_such_module_xyz.sub'"),
        ("plugin_agents:Missing", "module 'plugin_agents' has no attribute 'Missing'"),
        ("plugin_agents:EchoAgent?colour=red", "cannot build 'plugin_agents:EchoAgent'"),
        ("hf:", "expected 'hf:<model id | local path | alias>'"),
        ("hf:tiny?temprature=0", "unknown hf agent option(s) ['temprature']"),
        ("openai:", "expected 'openai:<model>@<base_url>'"),
        ("openai:m@http://h/v1?retries=-1", "retries must be >= 0"),
        ("openai:m@http://h/v1?colour=red", "unexpected keyword argument 'colour'"),
        ({"temperature": 0}, "needs a 'spec' key"),
        (42, "expected an agent spec string, an agent or a str -> str callable, got 42"),
    ],
)
def test_bad_specs_say_what_was_expected(spec, message):
    with pytest.raises(AgentSpecError) as info:
        make_agent(spec)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)  # callers may catch ValueError


def test_bad_game_in_scripted_spec():
    with pytest.raises(AgentSpecError, match="nosuchgame"):
        make_agent("scripted:nosuchgame/fair")
