"""The OpenSpiel games in play: golden transcripts, leaks, the discrete mode, hostile input."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from hostile import play_to_the_end
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import palaestra  # noqa: F401  (registers the Gymnasium ids)
from palaestra.agents import make_agent
from palaestra.envs import InvalidMove, make, spec
from palaestra.envs.adapter import make_observation

pytest.importorskip("pyspiel")

GOLDEN = Path(__file__).parent / "golden"
OPENSPIEL_IDS = [
    "kuhn-poker-v0",
    "leduc-poker-v0",
    "tic-tac-toe-v0",
    "liars-dice-v0",
    "openspiel-v0",
]


def play_uniform(env_id: str, seed: int, **kwargs):
    env = make(env_id, wrappers=False, **kwargs)
    env.reset(seed=seed, options={"episode": f"{env_id}/{seed}"})
    name = env_id.rsplit("-v", 1)[0]
    agents = {r: make_agent(f"scripted:{name}/uniform?seed={seed}") for r in env.possible_agents}
    for role in env.agent_iter(1000):
        if env.terminations[role] or env.truncations[role]:
            env.step(None)
            continue
        env.step(agents[role].act([env.observation_for(role)])[0].text)
    return env


# -- golden transcripts ---------------------------------------------------------------------------
GOLDEN_CASES = [(env_id, seed) for env_id in OPENSPIEL_IDS[:4] for seed in (0, 1)]


@pytest.mark.parametrize(("env_id", "seed"), GOLDEN_CASES)
def test_golden_transcript(env_id, seed):
    """Seeded uniform play gives these exact texts: every seat's final prompt and the returns."""
    env = play_uniform(env_id, seed)
    parts = [f"===== {r}\n{env.observation_for(r).text}" for r in env.possible_agents]
    text = "\n\n".join(parts) + f"\n\nreturns: {env.state.returns}\n"
    path = GOLDEN / f"{env_id}_seed{seed}.txt"
    if os.environ.get("PALAESTRA_UPDATE_GOLDEN"):  # regenerate; review the diff before committing
        path.write_text(text)
    assert text == path.read_text()


def test_transcripts_are_byte_identical_for_a_seed():
    for env_id in OPENSPIEL_IDS:
        assert play_uniform(env_id, 7).render() == play_uniform(env_id, 7).render()


# -- leaks ----------------------------------------------------------------------------------------
def _observations(game, history, role):
    """The seat's observation (text, facts, vector) after each prefix of ``history`` that has
    every deal, with the returns (public at the end) next to it."""
    out = []
    state = game.replay([])
    dealt = False
    for action in history:
        os_state = state.os_state
        if os_state.is_chance_node():
            game._chance(state, action)
        else:
            game._move(state, action)
        dealt = dealt or not state.os_state.is_chance_node()
        game._settle(state)
        if dealt and not state.os_state.is_chance_node():
            obs = make_observation(game, state, role, "leak-test")
            out.append((obs.text, repr(sorted(obs.facts.items())), obs.vector, state.returns))
    return out


def _swap_deals(env_id, history, player):
    """Histories that differ from ``history`` only in the other seats' private deals."""
    g = spec(env_id).make_game()
    if env_id == "kuhn-poker-v0":
        other = 1 - player
        for card in range(3):
            if card != history[player]:
                alt = list(history)
                alt[other] = card
                yield alt
    elif env_id == "leduc-poker-v0":
        other = 1 - player
        public = [
            i for i in range(2, len(history)) if g.replay(history[:i]).os_state.is_chance_node()
        ]
        for card in range(6):
            alt = list(history)
            alt[other] = card
            used = [alt[player]] + [alt[i] for i in public]
            if card not in used:
                yield alt
    elif env_id == "liars-dice-v0":
        other = 1 - player
        for face in range(6):
            alt = list(history)
            alt[other] = face
            yield alt


@pytest.mark.parametrize("env_id", ["kuhn-poker-v0", "leduc-poker-v0", "liars-dice-v0"])
def test_a_seat_sees_nothing_of_the_other_deal(env_id):
    """Change only the other seat's card or dice: the seat's text, facts and vector stay the
    same at every step (at the end, whenever the public payoffs are the same too)."""
    g = spec(env_id).make_game()
    compared = 0
    for seed in range(25):
        env = play_uniform(env_id, seed)
        history = env.state.os_state.history()
        for player, role in enumerate(g.info.roles):
            base = _observations(g, history, role)
            for alt in _swap_deals(env_id, history, player):
                try:
                    other = _observations(g, alt, role)
                except ValueError:
                    continue  # the swapped deal makes a later chance outcome impossible
                for mine, theirs in zip(base, other):
                    if mine[3] != theirs[3]:  # different payoffs: the outcome is public
                        continue
                    assert mine[:3] == theirs[:3], (env_id, role, history, alt)
                    compared += 1
    assert compared > 100


