"""Gymnasium single-agent view of any palaestra game.

``gymnasium.make("palaestra/Negotiation-v0", role="buyer", opponents={"seller": "scripted:
negotiation/hard"})`` gives a ``gymnasium.Env`` in which you play one role and agents play the
others. ``step`` takes your reply text and returns the observation at your next turn, with
the reward you collected since your last move.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from palaestra.envs.registry import make, spec
from palaestra.envs.resolver import resolve_agent


class SingleAgentEnv(gym.Env):
    """One seat of a palaestra game as a ``gymnasium.Env``.

    Args:
        env_id: Registered env id, e.g. ``"negotiation-v0"``.
        role: The role you play (default: the first role).
        opponents: Agents for the other roles: a mapping role -> agent or agent spec, or one
            agent/spec used for every other role. Default: the game's scripted opponents.
            Specs other than ``scripted:<game>/<name>`` are resolved by
            :func:`palaestra.envs.resolver.resolve_agent` (with :mod:`palaestra.agents`).
        render_mode: ``None``, ``"human"`` or ``"ansi"``.
        **env_kwargs: Passed to :func:`palaestra.envs.make`.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "ansi"]}

    def __init__(
        self,
        env_id: str,
        role: str | None = None,
        opponents: Mapping[str, Any] | Any = None,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        self.env_spec_ = spec(env_id)
        self.aec = make(env_id, wrappers=False, render_mode=render_mode, **env_kwargs)
        roles = list(self.aec.possible_agents)
        self.role = roles[0] if role is None else role
        if self.role not in roles:
            raise ValueError(f"{env_id} has no role {self.role!r}; roles are {roles}")
        others = [r for r in roles if r != self.role]
        if opponents is None:
            defaults = self.env_spec_.default_opponents
            game = env_id.rsplit("-v", 1)[0]
            opponents = {r: f"scripted:{game}/{defaults[r]}" for r in others if r in defaults}
            missing = [r for r in others if r not in opponents]
            if missing:
                raise ValueError(f"{env_id} has no default opponent for {missing}; pass opponents=")
        if not isinstance(opponents, Mapping):
            opponents = dict.fromkeys(others, opponents)
        unknown = set(opponents) - set(others)
        if unknown:
            raise ValueError(
                f"opponents for unknown or own roles {sorted(unknown)}; others: {others}"
            )
        missing = [r for r in others if r not in opponents]
        if missing:
            raise ValueError(f"no opponent given for roles {missing}")
        self.opponents = {r: resolve_agent(a) for r, a in opponents.items()}
        self.render_mode = render_mode
        self.observation_space = self.aec.observation_space(self.role)
        self.action_space = self.aec.action_space(self.role)
        self.metadata = {
            **type(self).metadata,
            "name": self.aec.metadata["name"],
            "discount": self.aec.metadata["discount"],
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.aec.reset(seed=seed, options=options)
        for agent in self.opponents.values():
            agent.reset()
        reward = self._play_others()
        self._pending_reward = reward
        return self.aec.observe(self.role), dict(self.aec.infos[self.role])

    def _play_others(self) -> float:
        """Let the opponents move until it is our turn or the game is over."""
        aec, reward = self.aec, 0.0
        while aec.agents and aec.agent_selection != self.role:
            who = aec.agent_selection
            if aec.terminations[who] or aec.truncations[who]:
                aec.step(None)  # removes a finished agent; it carries no new reward
                continue
            action = self.opponents[who].act([aec.observation_for(who)])[0]
            aec.step("" if action.failed else action.text)
            reward += aec.rewards.get(self.role, 0.0)
        return reward

    def step(self, action: str):
        aec = self.aec
        if aec.terminations.get(self.role) or aec.truncations.get(self.role):
            raise RuntimeError("the episode is over; call reset()")
        aec.step(action)
        reward = self._pending_reward + aec.rewards.get(self.role, 0.0)
        self._pending_reward = 0.0
        reward += self._play_others()
        terminated = bool(aec.terminations.get(self.role, False))
        truncated = bool(aec.truncations.get(self.role, False))
        return (
            aec.observe(self.role),
            float(reward),
            terminated,
            truncated,
            dict(aec.infos[self.role]),
        )

    def render(self):
        return self.aec.render()

    def close(self) -> None:
        self.aec.close()
