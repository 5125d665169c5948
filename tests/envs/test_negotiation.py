"""Rules of negotiation-v0, checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from palaestra.envs import InvalidMove, make
from palaestra.envs.negotiation.rules import (
    NegotiationGame,
    NegotiationState,
    all_splits,
    complement,
    is_pareto_optimal,
    parse_offer,
    points,
    pool_options,
    value_vectors,
)


def _state(counts=(1, 2, 3), va=(1, 3, 1), vb=(4, 0, 2)) -> NegotiationState:
    # va: 1*1 + 2*3 + 3*1 = 10 ; vb: 1*4 + 2*0 + 3*2 = 10
    return NegotiationState(to_move=("alice",), counts=counts, values={"alice": va, "bob": vb})


def _play(game: NegotiationGame, state: NegotiationState, *texts: str) -> NegotiationState:
    for text in texts:
        (role,) = state.to_move
        game.apply(state, {role: game.parse(state, role, text)})
    return state


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("book=1 hat=2 ball=0", (1, 2, 0)),
        ("  Book = 0, Hats=1, balls:3", (0, 1, 3)),
        ("1 book, 2 hats, 3 balls", (1, 2, 3)),
        ("ball=1 book=0 hat=0", (0, 0, 1)),
    ],
)
def test_parse_offer_accepts(body, expected):
    assert parse_offer(body, (1, 2, 3)) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("book=1 hat=2", "missing: ball"),
        ("book=2 hat=0 ball=0", "only 1"),
        ("book=1 book=0 hat=0 ball=0", "twice"),
        ("", "missing: book, hat, ball"),
    ],
)
def test_parse_offer_rejects_with_reason(body, reason):
    with pytest.raises(InvalidMove, match=reason):
        parse_offer(body, (1, 2, 3))


def test_value_vectors_are_exactly_ten():
    vectors = value_vectors((1, 2, 3))
    assert vectors and all(np.dot(v, (1, 2, 3)) == 10 for v in vectors)
    # By hand: v_ball in 0..3, v_hat in 0..(10-3b)/2, v_book = rest.
    assert len(vectors) == sum((10 - 3 * b) // 2 + 1 for b in range(4))


def test_points_and_complement():
    assert points((1, 3, 1), (1, 2, 0)) == 7
    assert complement((1, 2, 3), (1, 2, 0)) == (0, 0, 3)
    assert len(all_splits((1, 2, 3))) == 2 * 3 * 4


def test_pareto_optimality_by_hand():
    # Hats are worth 3 to alice and 0 to bob, the book 1 to alice and 4 to bob: every
    # Pareto-optimal split gives alice both hats and bob the book; any ball count is optimal.
    for balls in range(4):
        assert is_pareto_optimal((1, 2, 3), (1, 3, 1), (4, 0, 2), (0, 2, balls))
    # alice keeping the book (+1 for her, -4 for bob) is dominated by (0, 2, 1): 7 vs 7, 8 vs 6.
    assert not is_pareto_optimal((1, 2, 3), (1, 3, 1), (4, 0, 2), (1, 2, 0))
    assert not is_pareto_optimal((1, 2, 3), (1, 3, 1), (4, 0, 2), (0, 1, 3))


@pytest.mark.parametrize(
    ("moves", "outcome", "returns"),
    [
        (["hi\nOFFER: book=0 hat=2 ball=0", "ACCEPT"], "agreement", {"alice": 6, "bob": 10}),
        (["OFFER: book=1 hat=2 ball=0", "OFFER: book=1 hat=0 ball=3", "ACCEPT"], "agreement",
         {"alice": 6, "bob": 10}),
        (["NO DEAL"], "no agreement", {"alice": 0, "bob": 0}),
        (["OFFER: book=1 hat=2 ball=3", "no way", "OFFER: book=0 hat=0 ball=0", "ACCEPT"],
         "agreement", {"alice": 0, "bob": 10}),
    ],
)  # fmt: skip
def test_episodes_score_by_hand(moves, outcome, returns):
    game = NegotiationGame()
    state = _play(game, _state(), *moves)
    assert state.done and state.outcome == outcome
    assert state.returns == returns


def test_out_of_turns_is_no_deal():
    game = NegotiationGame(max_turns=4)
    state = _play(game, _state(), "hello", "hello", "OFFER: book=1 hat=1 ball=1", "hmm")
    assert (
        state.done and state.outcome == "no agreement" and state.returns == {"alice": 0, "bob": 0}
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("ACCEPT", "no offer"),
        ("OFFER: book=1 hat=1 ball=1 and ACCEPT", "only one"),
    ],
)
def test_invalid_moves(text, reason):
    game = NegotiationGame()
    with pytest.raises(InvalidMove, match=reason):
        game.parse(_state(), "alice", text)


def test_cannot_accept_own_offer():
    game = NegotiationGame()
    state = _play(game, _state(), "OFFER: book=1 hat=1 ball=1", "let me think")
    with pytest.raises(InvalidMove, match="no offer from the other player"):
        game.parse(state, "alice", "ACCEPT")


def test_alternating_offers_requires_offer_and_discounts():
    game = NegotiationGame(protocol="alternating_offers", deal_discount=0.5)
    with pytest.raises(InvalidMove, match="every move"):
        game.parse(_state(), "alice", "hello")
    state = _play(game, _state(), "OFFER: book=1 hat=2 ball=0", "OFFER: book=1 hat=0 ball=3",
                  "ACCEPT")  # fmt: skip
    # Accepted in round 1 (turn 2 // 2): payoffs halved once: alice 6*0.5, bob 10*0.5.
    assert state.returns == {"alice": 3.0, "bob": 5.0}


@pytest.mark.parametrize("seed", range(200))
def test_scenarios_follow_the_original_constraints(seed):
    game = NegotiationGame()
    state = game.new_state(np.random.default_rng(seed))
    assert all(1 <= c <= 4 for c in state.counts) and 5 <= sum(state.counts) <= 7
    assert state.counts in pool_options()
    va, vb = state.values["alice"], state.values["bob"]
    assert points(va, state.counts) == 10 and points(vb, state.counts) == 10
    assert all(a > 0 or b > 0 for a, b in zip(va, vb))
    assert any(a > 0 and b > 0 for a, b in zip(va, vb))


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="'haggle'"):
        NegotiationGame(protocol="haggle")
    with pytest.raises(ValueError, match=r"\b1\b"):
        NegotiationGame(max_turns=1)
    with pytest.raises(ValueError, match=r"1\.5"):
        NegotiationGame(deal_discount=1.5)


def test_infos_report_agreement_scores_and_pareto():
    env = make("negotiation-v0", wrappers=False)
    env.reset(seed=0)
    env.state.counts, env.state.values = (1, 2, 3), {"alice": (1, 3, 1), "bob": (4, 0, 2)}
    env.step("OFFER: book=0 hat=2 ball=0")
    env.step("ACCEPT")
    info = env.infos["alice"]
    assert info["agreement"] is True
    assert info["scores"] == {"alice": 6.0, "bob": 10.0}
    assert info["pareto_optimal"] is True
    assert info["deal"] == {"alice": [0, 2, 0], "bob": [1, 0, 3]}
    assert env.rewards == {"alice": 6.0, "bob": 10.0}


def test_pool_options_by_hand():
    # Triples in 1..4 with sum 5..7: sum 5 -> 6, sum 6 -> 10, sum 7 -> 12 (by counting).
    assert len(pool_options()) == 28
