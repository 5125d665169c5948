"""The local backend: a tournament's episodes played in this process (``backend = "local"``)."""

from __future__ import annotations

from collections.abc import Iterator

from palaestra.arena.config import TournamentConfig
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import MatchRunner
from palaestra.arena.schedule import EpisodePlan, build_agents


def play_local(plans: list[EpisodePlan], config: TournamentConfig) -> Iterator[EpisodeRecord]:
    """Play ``plans`` in this process with one :class:`MatchRunner`."""
    agents = build_agents(config, sorted({a for p in plans for a in p.seating.values()}))
    runner = MatchRunner(config.concurrency, config.on_error, config.agent_timeout)
    yield from runner.run(p.job(agents) for p in plans)
