"""Ratings against hand-computed values, closed forms and an independent fitting method."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from palaestra.arena.ratings import ELO_SCALE, BradleyTerry, Elo, OpenSkill
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import comparisons


def duel(index: int, a: str, b: str, score: float, game: str = "g") -> EpisodeRecord:
    """A two-player episode: ``a`` in seat x, ``b`` in seat y; ``score`` 1, 0.5 or 0 for ``a``."""
    return EpisodeRecord(
        f"{game}/{index}", game, index, {"x": a, "y": b}, {"x": score, "y": 1.0 - score}
    )


def matches(wins: int, draws: int, losses: int, a: str = "A", b: str = "B") -> list[EpisodeRecord]:
    scores = [1.0] * wins + [0.5] * draws + [0.0] * losses
    return [duel(k, a, b, s) for k, s in enumerate(scores)]


def simulate(strengths: dict[str, float], per_pair: int, seed: int) -> list[EpisodeRecord]:
    """Round robin where P(a beats b) follows Elo-scale ratings ``strengths``."""
    rng = np.random.default_rng(seed)
    names = sorted(strengths)
    records = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            p = 1.0 / (1.0 + 10 ** ((strengths[b] - strengths[a]) / 400))
            for _ in range(per_pair):
                records.append(duel(len(records), a, b, float(rng.random() < p)))
    return records


# -- Elo ----------------------------------------------------------------------------------------
def test_elo_single_updates_by_hand():
    comps = comparisons([duel(0, "A", "B", 1.0), duel(1, "A", "B", 0.0)])
    first = {r.agent: r.rating for r in Elo(k=32).fit(comps, order=[0])}
    assert first == {"A": 1016.0, "B": 984.0}  # expected 0.5 each: 32 * (1 - 0.5)
    both = {r.agent: r.rating for r in Elo(k=32).fit(comps)}
    expected_a = 1 / (1 + 10 ** ((984 - 1016) / 400))  # 0.54592...
    assert both["A"] == pytest.approx(1016 - 32 * expected_a)  # 998.53
    assert both["B"] == pytest.approx(984 + 32 * expected_a)
    assert both["A"] == pytest.approx(998.5305, abs=1e-3)


def test_elo_history_starts_at_the_initial_rating_and_ends_at_the_fit():
    comps = comparisons([duel(0, "A", "B", 1.0), duel(1, "A", "B", 0.0), duel(2, "B", "C", 0.5)])
    agents, history = Elo(k=32).history(comps)
    assert agents == ["A", "B", "C"]
    assert history.shape == (4, 3)
    assert history[0].tolist() == [1000.0, 1000.0, 1000.0]
    assert history[1].tolist() == [1016.0, 984.0, 1000.0]
    final = {r.agent: r.rating for r in Elo(k=32).fit(comps)}
    assert history[-1].tolist() == [final["A"], final["B"], final["C"]]


def test_elo_updates_a_many_seat_episode_from_pre_episode_ratings():
    record = EpisodeRecord("e", "g3", 0, {"p": "A", "q": "B", "r": "C"}, {"p": 3, "q": 2, "r": 1})
    ratings = {r.agent: r.rating for r in Elo(k=20).fit(comparisons([record]))}
    # every pair expected 0.5: A gains 10 twice, B +10 -10, C loses 10 twice
    assert ratings == {"A": 1020.0, "B": 1000.0, "C": 980.0}


def test_elo_permutation_average_does_not_depend_on_record_order():
    records = matches(10, 0, 10)  # A wins the first ten, loses the last ten
    comps = comparisons(records)
    forward = {r.agent: r.rating for r in Elo().fit(comps)}
    backward = {r.agent: r.rating for r in Elo().fit(comps, order=range(19, -1, -1))}
    assert forward["A"] < 1000 < backward["A"]  # online Elo remembers the last results

    for recs in (records, list(reversed(records))):
        averaged = {r.agent: r for r in Elo().fit_permutations(comparisons(recs), 200, seed=3)}
        a = averaged["A"]
        assert abs(a.rating - 1000) < 5  # 10-10: no edge, whatever the record order
        assert a.rating + averaged["B"].rating == pytest.approx(2000)  # Elo is zero-sum
        assert math.isnan(a.ci_low)  # a point estimate: the interval is bootstrap()'s


# -- Bradley–Terry ------------------------------------------------------------------------------
@pytest.mark.parametrize(("wins", "draws", "losses"), [(70, 0, 30), (60, 20, 20), (9, 2, 1)])
def test_bt_two_players_matches_the_closed_form(wins, draws, losses):
    n = wins + draws + losses
    p = (wins + draws / 2) / n
    fit = BradleyTerry(l2=0.0).fit(comparisons(matches(wins, draws, losses)))
    a, b = fit.rating("A").rating, fit.rating("B").rating
    assert a - b == pytest.approx(400 * math.log10(p / (1 - p)), abs=1e-3)
    assert (a + b) / 2 == pytest.approx(1000.0)
    assert fit.win_probability("A", "B").win == pytest.approx(p, abs=1e-6)


def test_bt_davidson_two_players_matches_the_closed_form():
    wins, draws, losses = 50, 20, 30
    fit = BradleyTerry(ties="davidson", l2=0.0).fit(comparisons(matches(wins, draws, losses)))
    # three outcomes, two parameters: the MLE reproduces the frequencies exactly
    assert fit.tie == pytest.approx(draws / math.sqrt(wins * losses), rel=1e-5)
    diff = fit.rating("A").rating - fit.rating("B").rating
    assert diff == pytest.approx(400 * math.log10(wins / losses), abs=1e-3)
    prob = fit.win_probability("A", "B")
    assert (prob.win, prob.draw, prob.loss) == pytest.approx((0.5, 0.2, 0.3), abs=1e-5)


def hunter_mm(wins: np.ndarray, iterations: int = 5000) -> np.ndarray:
    """Hunter's (2004) MM iteration for the BT MLE, an independent check of the scipy fit."""
    n = wins.shape[0]
    games = wins + wins.T
    pi = np.ones(n)
    for _ in range(iterations):
        denom = (games / (pi[:, None] + pi[None, :])).sum(axis=1)
        pi = wins.sum(axis=1) / denom
        pi /= np.exp(np.log(pi).mean())
    return np.log(pi)


