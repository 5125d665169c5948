"""What a run comes to: ``ratings.json`` and the terminal table at the end of a run.

:func:`summarize` turns episode records into one JSON-serialisable dict (ratings with
confidence intervals, win/draw/loss, mean rewards, clemscore), per game and over all games;
:func:`write_ratings` saves it as ``ratings.json``; :func:`print_summary` prints it as
tables (rich, plain, Markdown or CSV; :mod:`palaestra.arena.text_tables`).
:func:`read_episodes` reads a run directory's ``episodes.jsonl`` back.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from palaestra.arena.ratings import RATERS, RatingOptions
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import (
    ALL_ROLES,
    AgentCounts,
    agent_counts,
    agents_of,
    clem_overall,
    clem_table,
    comparisons,
    games_of,
    head_to_head,
    reward_table,
)
from palaestra.arena.text_tables import TextTable, check_format, print_tables

EPISODES_FILE = "episodes.jsonl"
RATINGS_FILE = "ratings.json"
OVERALL = "overall"
"""The key of the all-games section in :func:`summarize`'s ``"sections"``."""

SUMMARY_SCHEMA = 2


@dataclass(frozen=True)
class SummaryOptions:
    """How :func:`summarize` estimates.

    Attributes:
        bootstrap_rounds: Refits on resampled episodes for the Bradley–Terry and Elo CIs.
        elo_permutations: Episode orders the order-independent Elo averages over.
        confidence: Coverage of every interval (every rating method's and the rewards').
        seed: Seed of the bootstrap and permutation generators.
        elo_k: Elo step size.
        ties: Bradley–Terry tie model (``"half"`` or ``"davidson"``).
        ci_method: Mean-reward interval, ``"t"`` or ``"bootstrap"``.
    """

    bootstrap_rounds: int = 200
    elo_permutations: int = 50
    confidence: float = 0.95
    seed: int = 0
    elo_k: float = 32.0
    ties: str = "half"
    ci_method: str = "t"

    def rating_options(self) -> RatingOptions:
        """The settings every rater reads (:mod:`palaestra.arena.ratings`)."""
        return RatingOptions(
            confidence=self.confidence,
            bootstrap_rounds=self.bootstrap_rounds,
            elo_permutations=self.elo_permutations,
            seed=self.seed,
            elo_k=self.elo_k,
            ties=self.ties,
        )


def read_episodes(path: str | os.PathLike[str]) -> list[EpisodeRecord]:
    """The records of a run directory's ``episodes.jsonl`` (or of that file itself).

    A torn last line (a run killed mid-write) is skipped; a bad line anywhere else raises.

    Raises:
        FileNotFoundError: If there is no episodes file.
        ValueError: If a line other than the last is not a valid record.
    """
    path = Path(path)
    if path.is_dir():
        path = path / EPISODES_FILE
    if not path.exists():
        raise FileNotFoundError(f"no episodes file at {path}")
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(EpisodeRecord.from_json(line))
        except (ValueError, TypeError) as err:
            if number == len(lines):
                break
            raise ValueError(f"{path}:{number}: not an episode record ({err})") from err
    return records


def summarize(
    records: Sequence[EpisodeRecord], options: SummaryOptions | None = None
) -> dict[str, Any]:
    """Ratings, W/D/L, mean rewards and clemscore of ``records``, per game and overall.

    The result is plain JSON (``json.dumps`` works on it)::

        {"schema": 1, "episodes": 120, "agents": [...], "games": [...], "options": {...},
         "sections": {"overall": SECTION, "negotiation-v0": SECTION, ...}}

    where a SECTION holds ``episodes``, ``comparisons``, ``ratings`` (one entry per rater of
    :data:`~palaestra.arena.ratings.RATERS`, keyed ``bradley_terry``, ``elo``, ``openskill``:
    ``{method, title, interval, confidence, ratings: [{agent, rating, ci_low, ci_high, games,
    ...}], ...}`` best first, where ``ci_low``/``ci_high`` are the confidence interval at
    ``confidence`` and ``interval`` says how the method computes it; ``None`` when the method
    has nothing to rate), ``win_probability`` (``[a][b]``: the Bradley–Terry probability that
    ``a`` beats ``b``, ties as half), ``head_to_head`` (``agents, wins, draws, losses``
    matrices), ``rewards`` (``game, agent, role, mean, low, high, n``; role ``"*"`` pools the
    roles; in the overall section there is one row per game) and ``clemscore`` (``game, agent,
    episodes, played, quality, clemscore``; the overall section macro-averages the games, with
    game ``"*"``).

    The summary depends on the set of records, not on their order: they are put in a canonical
    order first (game, seed, episode id), so a resumed or concurrent run, whose file order
    differs from one run to the next, summarizes the same.
    """
    options = options or SummaryOptions()
    records = sorted(records, key=lambda r: (r.env_id, r.seed, r.episode_id))
    sections = {OVERALL: _section(records, options, overall=True)}
    for game in games_of(records):
        sections[game] = _section([r for r in records if r.env_id == game], options)
    return {
        "schema": SUMMARY_SCHEMA,
        "episodes": len(records),
        "agents": agents_of(records),
        "games": games_of(records),
        "failed_episodes": sum(1 for r in records if r.failed),
        "options": options.__dict__.copy(),
        "sections": sections,
    }


