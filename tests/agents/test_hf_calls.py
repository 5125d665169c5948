"""HFAgent.calls: the public counter the trainer saves and restores on resume."""

from __future__ import annotations

import pytest

from palaestra.agents import make_agent


def test_calls_count_and_restore_the_sampling_stream(palaestra_home, observations) -> None:
    agent = make_agent("hf:tiny?temperature=1&max_new_tokens=6&seed=5")
    first = [a.text for a in agent.act(observations[:1])]
    second = [a.text for a in agent.act(observations[:1])]
    assert agent.calls == 2
    agent.calls = 1  # as a resumed trainer does
    assert [a.text for a in agent.act(observations[:1])] == second
    agent.calls = 0
    assert [a.text for a in agent.act(observations[:1])] == first
    with pytest.raises(ValueError, match="got -1"):
        agent.calls = -1
