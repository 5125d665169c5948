"""A real training run whose rollouts come from vLLM (``policy.spec: vllm:tiny``).

Needs vLLM, which lives in its own venv: ``make test-vllm`` runs this file there with
``PALAESTRA_REQUIRE_VLLM=1`` (a missing vLLM then fails instead of skipping). One engine on
the tiny model (about a minute to start on two CPU cores).
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
import torch

from palaestra.arena.train.config import parse_config
from palaestra.arena.train.samples import Sample

HAVE_VLLM = importlib.util.find_spec("vllm") is not None
if not HAVE_VLLM and os.environ.get("PALAESTRA_REQUIRE_VLLM"):
    raise RuntimeError("PALAESTRA_REQUIRE_VLLM is set but vllm is not importable in this venv")
pytestmark = pytest.mark.skipif(
    not HAVE_VLLM,
    reason="vLLM is not installed in this venv; 'make test-vllm' runs these tests in its own",
)

SPEC = "vllm:tiny?temperature=1.0&max_new_tokens=8&max_model_len=2048&kv_cache_mb=64"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two training steps of the tiny model with vLLM rollouts."""
    from palaestra.arena.train.trainer import Trainer

    home = tmp_path_factory.mktemp("palaestra-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("PALAESTRA_HOME", str(home))
    run_dir = tmp_path_factory.mktemp("run")
    config = parse_config(
        {
            "run_dir": str(run_dir),
            "steps": 2,
            "episodes_per_step": 4,
            "group_size": 2,
            "policy": {"spec": SPEC, "device": "cpu"},
            "optim": {"epochs": 1, "minibatch_size": 16, "lr": 5e-2},
            "stages": [
                {
                    "games": [
                        {"env": "negotiation-v0", "kwargs": {"max_turns": 4}, "roles": ["alice"]}
                    ],
                    "opponents": ["scripted:negotiation/fair"],
                }
            ],
            # Length differences give every group a reward spread, so both steps update.
            "rewards": {"length_penalty": 0.2, "length_free_tokens": 1},
            "replay": {"drop_zero_advantage": False},
            "eval": {"every": 0},
            "checkpoint": {"every": 10},
        }
    )
    trainer = Trainer(config)
    rows = trainer.run()
    yield trainer, rows
    mp.undo()


def test_the_policy_rolls_out_on_a_private_vllm_engine(trained):
    from palaestra.agents import vllm as vllm_agent

    trainer, rows = trained
    assert isinstance(trainer.policy.agent, vllm_agent.VLLMAgent)
    assert trainer.policy.engine is trainer.policy.agent.engine
    # Private: an agent naming vllm:tiny elsewhere gets the checkpoint's weights, not these.
    assert trainer.policy.engine not in vllm_agent._ENGINES.values()
    config = trainer.policy.engine.llm.llm_engine.vllm_config.cache_config
    assert config.enable_prefix_caching
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["train/samples"] > 0 for r in rows)


def test_gap_and_sync_time_are_logged_every_step(trained):
    trainer, _ = trained
    logged = [json.loads(line) for line in trainer.metrics_path.read_text().splitlines()]
    assert [r["step"] for r in logged] == [1, 2]
    for row in logged:
        assert row["time/weight_sync_s"] > 0
        # fp32 engine and fp32 trainer on the same weights: the gap is rounding only.
        assert 0 <= row["train/engine_logp_gap"] < 0.02
        assert row["train/tis_weight"] == pytest.approx(1.0, abs=0.05)
        assert row["train/tis_truncated"] == 0.0
        assert not any("rollout engine" in w for w in row["warnings"])


def test_the_engine_samples_from_the_trained_weights(trained):
    from palaestra.envs.protocol import Observation

    trainer, _ = trained
    policy = trainer.policy
    preamble = "You are alice. Your values: book=2 hat=3 ball=1."
    observations = [
        Observation(
            text=f"{preamble}\n\nTranscript: {'bob: OFFER: book=1. ' * i}\n\nYour message:",
            game="negotiation-v0",
            role="alice",
            preamble=preamble,
            instruction="Your message:",
            episode=f"check{i}",
            turn=i,
        )
        for i in range(4)
    ]
    actions = policy.agent.act(observations)
    samples = [
        Sample(a.prompt_ids, a.completion_ids, a.logprobs, "g", "alice", "e", "g", 0, 0, 0)
        for a in actions
        if not a.failed and a.completion_ids
    ]
    assert samples
    with torch.no_grad():
        trained_logp, _, mask = policy.logprobs(samples)
        with policy.initial():
            initial_logp, _, _ = policy.logprobs(samples)
    engine = torch.zeros_like(mask)
    for row, s in enumerate(samples):
        engine[row, -len(s.logprobs) :] = torch.tensor(s.logprobs)
    # The engine computes what the trainer computes with the trained weights...
    assert float(((trained_logp - engine).abs() * mask).max()) < 2e-3
    # ... and the training moved them far more than that tolerance.
    assert float(((initial_logp - engine).abs() * mask).max()) > 0.05
