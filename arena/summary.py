"""What a run comes to: ``ratings.json`` and the terminal table at the end of a run.

:func:`summarize` turns episode records into one JSON-serialisable dict (ratings with
confidence intervals, win/draw/loss, mean rewards, clemscore), per game and over all games;
:func:`write_ratings` saves it as ``ratings.json``; :func:`print_summary` prints it as rich
tables. :func:`read_episodes` reads a run directory's ``episodes.jsonl`` back.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from palaestra.arena.ratings import BradleyTerry, Elo, OpenSkill
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

EPISODES_FILE = "episodes.jsonl"
RATINGS_FILE = "ratings.json"
OVERALL = "overall"
"""The key of the all-games section in :func:`summarize`'s ``"sections"``."""

SUMMARY_SCHEMA = 1


@dataclass(frozen=True)
class SummaryOptions:
    """How :func:`summarize` estimates.

    Attributes:
        bootstrap_rounds: Bradley–Terry refits on resampled episodes for the CIs.
        elo_permutations: Episode orders the order-independent Elo averages over.
        confidence: Coverage of every interval.
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

    where a SECTION holds ``episodes``, ``comparisons``, ``bradley_terry`` (rows of
    ``agent, rating, low, high, games``, best first, plus ``tie``), ``elo`` (online Elo averaged
    over random episode orders; ``low``/``high`` are the spread over orders), ``openskill``
    (``agent, mu, sigma, ordinal, episodes``), ``win_probability`` (``[a][b]``: BT probability
    that ``a`` beats ``b``, ties as half), ``head_to_head`` (``agents, wins, draws, losses``
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
    if comps:
        bt = BradleyTerry(ties=options.ties).bootstrap(
            comps, options.bootstrap_rounds, options.seed, options.confidence
        )
        section["bradley_terry"] = {
            "ratings": [r.to_dict() for r in bt.ratings],
            "tie": bt.tie,
            "rounds": options.bootstrap_rounds,
        }
        elo = Elo(k=options.elo_k)
        section["elo"] = [
            r.to_dict()
            for r in elo.fit_permutations(
                comps, options.elo_permutations, options.seed, options.confidence
            )
        ]
        section["win_probability"] = {
            a: {b: round(float(bt.win_probability(a, b).win), 4) for b in bt.agents if b != a}
            for a in bt.agents
        }
    else:
        section.update(bradley_terry=None, elo=[], win_probability={})
    skill = OpenSkill().fit(records)
    section["openskill"] = [
        {
            "agent": r.agent,
            "mu": round(r.rating, 3),
            "sigma": round(skill.sigma(r.agent), 3),
            "ordinal": round(skill.ordinal(r.agent), 3),
            "episodes": r.games,
        }
        for r in skill.ratings
    ]
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
    if row.get("low") is None:
        return ""
    return f"({_fmt(row['low'], digits)}–{_fmt(row['high'], digits)})"


def print_summary(
    records: Sequence[EpisodeRecord],
    console: Console | None = None,
    summary: dict[str, Any] | None = None,
) -> None:
    """Print the end-of-run tables: one per game and one over all games.

    Args:
        records: The run's records.
        console: Where to print (a new :class:`rich.console.Console` by default).
        summary: A :func:`summarize` result of ``records``, to skip recomputing it.
    """
    console = console or Console()
    if not records:
        console.print("no episodes")
        return
    summary = summary if summary is not None else summarize(records)
    sections = summary["sections"]
    order = list(summary["games"])
    if len(order) > 1:  # with one game the overall table says the same again
        order.append(OVERALL)
    confidence = round(100 * summary["options"]["confidence"])
    for name in order:
        section = sections[name]
        subset = records if name == OVERALL else [r for r in records if r.env_id == name]
        counts = agent_counts(subset)
        many_seats = any(len(r.seating) > 2 for r in subset)
        console.print(_section_table(name, section, counts, name != OVERALL, many_seats))
    console.print(
        f"rating: Bradley–Terry on the Elo scale with a {confidence}% bootstrap CI; Elo: "
        "averaged over episode orders; clem: % played × quality (clemscore)",
        style="dim",
    )
    if summary["failed_episodes"]:
        console.print(
            f"{summary['failed_episodes']} of {summary['episodes']} episodes had agent errors",
            style="yellow",
        )


def _section_table(
    name: str,
    section: dict[str, Any],
    counts: dict[str, AgentCounts],
    per_game: bool,
    many_seats: bool,
) -> Table:
    table = Table(
        title=f"{name}: {section['episodes']} episodes",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ["agent", "rating (CI)", "Elo"]
    if many_seats:  # OpenSkill is the rating made for games of more than two seats
        columns.append("OpenSkill")
    columns.append("W/D/L")
    if per_game:  # returns of different games do not add up
        columns.append("return")
    columns += ["played%", "clem"]
    show_counts = any(c.invalid_moves or c.tokens for c in counts.values())
    if show_counts:
        columns += ["invalid", "tokens"]
    for column in columns:
        table.add_column(column, justify="left" if column == "agent" else "right", no_wrap=True)
    bt = {r["agent"]: r for r in (section["bradley_terry"] or {}).get("ratings", [])}
    elo = {r["agent"]: r for r in section["elo"]}
    skill = {r["agent"]: r for r in section["openskill"]}
    clem = {r["agent"]: r for r in section["clemscore"]}
    rewards = {r["agent"]: r for r in section["rewards"] if r["role"] == ALL_ROLES}
    h2h = section["head_to_head"]
    agents = list(bt) + sorted(a for a in h2h["agents"] if a not in bt)
    for agent in agents:
        i = h2h["agents"].index(agent)
        wins, draws, losses = sum(h2h["wins"][i]), sum(h2h["draws"][i]), sum(h2h["losses"][i])
        cells = [
            agent,
            f"{_fmt(bt[agent]['rating'])} {_interval(bt[agent])}".strip() if agent in bt else "-",
            _fmt(elo[agent]["rating"]) if agent in elo else "-",
        ]
        if many_seats:
            sk = skill.get(agent)
            cells.append(f"{sk['mu']:.1f}±{sk['sigma']:.1f}" if sk else "-")
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
