"""The shortcuts taken for env speed give the same results as the plain computations."""

from __future__ import annotations

import copy
import dataclasses
import itertools

import numpy as np
import pytest

from palaestra.envs.adapter import _FAST_OBSERVATION, TextGameEnv
from palaestra.envs.core import (
    _BLANK_LINES,
    _CONTROL,
    GAME_MASTER,
    InvalidMove,
    Message,
    Transcript,
    clean_text,
    split_reasoning,
)
from palaestra.envs.negotiation.rules import (
    NegotiationGame,
    all_splits,
    complement,
    is_pareto_optimal,
    parse_offer,
    points,
    pool_options,
    value_vectors,
)
from palaestra.envs.protocol import Observation


class _OutOfBounds(NegotiationGame):
    """Negotiation whose vector leaves its declared bounds (-1, 10) in three places."""

    def view(self, state, role):
        view = super().view(state, role)
        return dataclasses.replace(view, vector=[-5.0, 99.0, float("nan"), *view.vector[3:]])


def test_observation_vector_is_clipped_only_where_it_leaves_the_bounds():
    env = TextGameEnv(_OutOfBounds(), "negotiation-v0")
    env.reset(seed=0)
    vector = env.observe("alice")["observation"]
    assert vector.dtype == np.float32
    assert vector[0] == -1.0 and vector[1] == 10.0 and np.isnan(vector[2])
    inside = env.observation_for("alice").vector[3:]
    assert vector[3:].tolist() == pytest.approx(list(inside))


def test_observation_vector_inside_the_bounds_is_a_fresh_float32_copy():
    env = TextGameEnv(NegotiationGame(), "negotiation-v0")
    env.reset(seed=3)
    first, second = env.observe("bob")["observation"], env.observe("bob")["observation"]
    expected = np.clip(np.asarray(env.observation_for("bob").vector, np.float32), -1.0, 10.0)
    assert first.dtype == np.float32 and np.array_equal(first, expected)
    first[0] = 123.0  # the caller owns its array
    assert second[0] != 123.0


def _plain_render(transcript: Transcript, role: str) -> str:
    return "\n".join(m.render(role) for m in transcript.messages if m.visible_to(role))


def test_incremental_transcript_text_equals_a_full_render_after_every_message():
    transcript = Transcript()
    rendered_by = {"alice": [], "bob": []}
    adds = [
        ("alice", "hi", None),
        (GAME_MASTER, "private note", "bob"),
        ("bob", "two\nlines", None),
        ("alice", "psst", "bob"),
        (GAME_MASTER, "public", None),
        ("bob", "", None),
        (GAME_MASTER, "", "alice"),
        ("alice", "", "bob"),
        ("bob", "appended to the list", None),
    ]
    assert transcript.render("alice") == ""
    for sender, text, to in adds:
        if text == "appended to the list":  # not through add(): rendered all the same
            transcript.messages.append(Message(sender, text, to))
        else:
            transcript.add(sender, text, to)
        for role in rendered_by:
            got = transcript.render(role)
            assert got == _plain_render(transcript, role)
            assert got == transcript.render(role)  # asking twice changes nothing
            rendered_by[role].append(got)
    # Append-only: every earlier text is a prefix of the later ones.
    for texts in rendered_by.values():
        assert all(b.startswith(a) for a, b in itertools.pairwise(texts))


@pytest.mark.parametrize(
    "text",
    ["plain", "  spaced  ", "a <b> tag", "<think>x</think>y", "y</think>", "\t\r\nx\n\n\n\ny"],
)
def test_reasoning_split_and_cleaning_keep_their_results(text):
    reasoning, visible = split_reasoning(text)
    if "<" not in text:
        assert (reasoning, visible) == ("", text.strip())
    cleaned = clean_text(visible, 1200)
    assert "\r" not in cleaned and "\t" not in cleaned and "\n\n\n" not in cleaned


def _pareto_by_numpy(counts, va, vb, a_gets) -> bool:
    splits = np.array(all_splits(counts))
    pa, pb = points(va, a_gets), points(vb, complement(counts, a_gets))
    qa, qb = splits @ np.array(va), (np.array(counts) - splits) @ np.array(vb)
    return not bool(((qa >= pa) & (qb >= pb) & ((qa > pa) | (qb > pb))).any())


