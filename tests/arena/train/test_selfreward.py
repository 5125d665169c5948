from __future__ import annotations

from palaestra.arena.records import EpisodeRecord, Turn
from palaestra.arena.train.config import parse_config
from palaestra.arena.train.samples import pseudo_rewards
from palaestra.arena.train.selfreward import (
    extract_answer,
    majority_vote,
    normalise_answer,
    self_rewards,
)


def test_normalise_and_extract():
    assert normalise_answer("  Paris.  ") == "paris"
    assert extract_answer("I think ANSWER: Lyon!", r"answer:\s*(.+)") == "lyon"
    assert extract_answer("no marker here", r"answer:\s*(.+)") is None
    assert extract_answer("   ") is None


def test_majority_vote_on_constructed_samples():
    assert majority_vote(["paris", "lyon", "paris", None]) == "paris"
    assert majority_vote(["lyon", "paris", "paris", "lyon"]) == "lyon"  # tie: first seen
    assert majority_vote([None, None]) is None
    assert majority_vote(["a", "b", "c"], min_votes=2) is None


def test_self_rewards_by_hand():
    rewards, label = self_rewards(["12", "12", "13", None], agree=1.0, disagree=-0.5)
    assert label == "12" and rewards == [1.0, 1.0, -0.5, -0.5]
    rewards, label = self_rewards(["a", "b"], min_votes=2)
    assert label is None and rewards == [0.0, 0.0]


def _record(eid: str, seed: int, *texts: str) -> EpisodeRecord:
    turns = [
        Turn(role="player", agent="policy", turn=i, prompt="Q?", text=text)
        for i, text in enumerate(texts)
    ]
    return EpisodeRecord(
        episode_id=eid, env_id="quiz-v0", seed=seed, seating={"player": "policy"},
        returns={"player": 0.0}, turns=turns, meta={"opponent": "none"},
    )  # fmt: skip


def test_pseudo_rewards_vote_per_group_and_question():
    config = parse_config({"stages": [{"games": [{"env": "quiz-v0"}]}]})
    records = [
        _record("a", 1, "Paris", "12"), _record("b", 1, "paris.", "13"),
        _record("c", 1, "Lyon", "13"),
        _record("d", 2, "Lyon"), _record("e", 2, "Rome"), _record("f", 2, "Rome"),
    ]  # fmt: skip
    got = pseudo_rewards(records, {"policy"}, config)
    assert got == {
        ("a", "player", 0): 1.0, ("b", "player", 0): 1.0, ("c", "player", 0): 0.0,
        ("a", "player", 1): 0.0, ("b", "player", 1): 1.0, ("c", "player", 1): 1.0,
        ("d", "player", 0): 0.0, ("e", "player", 0): 1.0, ("f", "player", 0): 1.0,
    }  # fmt: skip
