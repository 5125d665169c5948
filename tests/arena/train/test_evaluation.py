"""Held-out evaluation intervals, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from palaestra.arena.train.evaluation import mean_interval, proportion_interval


def test_wilson_interval_at_zero_successes():
    # z = 1.959964, z^2 = 3.841459: upper bound z^2 / (n + z^2) = 3.841459 / 32.841459.
    iv = proportion_interval(0, 29)
    assert iv.mean == 0.0 and iv.low == 0.0
    assert iv.high == pytest.approx(0.116969, abs=1e-5)


def test_wilson_interval_by_hand():
    # p = 0.5, n = 100: centre 0.5, half = z * sqrt(0.0025 + z^2 / 40000) / (1 + z^2 / 100)
    z = 1.959963985
    half = z * math.sqrt(0.0025 + z * z / 40000) / (1 + z * z / 100)
    iv = proportion_interval(50, 100)
    assert (iv.low, iv.high) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-9)
    assert 0.0 <= proportion_interval(29, 29).low <= proportion_interval(29, 29).high == 1.0


def test_student_t_interval_by_hand():
    # values 1, 2, 3: mean 2, s = 1, t(0.975, 2) = 4.302653: half = 4.302653 / sqrt(3).
    iv = mean_interval([1.0, 2.0, 3.0])
    assert iv.mean == 2.0
    assert iv.high - iv.mean == pytest.approx(4.302653 / math.sqrt(3), abs=1e-5)
    assert math.isnan(mean_interval([]).mean) and proportion_interval(0, 0).n == 0