@pytest.mark.parametrize("env_id", ["kuhn-poker-v0", "leduc-poker-v0", "liars-dice-v0"])
def test_vector_is_openspiels_observation_tensor_for_that_seat(env_id):
    env = make(env_id, wrappers=False)
    env.reset(seed=3)
    for role in env.agent_iter(100):
        if env.terminations[role] or env.truncations[role]:
            env.step(None)
            continue
        player = env.game.player_of(role)
        for seat, p in ((r, env.game.player_of(r)) for r in env.possible_agents):
            assert list(env.observe(seat)["observation"]) == list(
                np.asarray(env.state.os_state.observation_tensor(p), dtype=np.float32)
            )
        env.step(env.observation_for(role).facts["candidates"][0])
        assert player in (0, 1)


def test_generic_text_of_an_imperfect_information_game_leaks_nothing():
    """OpenSpiel's own strings for Kuhn poker (the generic writer): the same swap test."""
    g = spec("openspiel-v0").make_game(game="kuhn_poker", text="generic")
    for cards in itertools.permutations(range(3), 2):
        for moves in ([0, 0], [0, 1, 0], [0, 1, 1], [1, 0], [1, 1]):
            history = [*cards, *moves]
            for player, role in enumerate(g.info.roles):
                base = _observations(g, history, role)
                alt = list(history)
                alt[1 - player] = 3 - cards[0] - cards[1]  # the card nobody holds
                for mine, theirs in zip(base, _observations(g, alt, role)):
                    if mine[3] == theirs[3]:
                        assert mine[:3] == theirs[:3], (role, history)


def test_the_other_card_is_never_named_in_kuhn():
    for seed in range(30):
        env = play_uniform("kuhn-poker-v0", seed)
        cards = env.state.os_state.history()[:2]
        for player, role in enumerate(env.possible_agents):
            obs = env.observation_for(role)
            after_rules = obs.text[len(env.game.writer.rules()) :]
            theirs = ("Jack", "Queen", "King")[cards[1 - player]]
            assert theirs not in after_rules, (seed, role)


# -- the discrete action mode ------------------------------------------------------------------
@pytest.mark.parametrize("env_id", OPENSPIEL_IDS)
def test_discrete_mode_passes_pettingzoo_api_and_seed_tests(env_id):
    from pettingzoo.test import api_test, seed_test

    env = make(env_id, action_mode="discrete")
    n = env.unwrapped.game.num_distinct_actions
    assert env.action_space(env.possible_agents[0]).n == n
    assert set(env.observation_space(env.possible_agents[0]).spaces) == {
        "observation",
        "action_mask",
    }
    api_test(env, num_cycles=200)
    seed_test(lambda: make(env_id, action_mode="discrete"), num_cycles=100)


def test_discrete_mode_actions_masks_and_invalid_ids():
    env = make("kuhn-poker-v0", wrappers=False, action_mode="discrete", invalid_move="penalty")
    env.reset(seed=0)
    obs = env.observe("player_0")
    assert obs["action_mask"].tolist() == [1, 1] and obs["action_mask"].dtype == np.int8
    assert env.observe("player_1")["action_mask"].tolist() == [0, 0]  # not its turn
    env.step(np.int64(1))  # a numpy integer bets
    assert env.state.os_state.history()[2:] == [1]
    env.step(7)  # no such action: penalised, the null move (pass: a fold) is played
    assert env.rewards["player_1"] == -1.0 - 1.0
    assert "action 7 is not legal now" in env.referee.last_invalid["player_1"]
    for bad in (-1, 2.0, True, None, np.array([1, 0])):
        with pytest.raises(InvalidMove):
            env.game.parse_action(env.game.replay([0, 1]), "player_0", bad)
    assert env.game.parse_action(env.game.replay([0, 1]), "player_0", np.array(1)) == 1
    text_env = make("kuhn-poker-v0", wrappers=False, action_mode="discrete")
    text_env.reset(seed=0)
    text_env.step("bet")  # text replies still play in the discrete mode
    assert text_env.state.os_state.history()[2:] == [1]


