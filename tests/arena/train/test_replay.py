from __future__ import annotations

import numpy as np
import pytest

from palaestra.arena.train.replay import ReplayBuffer, drop_zero_advantage


def test_drop_zero_advantage():
    kept, adv = drop_zero_advantage(["a", "b", "c"], [0.0, -0.5, 1e-12])
    assert kept == ["b"] and adv == [-0.5]


def test_priorities_and_weights_by_hand():
    buf = ReplayBuffer(capacity=10, alpha=1.0, beta=1.0)
    buf.add(["a", "b", "c", "z"], [1.0, -3.0, 0.0, 4.0])  # zero advantage is not stored
    assert buf.items == ["a", "b", "z"]
    # P = |A| / sum = 1/8, 3/8, 4/8
    assert buf.probabilities() == pytest.approx([1 / 8, 3 / 8, 4 / 8])
    # w = (N P)^-1 = 8/3, 8/9, 8/12; normalised by the max (8/3)
    assert buf.weights([0, 1, 2]) == pytest.approx([1.0, 1 / 3, 1 / 4])


def test_alpha_and_beta_exponents_by_hand():
    buf = ReplayBuffer(capacity=10, alpha=0.5, beta=0.5)
    buf.add(["a", "b"], [1.0, 4.0])
    # p^0.5 = 1, 2 -> P = 1/3, 2/3; w = (2P)^-0.5 = (2/3)^-0.5, (4/3)^-0.5
    assert buf.probabilities() == pytest.approx([1 / 3, 2 / 3])
    w = np.array([(2 / 3) ** -0.5, (4 / 3) ** -0.5])
    assert buf.weights([0, 1]) == pytest.approx(w / w.max())


def test_capacity_evicts_oldest_and_sampling_follows_priorities():
    buf = ReplayBuffer(capacity=2, alpha=1.0, beta=0.0)
    buf.add(["a", "b", "c"], [1.0, 1.0, 3.0])
    assert buf.items == ["b", "c"]
    items, weights = buf.sample(4000, np.random.default_rng(0))
    assert weights == pytest.approx(np.ones(4000))  # beta 0: no correction
    assert items.count("c") / 4000 == pytest.approx(0.75, abs=0.03)
    other = ReplayBuffer(capacity=2)
    other.load_state_dict(buf.state_dict())
    assert other.items == buf.items and other.priorities == buf.priorities


def test_empty_and_disabled():
    buf = ReplayBuffer(capacity=0)
    buf.add(["a"], [1.0])
    assert len(buf) == 0
    assert buf.sample(3, np.random.default_rng(0)) == ([], pytest.approx(np.zeros(0)))
