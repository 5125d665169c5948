from __future__ import annotations

import pytest

from palaestra.arena.records import EpisodeRecord, Turn
from palaestra.arena.train.config import RewardConfig
from palaestra.arena.train.shaping import seat_rewards, shape_rewards


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
    config = RewardConfig(abstention={"correct": 1.0, "abstain": 0.0, "wrong": -1.0})
    turns = [_turn("player", 0.0)]
    for kind, expected in (("correct", 1.0), ("abstain", 0.0), ("wrong", -1.0)):
        record = EpisodeRecord("e", "quiz-v0", 0, {"player": "p"}, {"player": 0.3},
                               turns=turns, info={"verdict": kind})  # fmt: skip
        assert shape_rewards(record, "player", turns, config) == [expected]
    record = EpisodeRecord("e", "quiz-v0", 0, {"player": "p"}, {"player": 0.3},
                           turns=turns, info={"verdict": "partial"})  # fmt: skip
    with pytest.raises(ValueError, match="partial"):
        shape_rewards(record, "player", turns, config)
