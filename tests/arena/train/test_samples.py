from __future__ import annotations

import pytest

from palaestra.arena.records import EpisodeRecord, Turn
from palaestra.arena.train.advantages import RoleBaseline
from palaestra.arena.train.config import parse_config
from palaestra.arena.train.samples import assign_advantages, build_samples


def _turn(role: str, agent: str, reward: float, turn: int) -> Turn:
    train = {"prompt_ids": [1, 2], "completion_ids": [3, 4, 5], "logprobs": [-1.0, -1.0, -1.0]}
    return Turn(role=role, agent=agent, turn=turn, prompt="", text="x", reward=reward,
                tokens=3, train=train if agent == "policy" else None)  # fmt: skip


def _record(eid: str, seed: int, rewards: list[float], discount: float = 0.5) -> EpisodeRecord:
    turns = []
    for i, r in enumerate(rewards):
        turns.append(_turn("alice", "policy", r, 2 * i))
        turns.append(_turn("bob", "scripted", 0.0, 2 * i + 1))
    return EpisodeRecord(
        episode_id=eid, env_id="g-v0", seed=seed, seating={"alice": "policy", "bob": "scripted"},
        returns={"alice": sum(rewards), "bob": 0.0}, turns=turns, discount=discount,
        meta={"opponent": "scripted"},
    )  # fmt: skip


def _config(**kw):
    return parse_config({"stages": [{"games": [{"env": "g-v0"}]}], **kw})


def test_credits_use_the_games_discount_and_only_policy_turns():
    samples = build_samples([_record("a", 1, [1.0, 0.0, 4.0])], {"policy"}, _config())
    assert [s.role for s in samples] == ["alice"] * 3
    # discount 0.5: G = [1 + 0.5*(0 + 0.5*4), 0 + 0.5*4, 4]
    assert [s.credit for s in samples] == pytest.approx([2.0, 2.0, 4.0])
    assert all(s.value == pytest.approx(2.0) for s in samples)
    step = build_samples(
        [_record("a", 1, [1.0, 0.0, 4.0])], {"policy"}, _config(credit={"mode": "step"})
    )
    assert [s.credit for s in step] == [1.0, 0.0, 4.0]


def test_group_and_role_advantages_on_records():
    records = [
        _record("a", 1, [2.0], 1.0), _record("b", 1, [4.0], 1.0), _record("c", 2, [1.0], 1.0)
    ]  # fmt: skip
    config = _config()
    samples = build_samples(records, {"policy"}, config)
    assign_advantages(samples, config, RoleBaseline())
    # seed-1 group mean 3; seed-2 group alone
    assert [s.advantage for s in samples] == pytest.approx([-1.0, 1.0, 0.0])
    config = _config(advantage={"baseline": "role", "role_decay": 0.5})
    samples = build_samples(records, {"policy"}, config)
    assign_advantages(samples, config, RoleBaseline(0.5))
    # the batch's episodes update b in order: 1, 2.5, 1.75; then A = G - b (1.75)
    assert [s.advantage for s in samples] == pytest.approx([0.25, 2.25, -0.75])
