"""Every rating method's interval is a confidence interval at one configured level, and the
tables, ratings.json and tables/ratings.csv say which; a new rater is one class in RATERS."""

from __future__ import annotations

import csv
import math

import pytest
from rich.console import Console

from palaestra.arena import report, summary
from palaestra.arena.ratings import (
    RATERS,
    Elo,
    OpenSkill,
    Rating,
    RatingOptions,
    RatingTable,
    normal_quantile,
)
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import comparisons
from palaestra.arena.summary import OVERALL, SummaryOptions, print_summary, summarize


def duel(index: int, a: str, b: str, score: float) -> EpisodeRecord:
    return EpisodeRecord(
        f"g/{index}", "g-v0", index, {"x": a, "y": b}, {"x": score, "y": 1 - score}
    )


def three_seats(index: int) -> EpisodeRecord:
    seating = {"p0": "strong", "p1": "mid", "p2": "weak"}
    return EpisodeRecord(f"t/{index}", "t-v0", index, seating, {"p0": 3.0, "p1": 2.0, "p2": 1.0})


@pytest.mark.parametrize(("level", "z"), [(0.90, 1.645), (0.95, 1.960), (0.99, 2.576)])
def test_normal_quantile_by_hand(level: float, z: float) -> None:
    assert normal_quantile(level) == pytest.approx(z, abs=5e-4)


def test_openskill_interval_is_mu_plus_minus_z_sigma_at_the_level() -> None:
    records = [three_seats(k) for k in range(4)]
    fit = OpenSkill().fit(records, confidence=0.90)
    for row in fit.ratings:
        sigma = fit.sigma(row.agent)
        assert row.rating == pytest.approx(fit.mu(row.agent))
        assert row.ci_high - row.rating == pytest.approx(1.6449 * sigma, rel=1e-4)
        assert row.rating - row.ci_low == pytest.approx(1.6449 * sigma, rel=1e-4)


def test_elo_bootstrap_of_one_episode_has_no_spread() -> None:
    rows = {r.agent: r for r in Elo(k=32).bootstrap(comparisons([duel(0, "A", "B", 1.0)]), 30)}
    # every round redraws the one episode: A 1000 + 32 * (1 - 0.5) = 1016, B 984
    assert (rows["A"].rating, rows["A"].ci_low, rows["A"].ci_high) == (1016.0, 1016.0, 1016.0)
    assert (rows["B"].ci_low, rows["B"].ci_high) == (984.0, 984.0)


def test_elo_bootstrap_interval_by_hand() -> None:
    # Two episodes, A wins one and loses one. A draw of two episodes with replacement is
    # {win, win}, {loss, loss}, or one of each in either order. After win, win: A gains 16, then
    # 32 * (1 - E) with E = 1 / (1 + 10^(-32/400)) = 0.545922, so 1030.53; loss, loss is the
    # mirror 969.47. Each has probability 1/4, so the 95% percentile interval is their span.
    comps = comparisons([duel(0, "A", "B", 1.0), duel(1, "A", "B", 0.0)])
    rows = {r.agent: r for r in Elo(k=32).bootstrap(comps, rounds=400, seed=2)}
    e = 1 / (1 + 10 ** (-32 / 400))
    assert rows["A"].ci_high == pytest.approx(1016 + 32 * (1 - e))  # 1030.53
    assert rows["A"].ci_low == pytest.approx(984 - 32 * (1 - e))  # 969.47
    # the point estimate averages random orders of the two: each gives 998.53 or 1001.47
    assert 1016 - 32 * e <= rows["A"].rating <= 984 + 32 * e