def test_pareto_check_agrees_with_a_vectorised_search_on_sampled_deals():
    rng = np.random.default_rng(0)
    checked = 0
    for counts in pool_options()[::3]:
        options = value_vectors(counts)
        for _ in range(8):
            va, vb = (options[int(rng.integers(len(options)))] for _ in range(2))
            for a_gets in all_splits(counts):
                got = is_pareto_optimal.__wrapped__(counts, va, vb, a_gets)
                assert got == _pareto_by_numpy(counts, va, vb, a_gets)
                checked += 1
    assert checked > 1000


def test_cached_offer_parsing_raises_every_time_for_a_bad_offer():
    assert parse_offer(" book=1 hat=0 ball=2", (2, 2, 2)) == (1, 0, 2)
    assert parse_offer(" book=1 hat=0 ball=2", (2, 2, 2)) == (1, 0, 2)
    for _ in range(2):
        with pytest.raises(InvalidMove, match="only 1"):
            parse_offer(" book=1 hat=0 ball=2", (1, 1, 1))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Let us talk about books.", "talk"),
        ("I make no offer today", "talk"),
        ("offer: book=1 hat=1 ball=1", "offer"),
        ("Fine, I accept.", "accept"),
        ("acceptable? no", "talk"),
        ("no   deal", "walk"),
        ("the deal is off", "talk"),
    ],
)
def test_act_words_found_in_any_case(text, kind):
    game = NegotiationGame()
    state = game.new_state(np.random.default_rng(1))
    state.offer = ("bob", (0, 0, 0))
    assert game.parse(state, "alice", text).kind == kind


