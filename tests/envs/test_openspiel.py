"""The OpenSpiel bridge: rules tables, move names, the interface, errors, running without it.

Values in the tables are computed by hand from the rules (the Kuhn King holder's bet called
by the Jack wins 2; sixes are wild in Liar's dice; ...).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import palaestra  # noqa: F401  (registers the Gymnasium ids)
from palaestra.agents import make_agent
from palaestra.envs import InvalidMove, list_envs, make, spec
from palaestra.envs.adapter import make_observation

pyspiel = pytest.importorskip("pyspiel")

from palaestra.envs.openspiel import (  # noqa: E402
    MissingOpenSpiel,
    OpenSpielGame,
    OpenSpielState,
    pyspiel_available,
)
from palaestra.envs.openspiel.bridge import draw_chance  # noqa: E402
from palaestra.envs.openspiel.writers import find_move  # noqa: E402

OPENSPIEL_IDS = [
    "kuhn-poker-v0",
    "leduc-poker-v0",
    "tic-tac-toe-v0",
    "liars-dice-v0",
    "openspiel-v0",
]
J, Q, K = 0, 1, 2  # Kuhn cards
PASS, BET = 0, 1
FOLD, CALL, RAISE = 0, 1, 2  # Leduc actions


def game(env_id: str, **kwargs) -> OpenSpielGame:
    return spec(env_id).make_game(**kwargs)


def play_text(env_id: str, deal: list[int], texts: list[str], **kwargs):
    """Reset, force ``deal`` (OpenSpiel chance ids), play ``texts``; return the raw env and
    each step's rewards."""
    env = make(env_id, wrappers=False, **kwargs)
    env.reset(seed=0)
    env.state = env.game.replay(deal, rng=env.np_random)
    env.agent_selection = env.state.to_move[0]
    steps = []
    for text in texts:
        assert env.agents and not env.state.done, "the game ended before all texts were played"
        env.step(text)
        steps.append(dict(env.rewards))
    return env, steps


# -- rules tables: moves in, returns out ------------------------------------------------------
KUHN_TABLE = [
    # (cards, moves as text, returns of player_0, player_1)
    ((K, J), ["bet", "call"], (2, -2)),  # the King holder's bet is called: +2
    ((J, K), ["bet", "call"], (-2, 2)),
    ((Q, J), ["check", "check"], (1, -1)),  # check-check: the higher card takes the antes
    ((J, Q), ["pass", "pass"], (-1, 1)),
    ((J, K), ["bet", "fold"], (1, -1)),  # a bluff that works
    ((K, Q), ["check", "bet", "fold"], (-1, 1)),
    ((Q, K), ["pass", "bet", "call"], (-2, 2)),
    ((K, Q), ["PASS", "Bet 1 chip", "I call."], (2, -2)),
]


@pytest.mark.parametrize(("cards", "texts", "returns"), KUHN_TABLE)
def test_kuhn_rules_table(cards, texts, returns):
    env, steps = play_text("kuhn-poker-v0", list(cards), texts)
    assert env.state.done
    assert steps[-1] == {"player_0": returns[0], "player_1": returns[1]}
    assert env.state.returns == {"player_0": returns[0], "player_1": returns[1]}
    assert sum(env.state.returns.values()) == 0


LEDUC_TABLE = [
    # (full OpenSpiel history incl. chance: cards 0,1=J 2,3=Q 4,5=K; returns of player_0)
    ([0, 2, CALL, CALL, 4, CALL, CALL], -1),  # J vs Q, public K, all checks: Q wins the antes
    ([0, 2, RAISE, CALL, 1, CALL, CALL], 3),  # J pairs the public J: ante 1 + raise 2
    ([4, 2, RAISE, FOLD], 1),  # a fold after a raise loses only the ante
    ([0, 1, RAISE, CALL, 4, RAISE, CALL], 0),  # two Jacks: a split pot
    ([2, 4, RAISE, RAISE, CALL, 3, RAISE, RAISE, CALL], 13),  # Q pairs: the biggest pot
    ([2, 4, CALL, RAISE, CALL, 5, CALL, RAISE, FOLD], -3),  # folds in round 2
]


