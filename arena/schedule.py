"""The tournament's schedule: which agents play which seats of which games on which seeds.

:func:`build_schedule` turns a :class:`~palaestra.arena.config.TournamentConfig` into a fixed,
ordered list of :class:`EpisodePlan` with deterministic episode ids, and :func:`build_agents`
builds the config's agents; both backends (:mod:`palaestra.arena.local_backend`,
:mod:`palaestra.arena.ray_backend`) play plans with them.

Every agent plays every seat on the same seeds: for each group of agents (one per seat) the
schedule holds every rotation (``seating = "rotations"``) or every permutation
(``"permutations"``) of the group, and each seating plays each seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from palaestra.arena.config import TournamentConfig
from palaestra.arena.runner import EpisodeJob
from palaestra.envs import make
from palaestra.envs.protocol import Action, Agent, Observation


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
