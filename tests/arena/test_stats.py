"""Outcomes, W/D/L, mean-reward intervals and clemscore on hand-made records."""

from __future__ import annotations

import math

import pytest

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import (
    ALL_ROLES,
    clem_overall,
    clem_table,
    comparisons,
    failed_roles,
    head_to_head,
    mean_ci,
    outcome,
    played,
    reward_table,
)


def rec(index: int, seating: dict, returns: dict, game: str = "g", **kw) -> EpisodeRecord:
    return EpisodeRecord(f"{game}/{index}", game, index, seating, returns, **kw)


AB = {"alice": "A", "bob": "B"}


@pytest.mark.parametrize(
    ("returns", "scores", "ranks", "winners", "draw"),
    [
        (
            {"alice": 6, "bob": 4},
            {"alice": 1.0, "bob": 0.0},
            {"alice": 0, "bob": 1},
            ("alice",),
            False,
        ),
        (
            {"alice": 0, "bob": 0},
            {"alice": 0.5, "bob": 0.5},
            {"alice": 0, "bob": 0},
            ("alice", "bob"),
            True,
        ),
        (
            {"alice": -1, "bob": 0},
            {"alice": 0.0, "bob": 1.0},
            {"alice": 1, "bob": 0},
            ("bob",),
            False,
        ),
    ],
)
def test_outcome_of_two_player_episodes(returns, scores, ranks, winners, draw):
    result = outcome(rec(0, AB, returns))
    assert (result.scores, result.ranks, result.winners, result.draw) == (
        scores,
        ranks,
        winners,
        draw,
    )


def test_outcome_of_a_three_seat_episode_with_a_shared_first_place():
    result = outcome(rec(0, {"p": "A", "q": "B", "r": "C"}, {"p": 3.0, "q": 3.0, "r": 1.0}))
    assert result.scores == {"p": 0.75, "q": 0.75, "r": 0.0}  # (tie 0.5 + win 1) / 2
    assert result.ranks == {"p": 0, "q": 0, "r": 1}
    assert result.winners == ("p", "q")
    assert not result.draw


def test_outcome_names_a_missing_return():
    with pytest.raises(ValueError, match=r"no return for roles \['bob'\]"):
        outcome(rec(0, AB, {"alice": 1.0}))


def test_comparisons_skip_self_play_seats_and_aborted_episodes():
    records = [
        rec(0, {"p": "A", "q": "A", "r": "B"}, {"p": 2, "q": 1, "r": 1}),
        rec(1, AB, {"alice": 1, "bob": 0}, meta={"aborted": True}),
        rec(2, {"alice": "B", "bob": "A"}, {"alice": 5, "bob": 5}),
    ]
    got = [(c.episode, c.a, c.b, c.score) for c in comparisons(records)]
    assert got == [(0, "A", "B", 1.0), (0, "A", "B", 0.5), (2, "B", "A", 0.5)]


def test_head_to_head_counts_by_hand():
    records = [
        rec(0, AB, {"alice": 6, "bob": 4}),  # A beats B
        rec(1, {"alice": "B", "bob": "A"}, {"alice": 6, "bob": 4}),  # B beats A
        rec(2, AB, {"alice": 5, "bob": 5}),  # draw
        rec(3, AB, {"alice": 7, "bob": 3}),  # A beats B
        rec(4, {"alice": "A", "bob": "C"}, {"alice": 0, "bob": 1}),  # C beats A
    ]
    table = head_to_head(records)
    assert table.agents == ["A", "B", "C"]
    assert table.record("A", "B") == (2, 1, 1)
    assert table.record("B", "A") == (1, 1, 2)
    assert table.record("A", "C") == (0, 0, 1)
    assert table.record("B", "C") == (0, 0, 0)
    assert table.totals("A") == (2, 1, 2)
    assert table.score_rate("A", "B") == pytest.approx(2.5 / 4)
    assert math.isnan(table.score_rate("B", "C"))
    assert table.to_dict()["losses"] == [[0, 1, 1], [2, 0, 0], [0, 0, 0]]
    assert (table.games == table.games.T).all()
    with pytest.raises(ValueError, match="unknown agent 'Z'"):
        table.record("A", "Z")