@pytest.mark.parametrize(("history", "return0"), LEDUC_TABLE)
def test_leduc_rules_table(history, return0):
    state = game("leduc-poker-v0").replay(history)
    assert state.done
    assert state.returns == {"player_0": return0, "player_1": -return0}


LIARS_TABLE = [
    # (dice as OpenSpiel outcomes (face - 1), moves, returns of player_0)
    ([2, 5], ["2 threes", "liar"], 1),  # a 3 and a wild 6: two threes hold
    ([2, 4], ["2 threes", "liar"], -1),  # a 3 and a 5: the bid fails
    ([5, 5], ["1 six", "2 sixes", "liar"], -1),  # player_1's bid of 2 sixes holds
    ([0, 3], ["one one", "two fours", "call liar"], 1),  # player_1 bid 2 fours on one 4
]


@pytest.mark.parametrize(("dice", "texts", "return0"), LIARS_TABLE)
def test_liars_dice_rules_table(dice, texts, return0):
    env, _ = play_text("liars-dice-v0", dice, texts)
    assert env.state.done
    assert env.state.returns == {"player_0": return0, "player_1": -return0}


TTT_TABLE = [
    (["top-left", "center", "top-center", "bottom-left", "top right"], {"x": 1, "o": -1}),
    (["center", "top-left", "TOP-RIGHT", "bottom-left", "middle left", "middle right",
      "bottom middle", "top centre", "bottom-right"], {"x": 0, "o": 0}),
    (["bottom-right", "center", "bottom-left", "top-left", "top-center", "bottom-center",
      "middle-left", "top-right", "middle-right"], {"x": 0, "o": 0}),
    (["top-left", "center", "middle-left", "top-right", "top-center", "bottom-left"],
     {"x": -1, "o": 1}),
]  # fmt: skip


@pytest.mark.parametrize(("texts", "returns"), TTT_TABLE)
def test_tic_tac_toe_rules_table(texts, returns):
    env, _ = play_text("tic-tac-toe-v0", [], texts, invalid_move="forfeit")
    assert env.state.done and env.referee.counts == {"x": 0, "o": 0}
    assert env.state.returns == returns


def test_returns_are_openspiel_returns_and_inside_the_declared_range():
    for env_id in OPENSPIEL_IDS:
        g = game(env_id)
        low, high = g.info.reward_range
        assert (low, high) == (g.pyspiel_game.min_utility() - 1, g.pyspiel_game.max_utility())
        assert g.info.zero_sum
    seen = set()
    g = game("kuhn-poker-v0")
    rng = np.random.default_rng(0)
    for _ in range(300):
        state = g.new_state(rng)
        while not state.done:
            (role,) = state.to_move
            g.apply(state, {role: int(rng.choice(g.legal_actions(state, role)))})
        assert state.returns["player_0"] == state.os_state.returns()[0]
        seen.add(state.returns["player_0"])
    assert seen == {-2.0, -1.0, 1.0, 2.0}


