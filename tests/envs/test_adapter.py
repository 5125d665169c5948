"""The generic PettingZoo adapter: invalid-move policies, infos, reasoning, registry."""

from __future__ import annotations

import pytest

from palaestra.envs import UnknownEnvError, list_envs, make, spec
from palaestra.envs.adapter import MoveReferee


def _fresh(**kwargs):
    env = make("negotiation-v0", wrappers=False, **kwargs)
    env.reset(seed=0)
    return env


def test_retry_reprompts_with_reason_then_penalises():
    env = _fresh(invalid_move="retry", max_retries=2)
    env.step("ACCEPT")  # nothing to accept
    assert env.agent_selection == "alice"
    obs = env.observation_for("alice")
    assert "[game master, to you] Invalid move: there is no offer" in obs.text
    assert "Invalid move" not in env.observation_for("bob").text  # private to the offender
    assert env.infos["alice"]["invalid_moves"] == 1
    assert "no offer" in env.infos["alice"]["last_invalid"]
    env.step("")
    assert env.agent_selection == "alice" and env.rewards["alice"] == 0
    env.step("")  # retries exhausted: penalised, null move, bob's turn
    assert env.agent_selection == "bob"
    assert env.rewards["alice"] == -1.0
    assert env.infos["alice"]["invalid_moves"] == 3


def test_penalty_scores_and_moves_on():
    env = _fresh(invalid_move="penalty", invalid_penalty=-0.5)
    env.step("")
    assert env.agent_selection == "bob" and env.rewards == {"alice": -0.5, "bob": 0.0}


def test_forfeit_ends_the_episode_with_offender_losing():
    env = _fresh(invalid_move="forfeit")
    env.step("OFFER: book=99 hat=0 ball=0")
    assert all(env.terminations.values())
    assert env.rewards == {"alice": -1.0, "bob": 0.0}
    assert env.infos["bob"]["outcome"].startswith("forfeit by alice")


def test_non_text_action_is_an_invalid_move_not_a_crash():
    env = _fresh(invalid_move="penalty")
    env.step(12345)
    assert env.infos["alice"]["last_invalid"] == "a move must be text, got int"


def test_reasoning_is_logged_separately_and_never_shown():
    env = _fresh()
    env.step("<think>I value hats most</think>Hello bob")
    record = env.referee.log[-1]
    assert (record.text, record.reasoning, record.valid) == ("Hello bob", "I value hats most", True)
    assert "hats most" not in env.observation_for("bob").text
    assert "hats most" not in env.observation_for("alice").text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"invalid_move": "ignore"}, "'ignore'"),
        ({"max_retries": -1}, "-1"),
        ({"invalid_move": "penalty", "invalid_penalty": -5.0}, "-5.0"),
        ({"max_cycles": 0}, "0"),
        ({"render_mode": "rgb_array"}, "rgb_array"),
    ],
)
def test_bad_adapter_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make("negotiation-v0", **kwargs)


def test_bad_game_argument():
    with pytest.raises(TypeError, match="negotiation-v0: bad game argument"):
        make("negotiation-v0", rounds=3)


def test_max_cycles_truncates():
    env = _fresh(max_cycles=3)
    for _ in range(3):
        env.step("hi")
    assert all(env.truncations.values()) and not any(env.terminations.values())


def test_unknown_env_suggests_closest():
    with pytest.raises(UnknownEnvError, match="Did you mean 'negotiation-v0'"):
        make("negotiaton-v0")
    assert spec("palaestra/Negotiation-v0").id == "negotiation-v0"
    assert list_envs() == sorted(list_envs())


def test_pettingzoo_style_module():
    from palaestra.envs import negotiation_v0

    env = negotiation_v0.env()
    env.reset(seed=0)
    assert env.metadata["name"] == "negotiation_v0"
    raw = negotiation_v0.raw_env()
    assert type(raw).__name__ == "TextGameEnv"
    with pytest.raises(ValueError, match="sequential"):
        negotiation_v0.parallel_env()


def test_referee_rejects_unknown_policy():
    with pytest.raises(ValueError, match="'lenient'"):
        MoveReferee(spec("negotiation-v0").make_game(), invalid_move="lenient")