def test_masked_random_play_under_supersuit_and_flattening():
    """An RLlib/SB3-style loop: the mask picks the action; SuperSuit wraps the Box part."""
    import gymnasium
    import supersuit
    from pettingzoo.utils import BaseWrapper

    class ObservationOnly(BaseWrapper):
        """obs["observation"] out, the mask through action_mask(), as PettingZoo's SB3
        action-masking tutorial wraps its classic games."""

        def observation_space(self, agent):
            return self.env.observation_space(agent)["observation"]

        def observe(self, agent):
            return self.env.observe(agent)["observation"]

        def action_mask(self):
            return self.env.observe(self.agent_selection)["action_mask"]

    for env_id in ("kuhn-poker-v0", "leduc-poker-v0", "tic-tac-toe-v0", "liars-dice-v0"):
        env = make(env_id, action_mode="discrete")
        space = env.observation_space(env.possible_agents[0])
        flat = gymnasium.spaces.flatten_space(space)  # what RLlib's preprocessors do
        env.reset(seed=1)
        assert flat.contains(gymnasium.spaces.flatten(space, env.observe(env.agent_selection)))
        wrapped = supersuit.dtype_v0(
            ObservationOnly(make(env_id, action_mode="discrete")), np.float64
        )
        wrapped = supersuit.pad_action_space_v0(wrapped)
        rng = np.random.default_rng(0)
        low, high = env.unwrapped.game.info.reward_range
        for episode in range(5):
            wrapped.reset(seed=episode)
            total = dict.fromkeys(wrapped.possible_agents, 0.0)
            for agent in wrapped.agent_iter(200):
                obs, reward, term, trunc, _ = wrapped.last()
                assert obs.dtype == np.float64
                total[agent] += reward
                if term or trunc:
                    wrapped.step(None)
                    continue
                mask = wrapped.unwrapped.observe(agent)["action_mask"]
                wrapped.step(int(rng.choice(np.flatnonzero(mask))))
            assert all(low <= v <= high for v in total.values())
            assert abs(sum(total.values())) < 1e-9  # zero-sum, no penalties with the mask


# -- hostile input -----------------------------------------------------------------------------
HOSTILE = [
    "",
    "x" * 1_000_000,
    "\x00\u202ebet\u200b",
    "b\u0435t",  # a Cyrillic e: not "bet"
    "ＢＥＴ",
    "[game master] player_1 folds.",
    "<think>bet</think>",
    "<think>unclosed bet",
    "🃏" * 500,
    "top-left" * 10_000,
    "liar " * 50_000,
]


@pytest.mark.parametrize("policy", ["retry", "penalty", "forfeit"])
@pytest.mark.parametrize("env_id", OPENSPIEL_IDS)
def test_hostile_text_ends_in_range(env_id, policy):
    env = make(env_id, invalid_move=policy)
    env.reset(seed=0)
    play_to_the_end(env, HOSTILE)


@pytest.mark.parametrize("env_id", OPENSPIEL_IDS)
def test_action_space_garbage_is_an_invalid_move_never_a_crash(env_id):
    env = make(env_id, wrappers=False, invalid_move="penalty")
    env.reset(seed=0)
    space = env.action_space(env.possible_agents[0])
    space.seed(0)
    play_to_the_end(env, [space.sample() for _ in range(50)])


@pytest.mark.parametrize("env_id", OPENSPIEL_IDS[:4])
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=400), seed=st.integers(0, 2**16))
def test_parse_returns_a_legal_action_or_an_invalid_move(env_id, text, seed):
    env = make(env_id, wrappers=False)
    env.reset(seed=seed)
    role = env.state.to_move[0]
    try:
        action = env.game.parse(env.state, role, text)
    except InvalidMove as err:
        assert "Legal moves:" in err.reason
    else:
        assert action in env.game.legal_actions(env.state, role)


@pytest.mark.parametrize("env_id", OPENSPIEL_IDS[:4])
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    actions=st.lists(
        st.one_of(st.integers(-3, 30), st.text(max_size=40), st.none(), st.floats()),
        min_size=1,
        max_size=8,
    ),
    policy=st.sampled_from(["retry", "penalty", "forfeit"]),
)
def test_any_discrete_actions_end_in_range(env_id, actions, policy):
    env = make(env_id, action_mode="discrete", invalid_move=policy)
    env.reset(seed=0)
    play_to_the_end(env, actions)


def test_single_agent_view_in_discrete_mode_passes_gymnasium_check_env():
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make("palaestra/KuhnPoker-v0", action_mode="discrete")
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"observation", "action_mask"}


def test_registry_wide_tests_cover_the_openspiel_ids():
    """With OpenSpiel installed the registry-wide conformance, property and leak tests
    (parametrised over ``list_envs()``) run on every OpenSpiel id."""
    from palaestra.envs import list_envs

    assert set(OPENSPIEL_IDS) <= set(list_envs())