# -- moves by name ----------------------------------------------------------------------------
PARSE_TABLE = [
    # (env id, OpenSpiel history, role, reply, action id or None for an invalid move)
    ("kuhn-poker-v0", [K, J], "player_0", "bet", BET),
    ("kuhn-poker-v0", [K, J], "player_0", "BET!", BET),
    ("kuhn-poker-v0", [K, J], "player_0", "I check", PASS),
    ("kuhn-poker-v0", [K, J], "player_0", "pass, or maybe bet", PASS),  # the first named
    ("kuhn-poker-v0", [K, J], "player_0", "maybe bet, or pass", BET),
    ("kuhn-poker-v0", [K, J], "player_0", "call", None),  # nothing to call
    ("kuhn-poker-v0", [K, J], "player_0", "fold", None),
    ("kuhn-poker-v0", [K, J], "player_0", "betting passage", None),  # whole words only
    ("kuhn-poker-v0", [K, J, BET], "player_1", "I fold", PASS),
    ("kuhn-poker-v0", [K, J, BET], "player_1", "Call.", BET),
    ("kuhn-poker-v0", [K, J, BET], "player_1", "check", None),  # facing a bet
    ("kuhn-poker-v0", [K, J, PASS, BET], "player_0", "fold", PASS),
    ("leduc-poker-v0", [0, 2], "player_0", "check", CALL),
    ("leduc-poker-v0", [0, 2], "player_0", "bet", RAISE),
    ("leduc-poker-v0", [0, 2], "player_0", "fold", None),  # nothing to answer
    ("leduc-poker-v0", [0, 2, RAISE], "player_1", "Raise", RAISE),
    ("leduc-poker-v0", [0, 2, RAISE], "player_1", "fold", FOLD),
    ("leduc-poker-v0", [0, 2, RAISE], "player_1", "check", None),
    ("leduc-poker-v0", [0, 2, RAISE, RAISE], "player_0", "raise", None),  # two raises made
    ("leduc-poker-v0", [0, 2, RAISE, RAISE], "player_0", "call", CALL),
    ("tic-tac-toe-v0", [], "x", "Top Left", 0),
    ("tic-tac-toe-v0", [], "x", "top_right", 2),
    ("tic-tac-toe-v0", [], "x", "the centre", 4),
    ("tic-tac-toe-v0", [], "x", "middle-center", 4),
    ("tic-tac-toe-v0", [], "x", "bottom middle", 7),
    ("tic-tac-toe-v0", [], "x", "middle-left, not center", 3),
    ("tic-tac-toe-v0", [], "x", "left", None),
    ("tic-tac-toe-v0", [], "x", "b2", None),
    ("tic-tac-toe-v0", [4], "o", "center", None),  # taken
    ("tic-tac-toe-v0", [4], "o", "center, no: top-left", 0),
    ("liars-dice-v0", [2, 5], "player_0", "2 fives", 10),
    ("liars-dice-v0", [2, 5], "player_0", "Two Fives", 10),
    ("liars-dice-v0", [2, 5], "player_0", "2 5s", 10),
    ("liars-dice-v0", [2, 5], "player_0", "1 six", 5),
    ("liars-dice-v0", [2, 5], "player_0", "one six", 5),
    ("liars-dice-v0", [2, 5], "player_0", "12 fives", None),
    ("liars-dice-v0", [2, 5], "player_0", "liar", None),  # nothing to call yet
    ("liars-dice-v0", [2, 5, 10], "player_1", "you are a LIAR", 12),
    ("liars-dice-v0", [2, 5, 10], "player_1", "1 six", None),  # not higher
    ("liars-dice-v0", [2, 5, 10], "player_1", "2 sixes", 11),
    ("kuhn-poker-v0", [K, J], "player_1", "bet", None),  # not player_1's turn
]


@pytest.mark.parametrize(("env_id", "history", "role", "text", "expected"), PARSE_TABLE)
def test_parse_table(env_id, history, role, text, expected):
    g = game(env_id)
    state = g.replay(history)
    if expected is not None:
        assert g.parse(state, role, text) == expected
        return
    with pytest.raises(InvalidMove) as err:
        g.parse(state, role, text)
    if role in state.to_move:
        for name in g.legal_moves(state).values():
            assert name in err.value.reason  # the reason lists the legal moves


