from __future__ import annotations

import numpy as np
import pytest

from palaestra.arena.train.league import League, match_score


def test_win_rate_smoothing_and_pfsp_weights_by_hand():
    league = League(sampling="pfsp", power=1.0, prior_games=2.0)
    for score in (1.0, 1.0, 1.0, 0.5):
        league.record("easy", score)
    league.record("hard", 0.0)
    league.record("hard", 0.0)
    # easy: (3.5 + 1) / (4 + 2) = 0.75; hard: (0 + 1) / (2 + 2) = 0.25; new: 0.5; self 0.5
    assert league.win_rate("easy") == pytest.approx(0.75)
    assert league.win_rate("hard") == pytest.approx(0.25)
    assert league.win_rate("self") == 0.5
    w = league.weights(["easy", "hard", "new"])
    # (1 - x): 0.25, 0.75, 0.5 -> / 1.5
    assert w == pytest.approx([1 / 6, 1 / 2, 1 / 3])
    league.power = 2.0
    # squares: 0.0625, 0.5625, 0.25 -> / 0.875
    assert league.weights(["easy", "hard", "new"]) == pytest.approx([1 / 14, 9 / 14, 4 / 14])


def test_pfsp_draws_harder_opponents_more_often():
    league = League()
    for _ in range(20):
        league.record("beaten", 1.0)
        league.record("strong", 0.0)
    rng = np.random.default_rng(0)
    draws = [league.sample(["beaten", "strong"], rng) for _ in range(500)]
    assert draws.count("strong") > 450


def test_uniform_and_snapshots():
    league = League(sampling="uniform", max_snapshots=2)
    assert league.expand(["snapshots"]) == ["self"]  # nothing frozen yet: self-play
    league.add_snapshot(5, "a.pt")
    league.add_snapshot(10, "b.pt")
    name, evicted = league.add_snapshot(15, "c.pt")
    assert (name, evicted) == ("snapshot:15", "a.pt")
    assert league.expand(["scripted:x/y", "snapshots"]) == [
        "scripted:x/y", "snapshot:10", "snapshot:15"
    ]  # fmt: skip
    assert league.weights(["a", "b"]) == pytest.approx([0.5, 0.5])
    copy = League()
    copy.load_state_dict(league.state_dict())
    assert copy.snapshots == league.snapshots


def test_match_score_and_bad_input():
    assert (match_score(3, 1), match_score(1, 1), match_score(0, 1)) == (1.0, 0.5, 0.0)
    with pytest.raises(ValueError, match="score"):
        League().record("x", 2.0)
    with pytest.raises(ValueError, match="sampling"):
        League(sampling="elo")
