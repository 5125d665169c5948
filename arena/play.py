"""Play one episode, one seat at a time (the CLI's ``play``; the arena batches many)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    env = make(env_id, wrappers=False, **env_kwargs)
    roles = list(env.possible_agents)
    if not isinstance(agents, Mapping):
        if len(agents) != len(roles):
            raise ValueError(f"{env_id} has {len(roles)} roles {roles}; got {len(agents)} agents")
        agents = dict(zip(roles, agents))
    missing = [r for r in roles if r not in agents]
    if missing:
        raise ValueError(f"no agent for roles {missing} of {env_id}")
    env.reset(seed=seed)
    for agent in agents.values():
        agent.reset()
    returns = dict.fromkeys(roles, 0.0)
    errors: list[str] = []
    last_infos: dict[str, dict[str, Any]] = {}
    while env.agents:
        role = env.agent_selection
        if env.terminations[role] or env.truncations[role]:
            last_infos[role] = dict(env.infos[role])
            env.step(None)
            continue
        try:
            action = agents[role].act([env.observation_for(role)])[0]
            error = action.error
        except Exception as exc:  # a crashed agent is a recorded failure, not a crashed run
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            errors.append(f"{role} ({agents[role].name}): {error}")
            env._finish(env.game.forfeit(env.state, role), f"agent error by {role}: {error}")
        else:
            env.step(action.text)
        for r, reward in env.rewards.items():
            returns[r] += reward
    return EpisodeResult(
        env_id=env_id,
        seed=seed,
        seating={r: agents[r].name for r in roles},
        returns=returns,
        transcript=env.render() or "",
        infos=last_infos,
        errors=errors,
    )
