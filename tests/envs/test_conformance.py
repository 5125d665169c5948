"""Conformance of every registered env: PettingZoo's and Gymnasium's own checkers, unmodified.

Written once over the registry, so every game added later is covered automatically.
"""

from __future__ import annotations

import os

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, parallel_api_test, seed_test

import palaestra  # noqa: F401  (registers the Gymnasium ids)
from palaestra.envs import list_envs, make, spec

ENV_IDS = list_envs()


def test_registry_is_not_empty():
    assert "negotiation-v0" in ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pettingzoo_api(env_id):
    api_test(make(env_id), num_cycles=200)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pettingzoo_seed(env_id):
    seed_test(lambda: make(env_id), num_cycles=100)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pettingzoo_parallel_api(env_id):
    game = spec(env_id).make_game()
    if not game.info.simultaneous:
        with pytest.raises(ValueError, match="sequential"):
            make(env_id, parallel=True)
        return
    parallel_api_test(make(env_id, parallel=True), num_cycles=200)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pettingzoo_registry(env_id):
    import pettingzoo

    env = pettingzoo.make("aec", f"palaestra/{env_id}")
    env.reset(seed=0)
    assert env.possible_agents == list(spec(env_id).make_game().info.roles)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id):
    env = gymnasium.make(spec(env_id).gym_id)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_role_has_default_opponent(env_id):
    s = spec(env_id)
    roles = s.make_game().info.roles
    for role in roles:
        env = gymnasium.make(s.gym_id, role=role)
        obs, _info = env.reset(seed=3)
        assert isinstance(obs["text"], str) and obs["text"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_module_docstring_is_a_docs_page(env_id):
    doc = spec(env_id).load().__doc__ or ""
    for heading in ("Rewards", "Version history"):
        assert heading in doc, f"{env_id} docstring lacks a {heading!r} section"


def _first_preambles(env_id: str, seeds: range) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for seed in seeds:
        env = make(env_id)
        env.reset(seed=seed)
        for role in env.possible_agents:
            out.setdefault(role, []).append(env.unwrapped.observation_for(role).preamble)
    return out


#: Games whose seats all read the same rules first (the others' roles have different rules).
SHARED_RULES = {
    "adversarial-taboo-v0",
    "bargaining-v0",
    "debate-v0",
    "debate-simultaneous-v0",
    "kuhn-poker-v0",
    "leduc-poker-v0",
    "liars-dice-v0",
    "negotiation-v0",
    "openspiel-v0",
    "quiz-buzzer-v0",
    "taboo-v0",
    "tic-tac-toe-v0",
}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rules_come_first_so_seats_and_episodes_share_a_prefix(env_id):
    """What does not change between episodes (and, where the rules are the same, between
    seats) comes first in the preamble, so a local model's prefix cache prefills it once."""
    preambles = _first_preambles(env_id, range(6))
    everyone = [p for texts in preambles.values() for p in texts]
    assert len(set(everyone)) > 1 or env_id == "quiz-v0"  # seeds change the private facts
    groups = [everyone] if env_id in SHARED_RULES else list(preambles.values())
    for texts in groups:
        shared = os.path.commonprefix(texts)  # noqa: RUF071 (character-wise is meant)
        assert len(shared) >= 0.5 * min(map(len, texts)), (env_id, shared)
