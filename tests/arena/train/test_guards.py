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


def test_kl_guard_warns_when_the_window_mean_exceeds_max_kl():
    guards = Guards(GuardConfig(window=2, max_kl=0.5))
    assert guards.check({"train/kl": 0.9}) == []  # not a full window yet
    assert guards.check({"train/kl": 0.05}) == []  # mean 0.475
    warnings = guards.check({"train/kl": 1.2})  # mean 0.625
    assert len(warnings) == 1 and "KL to the reference averaged 0.625" in warnings[0]
    assert guards.check({"train/reward": 1.0}) == []  # a step without an update logs no KL
    assert guards.kls == [0.9, 0.05, 1.2]
    off = Guards(GuardConfig(window=2, max_kl=None))
    assert off.check({"train/kl": 9.0}) == [] and off.check({"train/kl": 9.0}) == []


def test_invalid_rate_guard_warns_on_a_high_rate_and_on_a_rise():
    guards = Guards(GuardConfig(window=2, max_invalid_rate=0.6, max_invalid_rise=0.2))
    assert guards.check({"train/invalid_rate": 0.0}) == []
    assert guards.check({"train/invalid_rate": 0.1}) == []  # start: mean 0.05
    assert guards.check({"train/invalid_rate": 0.2}) == []  # last window 0.15: +0.10
    rose = guards.check({"train/invalid_rate": 0.4})  # last window 0.30: +0.25
    assert len(rose) == 1 and "rose from 5% (first 2 steps) to 30%" in rose[0]
    both = guards.check({"train/invalid_rate": 0.9})  # last window 0.65
    assert len(both) == 2 and "65% of the policy's replies were invalid" in both[0]
    restored = Guards(GuardConfig(window=2))
    restored.load_state_dict(guards.state_dict())
    assert restored.invalid == [0.0, 0.1, 0.2, 0.4, 0.9]
    # a checkpoint written before these guards existed still loads
    old = {k: v for k, v in guards.state_dict().items() if k not in ("kls", "invalid")}
    restored.load_state_dict(old)
    assert restored.invalid == [] and restored.kls == []


def test_invalid_rate_guard_ignores_a_rate_that_starts_high_and_stays():
    guards = Guards(GuardConfig(window=2, max_invalid_rate=None, max_invalid_rise=0.1))
    assert all(guards.check({"train/invalid_rate": 0.8}) == [] for _ in range(5))
