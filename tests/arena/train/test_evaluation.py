"""Held-out evaluation intervals, against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import cluster_bootstrap_ci, design_effect, mean_ci
from palaestra.arena.train.evaluation import (
    episode_item,
    mean_interval,
    proportion_interval,
    seat_metrics,
)


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


# -- repeated items ---------------------------------------------------------------------------
def _width(e) -> float:
    return e.high - e.low


def test_cluster_bootstrap_is_the_plain_bootstrap_when_every_item_is_distinct():
    rng = np.random.default_rng(1)
    values = rng.normal(size=40).tolist()
    clustered = cluster_bootstrap_ci(values, list(range(40)), rounds=500, seed=3)
    naive = mean_ci(values, method="bootstrap", rounds=500, seed=3)
    assert (clustered.low, clustered.high, clustered.n) == (naive.low, naive.high, naive.n)
    # equal in distribution: distinct items in another order draw other resamples, alike
    shuffled = [str(i) for i in rng.permutation(40)]
    widths = [_width(cluster_bootstrap_ci(values, shuffled, seed=s)) for s in range(10)]
    plain = [_width(mean_ci(values, method="bootstrap", rounds=2000, seed=s)) for s in range(10)]
    assert np.mean(widths) == pytest.approx(np.mean(plain), rel=0.05)
    assert design_effect(values, list(range(40))) == 1.0


def test_cluster_bootstrap_is_wider_when_items_repeat():
    # 96 answers to 14 questions (as in the quiz evaluation); each question answered alike on
    # every seed that drew it, so there are 14 observations' worth of information, not 96
    rng = np.random.default_rng(0)
    items = [int(i) for i in rng.integers(0, 14, size=96)]
    per_item = rng.normal(size=14)
    values = [float(per_item[i] + 0.1 * rng.normal()) for i in items]
    clustered = cluster_bootstrap_ci(values, items)
    naive = mean_ci(values, method="bootstrap", rounds=2000)
    assert clustered.mean == pytest.approx(np.mean(values))
    assert _width(clustered) > 1.8 * _width(naive)
    assert design_effect(values, items) > 3.0


def test_design_effect_by_hand():
    # mean 0.5; item sums 2 and 0 over 2 values each: robust variance 2 * (1 + 1) / 16 = 0.25;
    # naive variance s^2 / n = (1 / 3) / 4 = 1 / 12; ratio 3
    assert design_effect([1.0, 1.0, 0.0, 0.0], ["a", "a", "b", "b"]) == pytest.approx(3.0)
    # values that differ within items and agree across them: never below 1
    assert design_effect([1.0, 0.0, 1.0, 0.0], ["a", "a", "b", "b"]) == 1.0
    # no variation to measure it from: the worst case, each item counted once
    assert design_effect([0.5] * 4, ["a", "a", "b", "b"]) == 2.0
    assert design_effect([0.5] * 4, ["a", "b", "c", "d"]) == 1.0
    with pytest.raises(ValueError, match="3 values but 2 item ids"):
        design_effect([1.0, 2.0, 3.0], ["a", "b"])


def _negotiation(seed: int, alice: float, bob: float, item: str) -> EpisodeRecord:
    return EpisodeRecord(
        episode_id=f"eval/0/{seed}",
        env_id="negotiation-v0",
        seed=seed,
        seating={"alice": "policy", "bob": "scripted:negotiation/fair"},
        returns={"alice": alice, "bob": bob},
        info={"item": item},
    )


def test_win_rate_interval_keeps_its_width_at_all_draws():
    records = [_negotiation(s, 0.0, 0.0, f"deal{s}") for s in range(16)]
    m = seat_metrics(records, "policy")
    # Wilson at p = 1/2, n = 16: half-width z * sqrt(1/64 + z^2/1024) / (1 + z^2/16)
    z = 1.959963985
    half = z * math.sqrt(1 / 64 + z * z / 1024) / (1 + z * z / 16)
    assert m["win_rate"] == 0.5
    assert (m["win_rate_low"], m["win_rate_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    assert m["win_rate_items"] == 16 and m["reward_items"] == 16


def test_seat_metrics_count_items_and_widen_for_repeated_deals():
    wins = [1.0, 0.0] * 8
    distinct = [_negotiation(s, w * 5, 5 - w * 5, f"deal{s}") for s, w in enumerate(wins)]
    # the same 16 results, but only 2 deals: one always won, one always lost
    repeated = [_negotiation(s, w * 5, 5 - w * 5, f"deal{int(w)}") for s, w in enumerate(wins)]
    a, b = seat_metrics(distinct, "policy"), seat_metrics(repeated, "policy")
    assert a["reward"] == b["reward"] == 2.5 and a["win_rate"] == b["win_rate"] == 0.5
    assert (a["reward_items"], b["reward_items"]) == (16, 2)
    assert b["win_rate_high"] - b["win_rate_low"] > 1.5 * (a["win_rate_high"] - a["win_rate_low"])
    assert b["reward_high"] - b["reward_low"] > 1.5 * (a["reward_high"] - a["reward_low"])


def test_quiz_rates_cluster_on_the_question():
    # 29 unanswerable answers from 14 questions; each question always answered the same way
    questions = [f"q{i % 14}" for i in range(29)]
    records = [
        EpisodeRecord(
            episode_id=f"eval/0/{s}",
            env_id="quiz-v0",
            seed=s,
            seating={"contestant": "policy"},
            returns={"contestant": -1.0 if int(q[1:]) < 4 else 0.0},
            info={
                "questions": [
                    {
                        "role": "contestant",
                        "item": q,
                        "answerable": False,
                        "verdict": "wrong" if int(q[1:]) < 4 else "abstain",
                    }
                ]
            },
        )
        for s, q in enumerate(questions)
    ]
    m = seat_metrics(records, "policy")
    assert m["unanswerable_wrong_items"] == 14 and m["reward_items"] == 14
    hits = sum(int(q[1:]) < 4 for q in questions)
    plain = proportion_interval(hits, 29)
    assert m["unanswerable_wrong"] == pytest.approx(hits / 29)
    assert m["unanswerable_wrong_high"] - m["unanswerable_wrong_low"] > plain.high - plain.low
    assert episode_item(records[0]) == "q0"
    # never wrong: Wilson at 14 questions, not at 29 answers
    never = [r for r in records if r.info["questions"][0]["verdict"] == "abstain"]
    m = seat_metrics(never, "policy")
    assert m["unanswerable_wrong"] == 0.0 and m["unanswerable_wrong_items"] == 10
    assert m["unanswerable_wrong_high"] == pytest.approx(proportion_interval(0, 10).high)


def test_negotiation_deal_is_the_item_and_repeats_across_seeds():
    from palaestra.envs import spec

    game = spec("negotiation-v0").make_game()
    seen: dict[str, list[int]] = {}
    for seed in range(300):
        state = game.new_state(np.random.default_rng(seed))
        item = game.summary(state)["item"]
        pool = "-".join(map(str, state.counts))
        assert item.startswith(f"pool {pool} alice ")
        seen.setdefault(item, []).append(seed)
    assert len(seen) < 300  # some deals come up on several seeds