def test_one_level_for_every_method_in_json_tables_and_csv(tmp_path) -> None:
    records = [duel(k, "strong", "weak", float(k % 4 != 0)) for k in range(16)]
    records += [three_seats(100 + k) for k in range(4)]
    (tmp_path / "episodes.jsonl").write_text("".join(r.to_json() + "\n" for r in records))
    options = SummaryOptions(bootstrap_rounds=40, elo_permutations=5, confidence=0.90)
    result = summarize(records, options)
    for section in result["sections"].values():
        for method, table in section["ratings"].items():
            assert table is not None and table["confidence"] == 0.90, method
            for row in table["ratings"]:
                assert row["ci_low"] <= row["rating"] <= row["ci_high"], (method, row)
    skill = result["sections"]["t-v0"]["ratings"]["openskill"]["ratings"][0]
    assert skill["ci_high"] - skill["rating"] == pytest.approx(1.645 * skill["sigma"], abs=2e-3)
    wider = summarize(records, SummaryOptions(bootstrap_rounds=40, elo_permutations=5))
    bt90 = result["sections"][OVERALL]["ratings"]["bradley_terry"]["ratings"][0]
    bt95 = wider["sections"][OVERALL]["ratings"]["bradley_terry"]["ratings"][0]
    assert bt95["ci_high"] - bt95["ci_low"] >= bt90["ci_high"] - bt90["ci_low"]

    report.write_report(tmp_path, records, summary=result)
    with (tmp_path / "tables" / "ratings.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {"rating", "ci_low", "ci_high", "ci_level", "ci_method"} <= set(rows[0])
    assert "low" not in rows[0]
    assert {r["method"] for r in rows} == {"bradley_terry", "elo", "openskill"}
    assert {r["ci_level"] for r in rows} == {"0.9"}
    methods = {r["method"]: r["ci_method"] for r in rows}
    assert "bootstrap" in methods["bradley_terry"] and "bootstrap" in methods["elo"]
    assert "1.645" in methods["openskill"]
    page = (tmp_path / "report.html").read_text()
    assert "90% confidence interval" in page

    console = Console(record=True, width=200)
    print_summary(records, console, result)
    text = console.export_text()
    assert "Bradley–Terry (90% CI)" in text and "Elo (90% CI)" in text
    assert "OpenSkill μ (90% CI)" in text  # the three-seat game shows OpenSkill
    assert "mu ± 1.645·sigma" in text


class WinsRater:
    """A toy method: an agent's rating is its number of wins; no interval."""

    key = "wins"
    title = "Wins"
    many_seats_only = False

    def rate(self, records, comps, options):
        wins: dict[str, float] = {}
        for c in comps:
            wins.setdefault(c.a, 0.0)
            wins.setdefault(c.b, 0.0)
            wins[c.a] += c.score == 1.0
            wins[c.b] += c.score == 0.0
        rows = [Rating(a, w, games=1) for a, w in sorted(wins.items(), key=lambda x: -x[1])]
        return RatingTable(self.key, self.title, "none", options.confidence, rows)


def test_a_new_rater_is_one_entry_in_raters(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(summary, "RATERS", (*RATERS, WinsRater()))
    monkeypatch.setattr(report, "RATERS", (*RATERS, WinsRater()))
    records = [duel(k, "strong", "weak", 1.0) for k in range(3)]
    result = summarize(records, SummaryOptions(bootstrap_rounds=5, elo_permutations=2))
    wins = result["sections"][OVERALL]["ratings"]["wins"]["ratings"]
    assert [(r["agent"], r["rating"]) for r in wins] == [("strong", 3.0), ("weak", 0.0)]
    console = Console(record=True, width=200)
    print_summary(records, console, result)
    assert "Wins (95% CI)" in console.export_text()
    report.write_report(tmp_path, records, summary=result)
    with (tmp_path / "tables" / "ratings.csv").open() as f:
        assert "wins" in {r["method"] for r in csv.DictReader(f)}
    assert "<th>Wins</th>" in (tmp_path / "report.html").read_text()
    toy = WinsRater().rate([], comparisons(records), RatingOptions())
    assert math.isnan(toy.ratings[0].ci_low)


def test_raters_follow_the_protocol() -> None:
    assert [r.key for r in RATERS] == ["bradley_terry", "elo", "openskill"]
    assert all(isinstance(r.title, str) and callable(r.rate) for r in RATERS)
