"""Frozen league members (snapshots, the initial policy) keep their shared prefixes (the
game's rules) while the policy trains: their caches are keyed by the weights they read."""

from __future__ import annotations

import pytest
import torch

from palaestra.arena.train.config import PolicyConfig
from palaestra.arena.train.policy import ADAPTER, Policy
from palaestra.envs import make


def _first_turns(seeds: range) -> list:
    out = []
    for seed in seeds:
        env = make("kuhn-poker-v0", wrappers=False)
        env.reset(seed=seed, options={"episode": f"e{seed}"})
        out.append(env.observation_for(env.agent_selection))
    return out


@pytest.fixture
def policy(tiny: str) -> Policy:
    torch.manual_seed(0)
    p = Policy(PolicyConfig(spec=f"hf:{tiny}?temperature=1.0&max_new_tokens=3"))
    with torch.no_grad():  # non-zero LoRA B: every adapter changes keys and values
        for name, param in p.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.2)
    return p


def _bump(policy: Policy, marker: str) -> None:
    with torch.no_grad():
        for name, param in policy.model.named_parameters():
            if marker in name:
                param.add_(0.05)


@pytest.mark.parametrize("member", ["snapshot", "initial"])
def test_a_frozen_member_prefills_the_rules_once_while_the_policy_trains(policy, member):
    """Cuts: the ``twin.weights_key`` line of ``snapshot_agent`` / ``initial_agent`` (the
    policy's update then empties the member's store), or ``keep_prefixes=True`` there (the
    runner's ``reset`` between steps then drops the prefixes)."""
    if member == "snapshot":
        agent = policy.snapshot_agent("snapshot:1", policy.trainable_state())
        own = ".snapshot_1."  # the snapshot's adapter
    else:
        agent = policy.initial_agent()
        own = "embed_tokens"  # a base weight (frozen under LoRA)
    store = agent.inner.kv_store
    agent.reset()
    agent.act(_first_turns(range(0, 3)))
    stats = agent.inner._fast.stats
    assert store.shared >= 1 and stats.prefix_tokens > 0
    prefilled = stats.prefix_tokens
    # A training step: the trained adapter changes in place; the runner then resets the
    # agent before the next step's rollouts.
    _bump(policy, f".{ADAPTER}.")
    agent.reset()
    assert len(store) == 0 and store.shared >= 1  # seats dropped, shared prefixes kept
    agent.act(_first_turns(range(3, 6)))
    assert stats.prefix_tokens == prefilled  # the rules were not prefilled again
    # A weight the member reads changes: everything it cached is stale.
    _bump(policy, own)
    agent.act(_first_turns(range(6, 9)))
    assert stats.prefix_tokens > prefilled


def test_the_policy_itself_drops_its_prefixes_at_reset(policy):
    agent = policy.agent
    agent.act(_first_turns(range(0, 3)))
    assert agent.kv_store.shared >= 1
    agent.reset()
    assert agent.kv_store.shared == 0 and len(agent.kv_store) == 0