def test_bt_many_players_agrees_with_hunter_mm():
    # W[i, j]: wins of i over j; strongly connected, so the MLE exists without a penalty
    wins = np.array([[0, 7, 8, 9], [3, 0, 6, 7], [2, 4, 0, 5], [1, 3, 5, 0]])
    names = ["A", "B", "C", "D"]
    records = []
    for i in range(4):
        for j in range(4):
            for _ in range(wins[i, j]):
                records.append(duel(len(records), names[i], names[j], 1.0))
    fit = BradleyTerry(l2=0.0).fit(comparisons(records))
    mm = hunter_mm(wins.astype(float))
    got = np.array([fit.rating(a).rating for a in names])
    assert got == pytest.approx(1000 + ELO_SCALE * (mm - mm.mean()), abs=1e-2)
    assert [r.agent for r in fit.ratings] == names


def test_bt_recovers_known_strengths_within_bootstrap_intervals():
    truth = {"A": 1150.0, "B": 1050.0, "C": 950.0, "D": 850.0}  # mean 1000: BT's anchor
    records = simulate(truth, per_pair=120, seed=7)
    fit = BradleyTerry().bootstrap(comparisons(records), rounds=150, seed=1)
    assert [r.agent for r in fit.ratings] == ["A", "B", "C", "D"]
    for row in fit.ratings:
        assert row.ci_low <= truth[row.agent] <= row.ci_high, row
        assert row.ci_high - row.ci_low < 120  # 360 games each: tens of points, not hundreds
        assert row.games == 360


def test_bootstrap_is_seeded_and_contains_the_truth_for_a_duel():
    records = simulate({"A": 1100.0, "B": 900.0}, per_pair=200, seed=11)
    comps = comparisons(records)
    one = BradleyTerry().bootstrap(comps, rounds=100, seed=5)
    two = BradleyTerry().bootstrap(comps, rounds=100, seed=5)
    assert one.ratings == two.ratings
    a = one.rating("A")
    assert a.ci_low <= 1100.0 <= a.ci_high
    low, high = one.win_probability_interval("A", "B")
    true_p = 1 / (1 + 10 ** (-200 / 400))
    assert low <= true_p <= high


def test_bt_anchor_agent_and_unbeaten_agent():
    comps = comparisons(
        matches(10, 0, 0) + [duel(20 + k, "B", "C", float(k % 2)) for k in range(6)]
    )
    fit = BradleyTerry(anchor_agent="C", anchor=1200.0).fit(comps)
    assert fit.rating("C").rating == pytest.approx(1200.0)
    assert math.isfinite(fit.rating("A").rating)  # the ridge keeps the unbeaten one finite
    assert fit.rating("A").rating > fit.rating("B").rating
    plain = BradleyTerry().fit(comps)
    diff = plain.rating("A").rating - plain.rating("C").rating
    assert fit.rating("A").rating - 1200.0 == pytest.approx(diff)