def test_every_canonical_move_name_parses_to_its_action():
    """At every state reached by random play, each legal move's canonical text (what
    ``facts["candidates"]`` offers) plays exactly that move."""
    rng = np.random.default_rng(0)
    for env_id in OPENSPIEL_IDS:
        g = game(env_id)
        for _ in range(30):
            state = g.new_state(rng)
            while not state.done:
                (role,) = state.to_move
                legal = g.legal_moves(state)
                assert len(set(legal.values())) == len(legal), (env_id, legal)
                for action, name in legal.items():
                    assert g.parse(state, role, name) == action
                    assert g.parse(state, role, name.upper()) == action
                g.apply(state, {role: int(rng.choice(list(legal)))})


def test_find_move_prefers_the_earliest_then_the_longest_spelling():
    spellings = {"top left": 0, "left": 1, "1 five": 2, "10 fives": 3}
    assert find_move("left or top left", spellings) == (1, "left")
    assert find_move("top-left", spellings) == (0, "top left")
    assert find_move("10 fives", spellings) == (3, "10 fives")
    assert find_move("nothing here", spellings) is None
    assert find_move("", {}) is None


# -- the interface the exact evaluation uses -----------------------------------------------------
def test_replay_legal_moves_parse_and_roles():
    g = spec("kuhn-poker-v0").make_game()
    assert isinstance(g, OpenSpielGame)
    assert g.pyspiel_game.get_type().short_name == "kuhn_poker"
    state = g.replay([K, J, PASS])
    assert isinstance(state, OpenSpielState)
    assert state.os_state.history() == [K, J, PASS]
    assert state.to_move == ("player_1",)
    assert g.legal_moves(state) == {PASS: "pass", BET: "bet"}
    assert g.parse(state, "player_1", "bet") == BET
    assert [m.text for m in state.transcript.messages] == ["player_0 checks (pass)."]
    assert g.role_of(1) == "player_1" and g.player_of("player_0") == 0
    assert spec("tic-tac-toe-v0").make_game().role_of(0) == "x"
    with pytest.raises(ValueError, match="no role 'alice'"):
        g.player_of("alice")
    with pytest.raises(ValueError, match="no OpenSpiel player 5"):
        g.role_of(5)
    with pytest.raises(ValueError, match="action 7 at position 2 is not legal"):
        g.replay([K, J, 7])
    with pytest.raises(ValueError, match="chance outcome 2 at position 1"):
        g.replay([K, K])
    waiting = g.replay([K])  # stops at the second deal without a generator
    assert waiting.to_move == () and not waiting.done
    dealt = g.replay([K], rng=np.random.default_rng(0))
    assert dealt.to_move == ("player_0",) and len(dealt.os_state.history()) == 2


def test_make_observation_is_what_the_adapter_hands_the_seat():
    env = make("kuhn-poker-v0", wrappers=False)
    env.reset(seed=4, options={"episode": "e4"})
    env.step("bet")
    for role in env.possible_agents:
        made = make_observation(env.game, env.state, role, "kuhn-poker-v0", "e4")
        assert made == env.observation_for(role)
    obs = env.observation_for("player_1")
    os_state = env.state.os_state
    assert obs.facts["player"] == 1
    assert obs.facts["info_state"] == os_state.information_state_string(1)
    assert obs.facts["legal_actions"] == [PASS, BET]
    assert obs.facts["candidates"] == ("pass", "bet")
    assert obs.facts["private"] == {"card": "JQK"[os_state.history()[1]]}
    assert list(obs.vector) == list(os_state.observation_tensor(1))
    assert env.observation_for("player_0").facts["legal_actions"] == []


def test_observation_layout_rules_then_private_then_history_then_moves():
    env = make("kuhn-poker-v0", wrappers=False)
    env.reset(seed=1)
    env.step("pass")
    observations = {r: env.observation_for(r) for r in env.possible_agents}
    texts = {r: o.text for r, o in observations.items()}
    rules = spec("kuhn-poker-v0").make_game().writer.rules()
    for obs in observations.values():
        assert obs.text.startswith(rules)  # the same rules, first, for every seat
        assert obs.text.index("Your card is") < obs.text.index("Transcript:")
        assert obs.text.endswith(obs.instruction)
        assert obs.text.index("player_0 checks (pass).") < len(obs.text) - len(obs.instruction)
    assert "Reply with one word: pass or bet." in observations["player_1"].instruction
    assert "Your move, player_1." in texts["player_1"]
    assert "Wait: player_1 is to move." in texts["player_0"]


