"""The shortcuts taken for env speed give the same results as the plain computations."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from palaestra.envs.adapter import TextGameEnv
from palaestra.envs.core import GAME_MASTER, InvalidMove, Transcript, clean_text, split_reasoning
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
    ]
    assert transcript.render("alice") == ""
    for sender, text, to in adds:
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
