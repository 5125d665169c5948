"""Tournaments: a round robin with seat swaps over agents, games and seeds.

:func:`run_tournament` plays the plans of the schedule (:mod:`palaestra.arena.schedule`) not
yet in the run directory's ``episodes.jsonl`` on a backend (:mod:`palaestra.arena.local_backend`
or :mod:`palaestra.arena.ray_backend`), appends each record as its episode finishes, then
writes ``ratings.json`` and the report. Because ids are deterministic and every record is
fsync-ed, ``resume=True`` continues a killed run without losing or repeating an episode.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from palaestra.arena.config import ConfigError, TournamentConfig
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.schedule import build_schedule
from palaestra.arena.store import EpisodeStore
from palaestra.arena.summary import SummaryOptions

CONFIG_FILE = "config.json"


@dataclass
class TournamentResult:
    """What :func:`run_tournament` did.

    Attributes:
        run_dir: The run directory.
        scheduled: Episodes in the schedule.
        played: Episodes played by this call (the rest were already stored).
        summary: The ``ratings.json`` content.
        report: Path of the report, if one was written.
    """

    run_dir: Path
    scheduled: int
    played: int
    summary: dict[str, Any]
    report: Path | None = None


def prepare_run_dir(config: TournamentConfig, resume: bool) -> Path:
    """Create or check the run directory; refuse to mix two different tournaments in one.

    Raises:
        ConfigError: The directory holds episodes and ``resume`` is false, or it holds another
            tournament's episodes.
    """
    run_dir = config.run_dir
    store = EpisodeStore(run_dir)
    saved = run_dir / CONFIG_FILE
    if store.exists() and not resume:
        raise ConfigError(
            f"{run_dir} already holds episodes; pass --resume to continue that run, "
            "or choose another output directory"
        )
    if resume and saved.exists():
        before = json.loads(saved.read_text(encoding="utf-8")).get("identity", {})
        now = config.identity()
        changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        if changed:
            raise ConfigError(
                f"cannot resume {run_dir}: the config changed ({', '.join(changed)}); "
                "resume with the same config, or choose another output directory"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"identity": config.identity(), "config": config.model_dump(mode="json")}
    tmp = saved.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, saved)
    return run_dir


def run_tournament(
    config: TournamentConfig,
    resume: bool = False,
    progress: bool = True,
    console: Console | None = None,
    report: bool = True,
    table_format: str = "rich",
    table_console: Console | None = None,
) -> TournamentResult:
    """Play a tournament (or what is left of it) and write ``ratings.json`` and the report.

    Args:
        config: The validated config.
        resume: Continue the run in ``config.run_dir`` (episodes already stored are skipped).
        progress: Show a progress bar.
        console: Where tables and the bar go (default: a new rich console).
        report: Write the HTML report at the end.
        table_format: How the end-of-run tables print: ``rich``, ``plain``, ``markdown`` or
            ``csv`` (:mod:`palaestra.arena.text_tables`).
        table_console: Where the tables go (default: ``console``), e.g. stdout for CSV while
            the progress bar goes to stderr.

    Raises:
        ConfigError: See :func:`prepare_run_dir`.
        AgentFailure: An agent failed and ``on_error`` is ``"abort"`` (stored episodes stay).
    """
    console = console or Console()
    run_dir = prepare_run_dir(config, resume)
    plans = build_schedule(config)
    played = 0
    with EpisodeStore(run_dir) as store:
        store.repair()
        done = store.episode_ids()
        todo = [p for p in plans if p.episode_id not in done]
        if config.backend == "ray":
            from palaestra.arena.ray_backend import play_ray

            records = play_ray(todo, config)
        else:
            from palaestra.arena.local_backend import play_local

            records = play_local(todo, config)
        if progress:
            from palaestra.arena.progress import episode_progress

            with episode_progress(len(plans), len(plans) - len(todo), config.name, console) as bar:
                for record in records:
                    store.append(record)
                    played += 1
                    bar(record)
        else:
            for record in records:
                store.append(record)
                played += 1
        order = {p.episode_id: p.index for p in plans}
        stored = sorted(store, key=lambda r: (order.get(r.episode_id, len(order)), r.episode_id))
    summary, report_path = finish_run(
        run_dir, stored, table_console or console, report, table_format, summary_options(config)
    )
    return TournamentResult(run_dir, len(plans), played, summary, report_path)


def summary_options(config: TournamentConfig) -> SummaryOptions:
    """The estimation options of the config's ``ratings`` section."""
    r = config.ratings
    return SummaryOptions(
        bootstrap_rounds=r.bootstrap_rounds, confidence=r.confidence, seed=r.seed, ties=r.ties
    )


def finish_run(
    run_dir: Path,
    records: list[EpisodeRecord],
    console: Console,
    report: bool = True,
    table_format: str = "rich",
    options: SummaryOptions | None = None,
) -> tuple[dict[str, Any], Path | None]:
    """Write ``ratings.json``, print the tables, and write the report (``report.html``)."""
    from palaestra.arena.summary import print_summary, write_ratings

    _, summary = write_ratings(run_dir, records, options)
    print_summary(records, console, summary, fmt=table_format)
    report_path: Path | None = None
    if report:
        from palaestra.arena.report import write_report

        report_path = Path(write_report(run_dir, records, summary=summary))
    return summary, report_path