def test_chance_is_drawn_from_the_reset_seed_generator():
    """The deal is the inverse-CDF draw from numpy's Generator(seed), one uniform per card."""
    for seed in range(20):
        env = make("kuhn-poker-v0", wrappers=False)
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        first = int(rng.random() * 3)
        rest = [c for c in (J, Q, K) if c != first]
        second = rest[int(rng.random() * 2)]
        assert env.state.os_state.history()[:2] == [first, second]
    counts = {}
    g = game("kuhn-poker-v0")
    rng = np.random.default_rng(123)
    for _ in range(1200):
        deal = tuple(g.new_state(rng).os_state.history()[:2])
        counts[deal] = counts.get(deal, 0) + 1
    assert len(counts) == 6 and all(150 <= n <= 250 for n in counts.values()), counts
    assert draw_chance(np.random.default_rng(0), [(7, 0.0), (9, 1.0)]) == 9


def test_same_seed_same_deal_other_seeds_other_deals():
    def deal(env_id, seed):
        env = make(env_id, wrappers=False)
        env.reset(seed=seed)
        return tuple(env.state.os_state.history())

    for env_id in ("kuhn-poker-v0", "leduc-poker-v0", "liars-dice-v0"):
        assert deal(env_id, 5) == deal(env_id, 5)
        assert len({deal(env_id, s) for s in range(12)}) > 2


def test_null_move_and_forfeit():
    g = game("leduc-poker-v0")
    facing = g.replay([0, 2, RAISE])
    assert g.null_move(facing, "player_1") == FOLD
    assert g.null_move(g.replay([0, 2]), "player_0") == CALL  # a check
    assert g.forfeit(facing, "player_1") == {"player_0": 13.0, "player_1": -13.0}
    kuhn = game("kuhn-poker-v0")
    assert kuhn.forfeit(kuhn.replay([K, J]), "player_0") == {"player_0": -2.0, "player_1": 2.0}
    env = make("kuhn-poker-v0", invalid_move="forfeit")
    env.reset(seed=0)
    env.step("hmm")
    assert not env.agents or all(env.unwrapped.terminations.values())
    assert env.unwrapped.state.returns == {"player_0": -2.0, "player_1": 2.0}


def test_penalty_plays_the_null_move_and_stays_in_range():
    env, steps = play_text("kuhn-poker-v0", [J, K], ["hmm", "bet", "??"], invalid_move="penalty")
    # player_0's garbage is a check (penalty -1), player_1 bets, player_0's garbage folds.
    assert [m.text for m in env.state.transcript.messages if m.to is None][:3] == [
        "player_0 checks (pass).",
        "player_1 bets 1 chip (bet).",
        "player_0 folds (pass).",
    ]
    assert steps[-1]["player_0"] == -2.0  # the penalty and the lost ante
    assert env.game.info.reward_range[0] <= -2.0


def test_summary_replays_the_episode():
    env = make("liars-dice-v0", wrappers=False)
    env.reset(seed=2)
    agent = make_agent("scripted:liars-dice/uniform")
    for role in env.agent_iter():
        if env.terminations[role] or env.truncations[role]:
            env.step(None)
            continue
        env.step(agent.act([env.observation_for(role)])[0].text)
    summary = env.game.summary(env.state)
    replayed = env.game.replay(summary["openspiel_history"])
    assert replayed.returns == env.state.returns
    assert replayed.transcript.render("player_0") == env.state.transcript.render("player_0")


