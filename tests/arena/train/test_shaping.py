from __future__ import annotations

import pytest

from palaestra.arena.records import EpisodeRecord, Turn
from palaestra.arena.train.config import RewardConfig
from palaestra.arena.train.shaping import seat_rewards, shape_rewards, turn_verdicts


def _turn(role: str, reward: float = 0.0, valid: bool = True, text: str = "hi", tokens: int = 5):
    return Turn(role=role, agent="p", turn=0, prompt="", text=text, valid=valid, reward=reward,
                tokens=tokens)  # fmt: skip


def test_seat_rewards_put_the_rest_of_the_return_on_the_last_turn():
    turns = [_turn("a", 1.0), _turn("a", 0.0)]
    record = EpisodeRecord("e", "g", 0, {"a": "p"}, {"a": 4.0}, turns=turns)
    assert seat_rewards(record, "a", turns) == [1.0, 3.0]


def test_penalties_by_hand():
    turns = [
        _turn("a", 0.0, valid=False, text="???", tokens=12),
        _turn("a", 0.0, text="", tokens=2),
        _turn("a", 5.0, text="OFFER: book=1", tokens=10),
    ]
    record = EpisodeRecord("e", "g", 0, {"a": "p"}, {"a": 5.0}, turns=turns)
    config = RewardConfig(
        invalid_move_penalty=-1.0, format_penalty=-0.5, format_pattern="OFFER",
        length_penalty=0.1, length_free_tokens=10,
    )  # fmt: skip
    # turn 1: invalid -1, no OFFER -0.5, 2 tokens over -> -0.2
    # turn 2: empty text -0.5 (counted once); turn 3: game reward 5
    assert shape_rewards(record, "a", turns, config) == pytest.approx([-1.7, -0.5, 5.0])


def test_abstention_reward_replaces_game_reward():
    config = RewardConfig(abstention={"correct": 1.0, "abstain": 0.5, "wrong": -2.0})
    turns = [_turn("player", 0.0)]
    for kind, expected in (("correct", 1.0), ("abstain", 0.5), ("wrong", -2.0), ("late", 0.3)):
        record = EpisodeRecord("e", "quiz-v0", 0, {"player": "p"}, {"player": 0.3},
                               turns=turns, info={"verdict": kind})  # fmt: skip
        assert shape_rewards(record, "player", turns, config) == [expected]


def test_abstention_per_question_skips_retried_replies():
    # game turns 0, 0 (retried invalid reply), 1, 2: three judged answers
    turns = [_turn("p", 0.0), _turn("p", 1.0), _turn("p", -1.0), _turn("p", 0.0)]
    for t, n in zip(turns, (0, 0, 1, 2)):
        t.turn = n
    turns[0].valid = False
    questions = [
        {"role": "p", "verdict": "correct"},
        {"role": "q", "verdict": "wrong"},
        {"role": "p", "verdict": "wrong"},
        {"role": "p", "verdict": "abstain"},
    ]
    record = EpisodeRecord("e", "quiz-v0", 0, {"p": "x"}, {"p": 0.0}, turns=turns,
                           info={"questions": questions})  # fmt: skip
    assert turn_verdicts(record, "p", turns) == [None, "correct", "wrong", "abstain"]
    config = RewardConfig(abstention={"correct": 1.0, "abstain": 0.25, "wrong": -3.0})
    assert shape_rewards(record, "p", turns, config) == [0.0, 1.0, -3.0, 0.25]


def test_abstention_keeps_the_penalty_of_an_invalid_reply_played_as_an_abstention():
    # quiz under invalid_move="penalty": an empty answer is played as an abstention and the
    # game pays abstain (0) + penalty (-1); re-valuing it as "abstain" would drop the penalty
    config = RewardConfig(abstention={"correct": 1.0, "abstain": 0.0, "wrong": -1.0})
    turns = [_turn("p", -1.0, valid=False, text=""), _turn("p", 1.0)]
    turns[1].turn = 1
    questions = [{"role": "p", "verdict": "abstain"}, {"role": "p", "verdict": "correct"}]
    record = EpisodeRecord("e", "quiz-v0", 0, {"p": "x"}, {"p": 0.0}, turns=turns,
                           info={"questions": questions})  # fmt: skip
    assert shape_rewards(record, "p", turns, config) == [-1.0, 1.0]