def test_bt_rejects_bad_arguments():
    comps = comparisons(matches(3, 0, 2))
    with pytest.raises(ValueError, match="tie model"):
        BradleyTerry(ties="thirds")
    with pytest.raises(ValueError, match="anchor agent 'Z'"):
        BradleyTerry(anchor_agent="Z").fit(comps)
    with pytest.raises(ValueError, match="unknown agent 'Z'"):
        BradleyTerry().fit(comps).win_probability("A", "Z")
    with pytest.raises(ValueError, match="no comparisons"):
        BradleyTerry().fit([])
    with pytest.raises(ValueError, match="bootstrap"):
        BradleyTerry().fit(comps).win_probability_interval("A", "B")


def test_bootstrap_resamples_whole_episodes():
    # one three-seat episode gives three comparisons that must travel together
    record = EpisodeRecord("e", "g3", 0, {"p": "A", "q": "B", "r": "C"}, {"p": 3, "q": 2, "r": 1})
    comps = comparisons([record])
    assert len(comps) == 3
    fit = BradleyTerry().bootstrap(comps, rounds=20, seed=0)
    # a single episode resampled is always that episode: no spread at all
    for row in fit.ratings:
        assert row.ci_low == pytest.approx(row.ci_high)


# -- OpenSkill ----------------------------------------------------------------------------------
def test_openskill_orders_a_three_player_game_with_a_dominant_player():
    rng = np.random.default_rng(0)
    records = []
    for k in range(60):
        seats = rng.permutation(["Ace", "Bea", "Cal"])
        returns = {"Ace": 10.0, "Bea": float(rng.integers(0, 6)), "Cal": float(rng.integers(0, 4))}
        seating = {f"seat{s}": name for s, name in enumerate(seats)}
        records.append(
            EpisodeRecord(
                f"t/{k}", "three-v0", k, seating, {r: returns[n] for r, n in seating.items()}
            )
        )
    records.append(
        EpisodeRecord(
            "self", "three-v0", 99, {"a": "Ace", "b": "Ace", "c": "Bea"}, {"a": 1, "b": 1, "c": 0}
        )
    )
    fit = OpenSkill().fit(records)
    assert [r.agent for r in fit.ratings] == ["Ace", "Bea", "Cal"]
    assert fit.skipped == 1  # one agent in two seats says nothing about strength
    assert fit.ordinal("Ace") > fit.ordinal("Bea") > fit.ordinal("Cal")
    assert fit.win_probability("Ace", "Cal") > 0.8
    assert fit.win_probability("Ace", "Bea") + fit.win_probability("Bea", "Ace") == pytest.approx(
        1.0
    )
    assert all(r.games == 60 for r in fit.ratings)


def test_bt_davidson_many_players_agrees_with_a_generic_optimizer():
    # (a, b, a's wins, draws, b's wins) for three agents
    table = [("A", "B", 6, 3, 2), ("B", "C", 5, 2, 4), ("A", "C", 7, 1, 1)]
    records = []
    for a, b, w, d, lost in table:
        for score in [1.0] * w + [0.5] * d + [0.0] * lost:
            records.append(duel(len(records), a, b, score))
    fit = BradleyTerry(ties="davidson", l2=0.0).fit(comparisons(records))

    def nll(x):  # θ_B, θ_C (θ_A = 0), log ν, written straight from Davidson (1970)
        theta = {"A": 0.0, "B": x[0], "C": x[1]}
        nu = math.exp(x[2])
        total = 0.0
        for a, b, w, d, lost in table:
            pa, pb = math.exp(theta[a]), math.exp(theta[b])
            z = pa + pb + nu * math.sqrt(pa * pb)
            total -= w * math.log(pa / z) + d * math.log(nu * math.sqrt(pa * pb) / z)
            total -= lost * math.log(pb / z)
        return total

    ref = minimize(
        nll,
        [0.0, 0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000},
    )
    assert fit.tie == pytest.approx(math.exp(ref.x[2]), rel=1e-4)
    a = fit.rating("A").rating
    assert fit.rating("B").rating - a == pytest.approx(ELO_SCALE * ref.x[0], abs=0.05)
    assert fit.rating("C").rating - a == pytest.approx(ELO_SCALE * ref.x[1], abs=0.05)


def test_elo_rejects_a_bad_step_and_openskill_skips_aborted_episodes():
    with pytest.raises(ValueError, match="k > 0"):
        Elo(k=0)
    records = [duel(0, "A", "B", 1.0), duel(1, "A", "B", 1.0)]
    records[1].meta["aborted"] = True
    fit = OpenSkill().fit(records)
    assert fit.skipped == 1
    assert fit.mu("A") > 25.0 > fit.mu("B")