# -- bad names and parameters ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"game": "conect_four"}, ValueError, r"unknown OpenSpiel game 'conect_four'.*'connect_"),
        ({"game": "kuhn"}, ValueError, r"'kuhn'"),
        ({"game": "connect_four", "params": {"rowz": 5}}, ValueError, r"parameter 'rowz'.*'rows'"),
        ({"game": "connect_four", "params": {"rows": "x"}}, ValueError, r"rows"),
        ({"game": "connect_four(rowz=5)"}, ValueError, r"rowz"),
        ({"game": "connect_four(rows=5)", "params": {"rows": 4}}, ValueError, "not both"),
        ({"game": "goofspiel"}, ValueError, r"'goofspiel' is not sequential"),
        ({"game": "not a name!"}, ValueError, r"'not a name!'"),
        ({"game": 3}, TypeError, r"game must be an OpenSpiel game name"),
        ({"game": "tic_tac_toe", "text": "fancy"}, ValueError, r"text must be one of.*'fancy'"),
    ],
)  # fmt: skip
def test_bad_game_names_and_params_name_the_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        make("openspiel-v0", **kwargs)


def test_generic_entry_plays_any_sequential_game():
    env = make("openspiel-v0", game="connect_four", params={"rows": 5})
    assert env.unwrapped.game.pyspiel_game.get_parameters()["rows"] == 5
    env = make("openspiel-v0", game="connect_four(rows=4,columns=5)", action_mode="discrete")
    assert env.action_space("player_0").n == 5
    env.reset(seed=0)
    text = env.unwrapped.observation_for("player_0").text
    assert "connect_four(columns=5,rows=4)" in text and "x0" in text
    g = game("kuhn-poker-v0", params={"players": 3})  # no Kuhn writer for 3: OpenSpiel's strings
    assert g.info.roles == ("player_0", "player_1", "player_2")
    assert "the OpenSpiel game kuhn_poker(players=3)" in g.writer.rules()


def test_bad_discrete_mode_for_text_games():
    with pytest.raises(ValueError, match="no discrete action mode"):
        make("negotiation-v0", action_mode="discrete")
    with pytest.raises(ValueError, match="action_mode must be one of"):
        make("kuhn-poker-v0", action_mode="ints")


# -- scripted players -----------------------------------------------------------------------------
def test_uniform_policy_is_seeded_and_uniform():
    from palaestra.envs.openspiel.policies import PolicyAgent, UniformPolicy

    agent = make_agent("scripted:kuhn-poker/uniform?seed=3")
    assert isinstance(agent, UniformPolicy) and isinstance(agent, PolicyAgent)
    assert agent.seed == 3
    g = game("kuhn-poker-v0")
    state = g.replay([K, J])
    replies = []
    for episode in range(400):
        obs = make_observation(g, state, "player_0", "kuhn-poker-v0", episode=str(episode))
        assert agent.action_probabilities(obs) == {PASS: 0.5, BET: 0.5}
        replies.append(agent.act([obs])[0].text)
        assert agent.act([obs])[0].text == replies[-1]  # same (seed, episode, turn, role)
    assert 160 <= replies.count("bet") <= 240
    for env_id in OPENSPIEL_IDS:
        assert "uniform" in spec(env_id).scripted
    with pytest.raises(ValueError, match="seed must be an integer"):
        UniformPolicy(seed="x")


def test_single_agent_view_with_default_opponents():
    import gymnasium

    env = gymnasium.make("palaestra/KuhnPoker-v0", role="player_1")
    obs, _ = env.reset(seed=0)
    assert "You are player_1." in obs["text"]
    _, reward, terminated, _, _ = env.step("bet")
    while not terminated:
        _, reward, terminated, _, _ = env.step("bet")
    assert reward in (-2.0, -1.0, 1.0, 2.0)