def _section(
    records: list[EpisodeRecord], options: SummaryOptions, overall: bool = False
) -> dict[str, Any]:
    comps = comparisons(records)
    section: dict[str, Any] = {"episodes": len(records), "comparisons": len(comps)}
    rating_options = options.rating_options()
    section["ratings"] = {}
    section["win_probability"] = {}
    for rater in RATERS:
        table = rater.rate(records, comps, rating_options)
        section["ratings"][rater.key] = table.to_dict() if table is not None else None
        if rater.key == "bradley_terry" and table is not None:
            bt = table.fit
            section["win_probability"] = {
                a: {b: round(float(bt.win_probability(a, b).win), 4) for b in bt.agents if b != a}
                for a in bt.agents
            }
    section["head_to_head"] = head_to_head(records).to_dict()
    section["rewards"] = [
        row.to_dict()
        for row in reward_table(records, options.confidence, options.ci_method, options.seed)
    ]
    clem = clem_table(records)
    section["clemscore"] = [row.to_dict() for row in (clem_overall(clem) if overall else clem)]
    return section


def write_ratings(
    run_dir: str | os.PathLike[str],
    records: Sequence[EpisodeRecord] | None = None,
    options: SummaryOptions | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write ``ratings.json`` (the :func:`summarize` dict) into ``run_dir``.

    Args:
        run_dir: The run directory.
        records: The records; read from ``run_dir/episodes.jsonl`` when ``None``.
        options: Estimation options.

    Returns:
        The path written and the summary.
    """
    run_dir = Path(run_dir)
    if records is None:
        records = read_episodes(run_dir)
    summary = summarize(records, options)
    path = save_summary(run_dir, summary)
    return path, summary


def save_summary(run_dir: str | os.PathLike[str], summary: dict[str, Any]) -> Path:
    """Write a :func:`summarize` result as ``run_dir/ratings.json`` (atomically)."""
    path = Path(run_dir) / RATINGS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a file
    return path


# -- terminal -----------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _interval(row: dict[str, Any], digits: int = 0) -> str:
    if row.get("ci_low") is None:
        return ""
    return f"({_fmt(row['ci_low'], digits)}–{_fmt(row['ci_high'], digits)})"


#: Digits a rating is printed with, per method (OpenSkill's mu is on a 0–50 scale).
_DIGITS = {"openskill": 1}


def rating_notes(summary: dict[str, Any], all_raters: bool = False) -> list[str]:
    """One line per rating method that rated something: what its interval is, at which level
    (with ``all_raters``, one entry per rater of :data:`RATERS`, ``""`` for those that did
    not)."""
    level = f"{100 * summary['options']['confidence']:g}%"
    notes = []
    for rater in RATERS:
        table = next(
            (
                s["ratings"][rater.key]
                for s in summary["sections"].values()
                if s["ratings"].get(rater.key)
            ),
            None,
        )
        if table is not None:
            notes.append(f"{rater.title}: {table['interval']}; {level} CI")
        elif all_raters:
            notes.append("")
    return notes


def summary_text_tables(
    records: Sequence[EpisodeRecord], summary: dict[str, Any], split_intervals: bool = False
) -> list[TextTable]:
    """The end-of-run tables (one per game, one over all games) as :class:`TextTable` s.

    Args:
        records: The run's records.
        summary: Their :func:`summarize` result.
        split_intervals: Give each rating's CI its own ``<method>_ci_low``/``_ci_high``
            columns (for CSV) instead of ``rating (low–high)`` cells.
    """
    sections = summary["sections"]
    order = list(summary["games"])
    if len(order) > 1:  # with one game the overall table says the same again
        order.append(OVERALL)
    level = f"{100 * summary['options']['confidence']:g}%"
    tables = []
    for name in order:
        subset = records if name == OVERALL else [r for r in records if r.env_id == name]
        many_seats = any(len(r.seating) > 2 for r in subset)
        tables.append(
            _section_table(
                name,
                sections[name],
                agent_counts(subset),
                per_game=name != OVERALL,
                many_seats=many_seats,
                level=level,
                split_intervals=split_intervals,
            )
        )
    return tables


def print_summary(
    records: Sequence[EpisodeRecord],
    console: Console | None = None,
    summary: dict[str, Any] | None = None,
    fmt: str = "rich",
) -> None:
    """Print the end-of-run tables: one per game and one over all games.

    Args:
        records: The run's records.
        console: Where to print (a new :class:`rich.console.Console` by default).
        summary: A :func:`summarize` result of ``records``, to skip recomputing it.
        fmt: ``rich``, ``plain``, ``markdown`` or ``csv`` (see :mod:`palaestra.arena.text_tables`).
    """
    check_format(fmt)
    console = console or Console()
    if not records:
        console.print("no episodes")
        return
    summary = summary if summary is not None else summarize(records)
    tables = summary_text_tables(records, summary, split_intervals=fmt == "csv")
    shown = {c for t in tables for c in t.columns}
    notes = [
        note
        for note, rater in zip(rating_notes(summary, all_raters=True), RATERS)
        if note and any(c.startswith((rater.title + " (", rater.key)) for c in shown)
    ]
    notes.append("clem: % played × quality (clemscore)")
    if summary["failed_episodes"]:
        notes.append(
            f"{summary['failed_episodes']} of {summary['episodes']} episodes had agent errors"
        )
    print_tables(tables, console, fmt, notes)


def _section_table(
    name: str,
    section: dict[str, Any],
    counts: dict[str, AgentCounts],
    per_game: bool,
    many_seats: bool,
    level: str = "95%",
    split_intervals: bool = False,
) -> TextTable:
    # OpenSkill is the rating made for games of more than two seats: shown only there.
    raters = [r for r in RATERS if many_seats or not r.many_seats_only]
    columns = ["agent"]
    for rater in raters:
        if split_intervals:
            columns += [rater.key, f"{rater.key}_ci_low", f"{rater.key}_ci_high"]
        else:
            columns.append(f"{rater.title} ({level} CI)")
    columns.append("W/D/L")
    if per_game:  # returns of different games do not add up
        columns.append(f"return (± {level} CI)")
    columns += ["played%", "clem"]
    show_counts = any(c.invalid_moves or c.tokens for c in counts.values())
    if show_counts:
        columns += ["invalid", "tokens"]
    table = TextTable(f"{name}: {section['episodes']} episodes", columns, left=frozenset({"agent"}))
    rated = {
        rater.key: {
            r["agent"]: r for r in (section["ratings"].get(rater.key) or {}).get("ratings", [])
        }
        for rater in RATERS
    }
    clem = {r["agent"]: r for r in section["clemscore"]}
    rewards = {r["agent"]: r for r in section["rewards"] if r["role"] == ALL_ROLES}
    h2h = section["head_to_head"]
    first = rated[RATERS[0].key]
    agents = list(first) + sorted(a for a in h2h["agents"] if a not in first)
    for agent in agents:
        i = h2h["agents"].index(agent)
        wins, draws, losses = sum(h2h["wins"][i]), sum(h2h["draws"][i]), sum(h2h["losses"][i])
        cells = [agent]
        for rater in raters:
            row, digits = rated[rater.key].get(agent), _DIGITS.get(rater.key, 0)
            if split_intervals:
                keys = ("rating", "ci_low", "ci_high")
                cells += [_fmt(row[k], digits) if row else "-" for k in keys]
            elif row:
                cells.append(f"{_fmt(row['rating'], digits)} {_interval(row, digits)}".strip())
            else:
                cells.append("-")
        cells.append(f"{wins}/{draws}/{losses}")
        if per_game:
            reward = rewards.get(agent, {})
            half = (
                f" ±{_fmt((reward['high'] - reward['low']) / 2, 2)}"
                if reward.get("low") is not None
                else ""
            )
            cells.append(f"{_fmt(reward.get('mean'), 2)}{half}")
        cells += [
            _fmt(clem[agent]["played"], 0) if agent in clem else "-",
            _fmt(clem[agent]["clemscore"], 1) if agent in clem else "-",
        ]
        if show_counts:
            c = counts.get(agent, AgentCounts())
            cells += [str(c.invalid_moves), str(int(c.tokens))]
        table.add_row(*cells)
    return table
