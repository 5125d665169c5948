"""Play one episode (the CLI's ``play``), through the same runner the arena uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import EpisodeJob, MatchRunner
from palaestra.envs import make
from palaestra.envs.protocol import Agent


@dataclass
class EpisodeResult:
    """Outcome of one played episode."""

    env_id: str
    seed: int | None
    seating: dict[str, str]
    returns: dict[str, float]
    transcript: str
    infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    record: EpisodeRecord | None = None


def play_episode(
    env_id: str,
    agents: Sequence[Agent] | Mapping[str, Agent],
    seed: int | None = None,
    **env_kwargs: Any,
) -> EpisodeResult:
    """Play one episode of ``env_id``; ``agents`` in seat order, or a mapping role -> agent.

    An agent that raises or returns an action with ``error`` set forfeits; the error is kept
    in ``EpisodeResult.errors``.
    """
    roles = list(make(env_id, wrappers=False, **env_kwargs).possible_agents)
    if not isinstance(agents, Mapping):
        if len(agents) != len(roles):
            raise ValueError(f"{env_id} has {len(roles)} roles {roles}; got {len(agents)} agents")
        agents = dict(zip(roles, agents))
    missing = [r for r in roles if r not in agents]
    if missing:
        raise ValueError(f"no agent for roles {missing} of {env_id}")
    job = EpisodeJob(env_id, seed, dict(agents), dict(env_kwargs), episode_id=f"{env_id}/{seed}")
    (episode,) = MatchRunner(concurrency=1, on_error="forfeit").run_live([job])
    record = episode.record()
    return EpisodeResult(
        env_id=env_id,
        seed=seed,
        seating=record.seating,
        returns=record.returns,
        transcript=episode.env.render() or "",
        infos=episode.final_infos,
        errors=[f"{e['role']} ({e['agent']}): {e['error']}" for e in record.errors],
        record=record,
    )
