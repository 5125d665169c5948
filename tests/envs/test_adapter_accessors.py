"""The adapter's public accessors: what the arena's runner reads instead of private state."""

from __future__ import annotations

import pytest

from palaestra.envs import make


def test_moves_invalid_counts_summary_and_forfeit() -> None:
    env = make("negotiation-v0", wrappers=False)
    env.reset(seed=3)
    assert list(env.moves) == [] and env.invalid_moves == {"alice": 0, "bob": 0}
    env.step("ACCEPT")  # nothing to accept yet: invalid, retried under the default policy
    env.step("OFFER: book=1 hat=1 ball=1")
    assert [(m.role, m.valid) for m in env.moves] == [("alice", False), ("alice", True)]
    assert env.invalid_moves == {"alice": 1, "bob": 0}
    env.forfeit("bob", "agent error by bob: boom")
    assert env.state.done and env.state.outcome == "agent error by bob: boom"
    assert all(env.terminations.values())
    assert env.summary() == env.game.summary(env.state)


def test_forfeit_names_an_unknown_role() -> None:
    env = make("negotiation-v0", wrappers=False)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="no role 'carol'"):
        env.forfeit("carol", "x")
