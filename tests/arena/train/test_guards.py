from __future__ import annotations

import pytest

from palaestra.arena.train.config import GuardConfig
from palaestra.arena.train.guards import Guards, slope


def test_slope():
    assert slope([1.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert slope([5.0]) == 0.0


def test_reward_hacking_warning():
    guards = Guards(GuardConfig(window=3))
    assert guards.check({"train/reward": 0.0, "eval/reward": 1.0}) == []
    guards.check({"train/reward": 0.5})
    warnings = guards.check({"train/reward": 1.0, "eval/reward": 0.5})
    assert len(warnings) == 1 and "hacking" in warnings[0]
    # held-out rising with training reward: no warning
    assert guards.check({"train/reward": 1.5, "eval/reward": 0.9}) == []


def test_length_and_entropy_collapse():
    guards = Guards(GuardConfig(min_length_ratio=0.5, min_entropy_ratio=0.5))
    assert guards.check({"train/length": 40.0, "train/entropy": 2.0}) == []
    assert guards.check({"train/length": 25.0, "train/entropy": 1.5}) == []
    warnings = guards.check({"train/length": 10.0, "train/entropy": 0.5})
    assert len(warnings) == 2
    assert "length collapsed" in warnings[0] and "entropy collapsed" in warnings[1]


def test_flat_groups_warn_only_when_most_groups_stay_flat_for_the_window():
    guards = Guards(GuardConfig(window=3, max_flat_groups=0.9))
    assert guards.check({"train/flat_groups": 1.0}) == []  # not a full window yet
    assert guards.check({"train/flat_groups": 1.0}) == []
    warnings = guards.check({"train/flat_groups": 0.8})  # mean 0.93 over 3 steps
    assert len(warnings) == 1 and "93% of the reward groups were flat" in warnings[0]
    assert guards.check({"train/flat_groups": 0.5}) == []  # mean 0.77
    restored = Guards(GuardConfig(window=3, max_flat_groups=0.9))
    restored.load_state_dict(guards.state_dict())
    assert restored.flat == [1.0, 1.0, 0.8, 0.5]