def _plain_clean(text: str, max_chars: int) -> str:
    """clean_text as first written: every pattern applied to every text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub("", text)
    text = _BLANK_LINES.sub("\n\n", text).strip()
    return text[:max_chars].rstrip() + " [...]" if len(text) > max_chars else text


def test_cleaning_fast_path_agrees_with_the_patterns_on_every_ascii_and_some_unicode():
    # Every ASCII character (the fast path's domain) and the pattern's non-ASCII ranges.
    chars = [chr(c) for c in range(128)] + ["\x85", "\u200b", "\u2028", "\ufeff", "é", "→"]
    for c in chars:
        for text in (f"a{c}b", f"{c}", f"line\n{c}\nline", f"x{c}\n\n\n\ny"):
            assert clean_text(text, 1200) == _plain_clean(text, 1200), repr(text)
    assert clean_text("ok\x07 fine", 1200) == "ok fine"


def test_fast_built_records_equal_the_plain_constructors():
    transcript = Transcript()
    made = transcript.add("alice", "hi", "bob")
    assert made == Message("alice", "hi", "bob") and made.channel == Message("a", "b", "c").channel
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.text = "changed"  # still frozen
    assert _FAST_OBSERVATION  # the fast path is taken: Observation is a plain frozen dataclass
    env = TextGameEnv(NegotiationGame(), "negotiation-v0")
    env.reset(seed=4, options={"episode": "e"})
    env.step("OFFER: book=1 hat=1 ball=1")
    obs = env.observation_for("bob")
    plain = Observation(**{f.name: getattr(obs, f.name) for f in dataclasses.fields(obs)})
    assert obs == plain and hash(obs.turn) == hash(plain.turn) and obs.seat == "e/bob"
    assert obs.__dict__ == plain.__dict__
    with pytest.raises(dataclasses.FrozenInstanceError):
        obs.text = "changed"
    # The PettingZoo observation dict carries the same text and vector.
    got = env.observe("bob")
    assert got["text"] == obs.text
    assert got["observation"].tolist() == pytest.approx(list(obs.vector))


def test_inlined_infos_equal_the_per_seat_info_at_every_step():
    env = TextGameEnv(NegotiationGame(max_turns=6), "negotiation-v0")
    env.reset(seed=2)
    for reply in ["hello", "OFFER: book=99 hat=0 ball=0", "OFFER: book=1 hat=1 ball=1", "ACCEPT"]:
        env.step(reply)
        assert env.infos == {a: env._info(a) for a in env.agents}
    assert env.infos["alice"]["outcome"] == "agreement"


def test_infos_built_when_read_are_those_of_that_moment_and_never_change_later():
    """Infos are built when read, not after every move: an env read after every move and one
    read now and then agree wherever both are read, and a move never changes infos that were
    handed out before it (the dead steps at the end delete seats from the last ones, as
    PettingZoo's do)."""
    replies = ["hello", "OFFER: book=99 hat=0 ball=0", "OFFER: book=1 hat=1 ball=1", "ACCEPT"]
    every, sometimes = (TextGameEnv(NegotiationGame(max_turns=6), "negotiation-v0") for _ in "ab")
    every.reset(seed=2)
    sometimes.reset(seed=2)
    handed_out = []
    for i, reply in enumerate(replies):
        handed_out.append((every.infos, copy.deepcopy(every.infos)))
        every.step(reply)
        sometimes.step(reply)
        if i % 2:
            assert sometimes.infos == every.infos
    assert every.infos["bob"]["outcome"] == "agreement"
    assert every.infos["bob"]["invalid_moves"] == 1  # book=99 was retried
    for infos, as_handed_out in handed_out:
        assert infos == as_handed_out
    for _ in range(2):
        every.step(None)
        sometimes.step(None)
    assert every.infos == sometimes.infos == {}


def test_generator_built_at_reset_is_default_rng_of_the_seed():
    env = TextGameEnv(NegotiationGame(), "negotiation-v0")
    env.reset(seed=11)
    plain = np.random.default_rng(11)
    expected = NegotiationGame().new_state(plain)
    assert (env.state.counts, env.state.values) == (expected.counts, expected.values)
    assert env.np_random.integers(1 << 60, size=4).tolist() == (
        plain.integers(1 << 60, size=4).tolist()
    )


def test_thin_order_enforcing_wrapper_behaves_as_pettingzoos():
    from pettingzoo.utils.env import AECEnv
    from pettingzoo.utils.wrappers import OrderEnforcingWrapper

    from palaestra.envs import make

    env = make("negotiation-v0")
    assert isinstance(env, OrderEnforcingWrapper)
    for name in ("agent_selection", "agents", "infos", "rewards"):
        with pytest.raises(AttributeError, match="before reset"):
            getattr(env, name)
    with pytest.raises(AttributeError):
        env.last()
    env.reset(seed=0)
    env.step("OFFER: book=1 hat=1 ball=1")
    obs, reward, term, trunc, info = env.last()
    plain_obs, *plain_rest = AECEnv.last(env)  # PettingZoo's last(), through __getattr__
    assert obs["text"] == plain_obs["text"] and [reward, term, trunc, info] == plain_rest
    assert env.agent_selection == env.unwrapped.agent_selection == "bob"
    assert str(env) == str(env.unwrapped)
    import pickle

    copy = pickle.loads(pickle.dumps(env))  # as PettingZoo's wrapper pickles
    assert isinstance(copy, OrderEnforcingWrapper) and copy.agent_selection == "bob"


def test_role_view_built_fast_equals_the_plain_one_and_render_view_its_plain_text():
    from palaestra.envs.core import RoleView, new_role_view

    assert new_role_view("p", "i", [1.0], {"a": 1}) == RoleView("p", "i", [1.0], {"a": 1})
    game, state = NegotiationGame(), NegotiationGame().new_state(np.random.default_rng(0))
    for history in ("", "x"):
        if history:
            state.transcript.add("alice", "hello\nthere")
        rendered = state.transcript.render("bob")
        for instruction in ("", "  ", " Move. "):
            view = RoleView(" pre ", instruction, [], {})
            text = " pre ".strip() + "\n\nTranscript:" + (f"\n{rendered}" if rendered else "")
            plain = f"{text}\n\n{instruction.strip()}" if instruction else text
            assert game.render_view(state, "bob", view) == plain
