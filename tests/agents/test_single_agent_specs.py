"""The Gymnasium single-agent view takes any agent spec, hf ones included."""

from __future__ import annotations

import gymnasium

from palaestra.agents.hf import HFAgent


def test_gymnasium_make_with_an_hf_opponent(palaestra_home) -> None:
    env = gymnasium.make(
        "palaestra/Negotiation-v0",
        role="bob",
        opponents={"alice": "hf:tiny?temperature=0&max_new_tokens=4"},
    )
    assert isinstance(env.unwrapped.opponents["alice"], HFAgent)
    obs, _ = env.reset(seed=1)
    assert "bob" in obs["text"]
    env.step("OFFER: book=1 hat=1 ball=1")