def test_mean_ci_t_interval_by_hand():
    est = mean_ci([1.0, 2.0, 3.0, 4.0])
    # sd = 1.2910, sem = 0.6455, t(0.975, 3) = 3.1824: half-width 2.0542
    assert est.mean == 2.5
    assert (est.low, est.high) == pytest.approx((0.44572, 4.55428), abs=1e-4)
    assert est.n == 4


def test_mean_ci_bootstrap_is_seeded_and_brackets_the_mean():
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    one = mean_ci(values, method="bootstrap", seed=4)
    assert one == mean_ci(values, method="bootstrap", seed=4)
    assert one.low < 0.625 < one.high
    assert one.low >= 0.0 and one.high <= 1.0  # percentile intervals stay in the data's range


def test_mean_ci_degenerate_and_bad_input():
    single = mean_ci([3.0])
    assert single.mean == 3.0 and math.isnan(single.low) and single.n == 1
    assert single.to_dict() == {"mean": 3.0, "low": None, "high": None, "n": 1}
    assert mean_ci([]).n == 0
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="CI method 'z'"):
        mean_ci([1.0, 2.0], method="z")


def test_reward_table_per_role_and_pooled():
    records = [
        rec(0, AB, {"alice": 6, "bob": 4}),
        rec(1, {"alice": "B", "bob": "A"}, {"alice": 8, "bob": 2}),
        rec(2, AB, {"alice": 4, "bob": 0}, meta={"aborted": True}),  # left out
    ]
    rows = {(r.agent, r.role): r.estimate for r in reward_table(records)}
    assert rows[("A", "alice")].mean == 6.0 and rows[("A", "alice")].n == 1
    assert rows[("A", "bob")].mean == 2.0
    assert rows[("A", ALL_ROLES)].mean == 4.0 and rows[("A", ALL_ROLES)].n == 2
    assert rows[("B", ALL_ROLES)].mean == 6.0


def test_failures_played_and_clemscore_by_hand():
    records = [
        rec(0, AB, {"alice": 6, "bob": 4}),  # A wins: A 100, B 0
        rec(1, AB, {"alice": 5, "bob": 5}),  # draw: 50 each
        rec(
            2,
            AB,
            {"alice": -1, "bob": 0},
            outcome="agent error by alice: timeout",
            errors=[{"role": "alice", "agent": "A", "error": "timeout"}],
        ),  # A failed: not played by A; played (won) by B
        rec(3, AB, {"alice": 0, "bob": -1}, outcome="forfeit by bob: no offer"),  # B forfeited
    ]
    assert failed_roles(records[2]) == {"alice"}
    assert failed_roles(records[3]) == {"bob"}
    assert not played(records[2], "A") and played(records[2], "B")
    rows = {r.agent: r for r in clem_table(records)}
    a, b = rows["A"], rows["B"]
    assert (a.episodes, a.played) == (4, 75.0)
    assert a.quality == pytest.approx((100 + 50 + 100) / 3)
    assert a.clemscore == pytest.approx(0.75 * 250 / 3)
    assert (b.episodes, b.played) == (4, 75.0)
    assert b.quality == pytest.approx((0 + 50 + 100) / 3)
    overall = {
        r.agent: r
        for r in clem_overall(
            [*clem_table(records), *clem_table([rec(9, AB, {"alice": 1, "bob": 0}, game="h")])]
        )
    }
    # macro average over the two games: played (75 + 100) / 2, quality (83.3 + 100) / 2
    assert overall["A"].game == ALL_ROLES
    assert overall["A"].played == pytest.approx(87.5)
    assert overall["A"].quality == pytest.approx((250 / 3 + 100) / 2)
    assert overall["A"].clemscore == pytest.approx(87.5 * (250 / 3 + 100) / 2 / 100)
