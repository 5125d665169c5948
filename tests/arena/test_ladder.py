"""The checkpoint ladder on a tiny two-step Kuhn poker run (tiny model, no hub)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from palaestra.arena.ladder import (
    LADDER_DIR,
    checkpoint_agent,
    load_run_policy,
    run_checkpoints,
    run_ladder,
    select_steps,
)
from palaestra.arena.train.config import parse_config
from palaestra.arena.train.samples import Sample
from palaestra.arena.train.trainer import Trainer

pytest.importorskip("pyspiel")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from palaestra.agents.tiny import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory):
    """A 2-step self-play run with a checkpoint every step; its trainer."""
    config = parse_config(
        {
            "run_dir": str(tmp_path_factory.mktemp("run")),
            "steps": 2,
            "episodes_per_step": 4,
            "group_size": 2,
            "policy": {"spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=3"},
            "optim": {"lr": 5e-2},
            "stages": [{"games": [{"env": "kuhn-poker-v0"}], "opponents": ["self"]}],
            # REINFORCE on the raw (length-penalised) return: every step changes the weights
            "advantage": {"baseline": "none"},
            "rewards": {"length_penalty": 0.3},
            "replay": {"drop_zero_advantage": False},
            "eval": {"every": 0},
            "checkpoint": {"every": 1, "keep": 10},
        }
    )
    trainer = Trainer(config)
    trainer.run()
    return trainer


def _probe(policy) -> list[Sample]:
    tok = policy.tokenizer
    p, c = tok("Your move:")["input_ids"], tok("bet")["input_ids"]
    return [Sample(p, c, [0.0] * len(c), "toy", "a", "e", "g", 0, 0, 0)]


def _logp(policy, agent=None) -> torch.Tensor:
    with torch.no_grad():
        if agent is None:
            return policy.logprobs(_probe(policy))[0]
        with agent.context():
            return policy.logprobs(_probe(policy))[0]


def test_select_steps():
    assert select_steps([1, 2, 3], None) == [1, 2, 3]
    assert select_steps(list(range(1, 11)), 4) == [1, 4, 7, 10]
    with pytest.raises(ValueError, match="max_checkpoints"):
        select_steps([1, 2, 3], 1)


def test_checkpoint_agents_hold_the_saved_weights(run):
    assert list(run_checkpoints(run.run_dir)) == [1, 2]
    _, policy = load_run_policy(run.run_dir)
    final = _logp(run.policy)  # the trainer's policy after step 2
    step2 = checkpoint_agent(run.run_dir, 2, policy)
    step1 = checkpoint_agent(run.run_dir, 1, policy)
    assert step2.name == "step-2"
    torch.testing.assert_close(_logp(policy, step2), final)
    assert not torch.allclose(_logp(policy, step1), final, atol=1e-4)
    initial = policy.initial_agent()
    with torch.no_grad(), run.policy.initial():
        before = run.policy.logprobs(_probe(run.policy))[0]
    torch.testing.assert_close(_logp(policy, initial), before)
    with pytest.raises(ValueError, match=r"no checkpoint at step 7 .*saved: \[1, 2\]"):
        checkpoint_agent(run.run_dir, 7, policy)


def test_ladder_round_robin_ratings_and_report(run):
    result = run_ladder(run.run_dir, episodes=2, rounds=20, concurrency=8)
    names = [e["name"] for e in result["entrants"]]
    assert names[:3] == ["initial", "step-1", "step-2"]
    assert "scripted:kuhn-poker/uniform" in names
    n = len(names)
    assert result["episodes_played"] == 2 * n * (n - 1)  # every ordered pair, every seed
    out = run.run_dir / LADDER_DIR
    saved = json.loads((out / "ladder.json").read_text())
    assert saved["entrants"] == json.loads(json.dumps(result["entrants"]))
    for e in result["entrants"]:
        assert math.isfinite(e["rating"]) and e["rating_low"] <= e["rating"] <= e["rating_high"]
        assert e["episodes"] == 2 * 2 * (n - 1)  # both seats against every other entrant
    steps = {e["name"]: e["step"] for e in result["entrants"]}
    assert steps["initial"] == 0 and steps["step-2"] == 2
    assert steps["scripted:kuhn-poker/uniform"] is None
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert {r["seed"] for r in records} == {3_000_000, 3_000_001}  # held-out seeds
    seatings = {tuple(r["seating"].values()) for r in records}
    assert ("initial", "step-2") in seatings and ("step-2", "initial") in seatings
    assert (out / "ladder.png").stat().st_size > 0
    assert (out / "report.html").exists()


def test_ladder_refuses_training_seeds_and_unknown_games(run):
    with pytest.raises(ValueError, match=r"below the run's eval\.seed_start"):
        run_ladder(run.run_dir, seed_start=10)
    with pytest.raises(ValueError, match="not 'negotiation-v0'"):
        run_ladder(run.run_dir, game="negotiation-v0")


def test_not_a_run_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a training run directory"):
        run_ladder(tmp_path)


def test_cli_lists_the_command():
    from palaestra.cli import build_parser

    args = build_parser().parse_args(["ladder", "some/run", "--episodes", "4"])
    assert args.run_dir == "some/run" and args.episodes == 4
