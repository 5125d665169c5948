from __future__ import annotations

import pytest

from palaestra.arena.train.config import parse_config
from palaestra.arena.train.curriculum import Curriculum


def _curriculum() -> Curriculum:
    config = parse_config({"stages": [
        {"name": "quiz", "games": [{"env": "quiz-v0"}],
         "advance": {"metric": "train/reward", "threshold": 0.5, "window": 2, "min_steps": 3}},
        {"name": "bargain", "games": [{"env": "negotiation-v0"}],
         "opponents": ["scripted:negotiation/fair"], "advance": {"max_steps": 2}},
        {"name": "selfplay", "games": [{"env": "negotiation-v0"}], "opponents": ["self"],
         "advance": {"max_steps": 1}},
    ]})  # fmt: skip
    return Curriculum(config.stages)


def test_stage_changes():
    cur = _curriculum()
    assert cur.current.name == "quiz"
    # step 1, 2: below min_steps even though the mean (0.9) is above threshold
    assert not cur.observe({"train/reward": 0.9})
    assert not cur.observe({"train/reward": 0.9})
    # step 3: window mean of last 2 = (0.9 + 0.0) / 2 < 0.5
    assert not cur.observe({"train/reward": 0.0})
    # step 4: (0.0 + 1.0) / 2 = 0.5 >= 0.5 -> advance
    assert cur.observe({"train/reward": 1.0})
    assert cur.current.name == "bargain" and cur.current.opponents == ["scripted:negotiation/fair"]
    assert cur.history == [] and cur.steps_in_stage == 0
    # max_steps: advances after 2 steps whatever the metric
    assert not cur.observe({})
    assert cur.observe({})
    assert cur.current.name == "selfplay"
    # the last stage never ends
    for _ in range(3):
        assert not cur.observe({"train/reward": 99.0})
    assert cur.current.name == "selfplay"


def test_state_round_trip():
    cur = _curriculum()
    for v in (0.1, 0.2):
        cur.observe({"train/reward": v})
    other = _curriculum()
    other.load_state_dict(cur.state_dict())
    assert (other.index, other.steps_in_stage, other.history) == (0, 2, [0.1, 0.2])
    with pytest.raises(ValueError, match="stage 7"):
        other.load_state_dict({"index": 7, "steps": 0, "history": []})