# -- without OpenSpiel --------------------------------------------------------------------------
def test_without_openspiel_the_games_are_listed_as_unavailable(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyspiel", None)  # `import pyspiel` now fails
    assert not pyspiel_available()
    for env_id in OPENSPIEL_IDS:
        assert env_id not in list_envs()
        assert env_id in list_envs(include_unavailable=True)
        assert not spec(env_id).available
        with pytest.raises(MissingOpenSpiel, match=r"pip install 'palaestra\[openspiel\]'"):
            make(env_id)
    assert "negotiation-v0" in list_envs()
    make("negotiation-v0").reset(seed=0)  # nothing else breaks

    from palaestra.envs.cli import _envs

    _envs(None)
    out = capsys.readouterr().out
    assert "kuhn-poker-v0" in out and "unavailable" in out and "openspiel" in out


def test_importing_palaestra_envs_does_not_import_pyspiel():
    code = (
        "import sys; import palaestra.envs as e; import palaestra.agents; "
        "assert 'pyspiel' not in sys.modules, 'pyspiel imported'; "
        "sys.modules['pyspiel'] = None; "
        "assert 'kuhn-poker-v0' not in e.list_envs(); e.make('negotiation-v0').reset(seed=0); "
        "print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_docs_hook_writes_a_page_per_openspiel_game():
    """docs/hooks.py turns each game module's docstring into its page; the new games have
    pages with their ids, Gymnasium ids and roles."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "hooks.py"
    loaded = importlib.util.spec_from_file_location("docs_hooks", path)
    hooks = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(hooks)
    pages = hooks._game_pages()
    for env_id in OPENSPIEL_IDS:
        module = spec(env_id).module
        assert module in pages, module
        ids, doc = pages[module]
        page = hooks._markdown(ids, doc)
        assert f"`{spec(env_id).gym_id}`" in page
        assert "**Rewards**" in page and "**Version history**" in page


def test_the_deal_is_in_the_final_infos_for_records():
    env = make("kuhn-poker-v0", wrappers=False)
    env.reset(seed=0)
    env.step("pass")
    assert "private" not in env.infos["player_0"]  # only once the hand is over
    env.step("pass")
    cards = env.state.os_state.history()[:2]
    assert env.infos["player_0"]["private"] == {
        "player_0": {"card": "JQK"[cards[0]]},
        "player_1": {"card": "JQK"[cards[1]]},
    }


def test_kuhn_name_card_writes_moves_after_the_card_and_keeps_the_plain_names():
    from palaestra.envs.openspiel.policies import information_states

    g = spec("kuhn-poker-v0").make_game(name_card=True)
    state = g.replay([2, 1])  # player_0 holds the King, player_1 the Queen
    obs = make_observation(g, state, "player_0", "kuhn-poker-v0")
    assert "Reply with your card and your move: King: pass or King: bet." in obs.instruction
    assert "Reply with your card and then your move" in obs.text  # the rules say it too
    for text, action in (("King: bet", 1), ("King: pass", 0), ("bet", 1), ("check", 0)):
        assert g.parse(state, "player_0", text) == action, text
    with pytest.raises(InvalidMove, match="Legal moves: King: pass, King: bet"):
        g.parse(state, "player_0", "King")  # the card alone is no move
    plain = spec("kuhn-poker-v0").make_game()
    obs = make_observation(plain, plain.replay([2, 1]), "player_0", "kuhn-poker-v0")
    assert "Reply with one word: pass or bet." in obs.instruction
    states = information_states("kuhn-poker-v0", name_card=True)
    assert all(m.endswith((": pass", ": bet")) for s in states for m in s.moves)
    env = make("kuhn-poker-v0", name_card=True)  # the env id takes it as an argument
    env.reset(seed=0)
    assert ": bet" in env.observe(env.agent_selection)["text"]
    with pytest.raises(ValueError, match="name_card"):
        spec("kuhn-poker-v0").make_game(text="generic", name_card=True)
