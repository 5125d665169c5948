"""Tournaments: a round robin with seat swaps over agents, games and seeds.

:func:`build_schedule` turns a :class:`~palaestra.arena.config.TournamentConfig` into a fixed,
ordered list of :class:`EpisodePlan` with deterministic episode ids. :func:`run_tournament`
plays the plans not yet in the run directory's ``episodes.jsonl`` (local or Ray backend),
appends each record as its episode finishes, then writes ``ratings.json`` and the report.
Because ids are deterministic and every record is fsync-ed, ``resume=True`` continues a
killed run without losing or repeating an episode.

Every agent plays every seat on the same seeds: for each group of agents (one per seat) the
schedule holds every rotation (``seating = "rotations"``) or every permutation
(``"permutations"``) of the group, and each seating plays each seed.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from palaestra.arena.config import ConfigError, TournamentConfig
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import EpisodeJob, MatchRunner
from palaestra.arena.store import EpisodeStore
from palaestra.envs import make
from palaestra.envs.protocol import Action, Agent, Observation

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class EpisodePlan:
    """One scheduled episode; plain data, so it travels to Ray workers.

    Attributes:
        index: Position in the schedule (records are rated in this order).
        episode_id: ``"<game>/<seed>/<role>=<agent>,..."``; stable across runs and resumes.
        game: The game's label in the config.
        env_id: The env id.
        env_kwargs: Arguments for :func:`palaestra.envs.make`.
        seed: The reset seed.
        seating: role -> agent name.
        meta: Copied into the record's ``meta``.
    """

    index: int
    episode_id: str
    game: str
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    seating: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)

    def job(self, agents: dict[str, Agent]) -> EpisodeJob:
        """The runner job of this plan, with agents looked up by name."""
        return EpisodeJob(
            env_id=self.env_id,
            seed=self.seed,
            agents={role: agents[name] for role, name in self.seating.items()},
            env_kwargs=dict(self.env_kwargs),
            episode_id=self.episode_id,
            meta=dict(self.meta),
        )


def seatings(
    players: Sequence[str],
    roles: int | Sequence[str],
    mode: str = "rotations",
    self_play: bool = False,
    allowed: Mapping[str, Collection[str] | None] | None = None,
) -> list[tuple[str, ...]]:
    """Every seat order of every group of ``len(roles)`` agents, without repeats.

    Args:
        players: Agent names.
        roles: The game's roles in seat order (or just their number).
        mode: ``"rotations"`` (each group in each of its rotations) or ``"permutations"``.
        self_play: Whether a group may hold the same agent more than once.
        allowed: agent -> the roles it may take (``None`` or absent: any). A group with a
            restricted agent gets every permutation that respects the restrictions.

    >>> seatings(["a", "b", "c"], 2)
    [('a', 'b'), ('b', 'a'), ('a', 'c'), ('c', 'a'), ('b', 'c'), ('c', 'b')]
    >>> seatings(["a", "b", "c"], 3)
    [('a', 'b', 'c'), ('b', 'c', 'a'), ('c', 'a', 'b')]
    >>> seatings(["a", "b", "j"], ["x", "y", "judge"], allowed={"j": ["judge"]})
    [('a', 'b', 'j'), ('b', 'a', 'j')]
    """
    if mode not in ("rotations", "permutations"):
        raise ValueError(f"seating must be 'rotations' or 'permutations', got {mode!r}")
    names = [f"seat{i}" for i in range(roles)] if isinstance(roles, int) else list(roles)
    seats = len(names)
    allowed = allowed or {}
    if self_play:
        groups = itertools.combinations_with_replacement(players, seats)
    else:
        groups = itertools.combinations(players, seats)
    out: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for group in groups:
        restricted = any(allowed.get(a) is not None for a in group)
        if mode == "permutations" or restricted:
            orders: Iterable[tuple[str, ...]] = itertools.permutations(group)
        else:
            orders = (group[i:] + group[:i] for i in range(seats))
        for order in orders:
            fits = all(
                allowed.get(a) is None or role in allowed[a]  # type: ignore[operator]
                for a, role in zip(order, names)
            )
            if fits and order not in seen:
                seen.add(order)
                out.append(order)
    return out


def build_schedule(config: TournamentConfig) -> list[EpisodePlan]:
    """The tournament's episodes in a fixed order: game, then seed, then seating."""
    plans: list[EpisodePlan] = []
    for game in config.games:
        roles = list(make(game.id, wrappers=False, **game.args).possible_agents)
        orders = seatings(
            config.players(game), roles, config.seating, config.self_play, config.allowed_roles()
        )
        for seed in config.seeds_for(game):
            for order in orders:
                seating = dict(zip(roles, order))
                seated = ",".join(f"{r}={a}" for r, a in seating.items())
                plans.append(
                    EpisodePlan(
                        index=len(plans),
                        episode_id=f"{game.label}/{seed}/{seated}",
                        game=game.label,
                        env_id=game.id,
                        env_kwargs=dict(game.args),
                        seed=seed,
                        seating=seating,
                        meta={"tournament": config.name, "game": game.label},
                    )
                )
    ids = [p.episode_id for p in plans]
    assert len(set(ids)) == len(ids), "episode ids must be unique"
    return plans


def build_agents(config: TournamentConfig, names: Iterable[str] | None = None) -> dict[str, Agent]:
    """Build the named agents (default: all), each once, named by its config name."""
    from palaestra.agents import make_agent

    agents: dict[str, Agent] = {}
    for name in names if names is not None else config.agents:
        entry = config.agents[name]
        agent = make_agent(entry.spec, **entry.args)
        try:
            agent.name = name  # ratings and seatings use the config's names
        except AttributeError:
            agent = _Renamed(agent, name)
        agents[name] = agent
    return agents


class _Renamed:
    """An agent under another name (for agents whose ``name`` is read-only)."""

    def __init__(self, agent: Agent, name: str) -> None:
        self.agent, self.name = agent, name

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        return self.agent.act(observations)

    def reset(self) -> None:
        self.agent.reset()

    def end_episode(self, episode: str) -> None:
        hook = getattr(self.agent, "end_episode", None)
        if callable(hook):
            hook(episode)


def play_local(plans: list[EpisodePlan], config: TournamentConfig) -> Iterator[EpisodeRecord]:
    """Play ``plans`` in this process with one :class:`MatchRunner`."""
    agents = build_agents(config, sorted({a for p in plans for a in p.seating.values()}))
    runner = MatchRunner(config.concurrency, config.on_error, config.agent_timeout)
    yield from runner.run(p.job(agents) for p in plans)


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
) -> TournamentResult:
    """Play a tournament (or what is left of it) and write ``ratings.json`` and the report.

    Args:
        config: The validated config.
        resume: Continue the run in ``config.run_dir`` (episodes already stored are skipped).
        progress: Show a progress bar.
        console: Where tables and the bar go (default: a new rich console).
        report: Write the HTML report at the end.

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
    summary, report_path = finish_run(run_dir, stored, console, report)
    return TournamentResult(run_dir, len(plans), played, summary, report_path)


def finish_run(
    run_dir: Path, records: list[EpisodeRecord], console: Console, report: bool = True
) -> tuple[dict[str, Any], Path | None]:
    """Write ``ratings.json``, print the tables, and write the report (``report.html``)."""
    from palaestra.arena.summary import print_summary, write_ratings

    _, summary = write_ratings(run_dir, records)
    print_summary(records, console, summary)
    report_path: Path | None = None
    if report:
        from palaestra.arena.report import write_report

        report_path = Path(write_report(run_dir, records, summary=summary))
    return summary, report_path
