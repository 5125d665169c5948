from __future__ import annotations

import pytest

from palaestra.arena.train.advantages import (
    RoleBaseline,
    discounted_returns,
    flat_group_fraction,
    group_advantages,
    turn_credits,
)


def test_discounted_returns_by_hand():
    # G2 = 4; G1 = 0 + 0.5*4 = 2; G0 = 1 + 0.5*2 = 2
    assert discounted_returns([1.0, 0.0, 4.0], 0.5) == pytest.approx([2.0, 2.0, 4.0])
    # discount 1: every turn gets the rest of the episode (cumulative dialogue reward)
    assert discounted_returns([1.0, 2.0, 3.0], 1.0) == pytest.approx([6.0, 5.0, 3.0])
    assert discounted_returns([], 0.9) == []


def test_step_credit_is_the_turn_reward():
    assert turn_credits([1.0, -1.0, 3.0], "step", 0.5) == [1.0, -1.0, 3.0]
    with pytest.raises(ValueError, match="credit mode"):
        turn_credits([1.0], "token", 1.0)


def test_discount_out_of_range():
    with pytest.raises(ValueError, match="discount"):
        discounted_returns([1.0], 1.5)


def test_group_relative_by_hand():
    # group g: episodes a (return 1), b (3); group h: episode c (5). a has two turns.
    returns = {"a": 1.0, "b": 3.0, "c": 5.0}
    credits = [1.0, 0.5, 3.0, 5.0]
    adv = group_advantages(credits, ["g", "g", "g", "h"], ["a", "a", "b", "c"], returns)
    # mean of g over episodes (not turns) = 2, of h = 5
    assert adv == pytest.approx([-1.0, -1.5, 1.0, 0.0])


def test_group_relative_std_scaling_by_hand():
    returns = {"a": 1.0, "b": 3.0, "c": 5.0}
    adv = group_advantages(
        [1.0, 3.0, 5.0], ["g", "g", "h"], ["a", "b", "c"], returns, scale_std=True, eps=1e-6
    )
    # population std of {1, 3} = 1; the single-episode group has std 0 -> 0 / eps = 0
    assert adv == pytest.approx([-1.0 / (1 + 1e-6), 1.0 / (1 + 1e-6), 0.0])


def test_role_baseline_by_hand():
    rb = RoleBaseline(decay=0.5)
    returns = {"e1": 4.0, "e2": 2.0, "e3": 10.0}
    adv = rb.advantages(
        [4.0, 2.0, 10.0],
        [("g", "alice"), ("g", "alice"), ("g", "bob")],
        ["e1", "e2", "e3"],
        returns,
    )
    # alice: b = 0.5*0 + 0.5*4 = 2, then 0.5*2 + 0.5*2 = 2; bob: 0.5*10 = 5
    assert rb.values == {"g/alice": 2.0, "g/bob": 5.0}
    assert adv == pytest.approx([2.0, 0.0, 5.0])
    # baselines carry over to the next batch
    assert rb.advantages([0.0], [("g", "bob")], ["e4"], {"e4": 0.0}) == pytest.approx([-2.5])


def test_role_baseline_counts_each_episode_once_and_round_trips():
    rb = RoleBaseline(decay=0.5)
    rb.advantages([1.0, 1.0], [("g", "a"), ("g", "a")], ["e", "e"], {"e": 2.0})
    assert rb.values["g/a"] == 1.0  # one update, not two
    other = RoleBaseline(decay=0.1)
    other.load_state_dict(rb.state_dict())
    assert other.values == rb.values and other.decay == 0.5


def test_flat_group_fraction_counts_groups_whose_episodes_all_returned_the_same():
    groups = ["g1", "g1", "g1", "g2", "g2", "g3"]
    seats = ["e1", "e1", "e2", "e3", "e4", "e5"]  # g1: e1 twice (two turns) and e2
    returns = {"e1": 1.0, "e2": 1.0, "e3": 0.0, "e4": 2.0, "e5": -1.0}
    # g1 flat (1, 1), g2 not (0, 2), g3 a single episode: flat.
    assert flat_group_fraction(groups, seats, returns) == pytest.approx(2 / 3)
    assert flat_group_fraction([], [], {}) == 0.0
