"""The moving KL reference (``loss.reference: moving``), through the training loop."""

from __future__ import annotations

import pytest
import torch

from palaestra.arena.train.config import ConfigError, parse_config
from palaestra.arena.train.samples import Sample
from palaestra.arena.train.trainer import REFERENCE_FILE, Trainer


def _config(tiny: str, run_dir, **loss):
    return parse_config(
        {
            "run_dir": str(run_dir),
            "steps": 2,
            "episodes_per_step": 4,
            "group_size": 2,
            "policy": {"spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=6"},
            "optim": {"lr": 5e-2, "minibatch_size": 8},
            "loss": {"kl_coef": 0.05, **loss},
            "replay": {"drop_zero_advantage": False},
            "stages": [
                {
                    "games": [{"env": "negotiation-v0", "kwargs": {"max_turns": 4}}],
                    "opponents": ["self"],
                }
            ],
            "rewards": {"length_penalty": 0.3},  # every sample gets a non-zero signal
            "eval": {"every": 0},
            "checkpoint": {"every": 1, "keep": 5},
        }
    )


def _probe(trainer: Trainer) -> list[Sample]:
    tok = trainer.policy.tokenizer
    p = tok("Your move:")["input_ids"]
    c = tok("OFFER: book=1 hat=2")["input_ids"]
    return [Sample(p, c, [0.0] * len(c), "toy", "a", "e", "g", 0, 0, 0)]


def _logp(trainer: Trainer, **kw) -> torch.Tensor:
    with torch.no_grad():
        return trainer.policy.logprobs(_probe(trainer), **kw)[0]


def _initial_logp(trainer: Trainer) -> torch.Tensor:
    with torch.no_grad(), trainer.policy.initial():
        return trainer.policy.logprobs(_probe(trainer))[0]


def test_moving_reference_follows_the_policy_and_initial_stays(tiny, tmp_path):
    trainer = Trainer(_config(tiny, tmp_path, reference="moving", reference_every=1))
    start = _logp(trainer)
    trainer.run()
    current = _logp(trainer)
    assert not torch.allclose(current, start, atol=1e-3)  # training moved the policy
    # refreshed after the last step's update: the reference is the current policy ...
    torch.testing.assert_close(_logp(trainer, reference=True), current)
    # ... while the ``initial`` opponent is still the policy before training
    torch.testing.assert_close(_initial_logp(trainer), start)
    assert (trainer.latest_checkpoint() / REFERENCE_FILE).exists()


def test_refresh_every_k_steps(tiny, tmp_path):
    trainer = Trainer(_config(tiny, tmp_path, reference="moving", reference_every=2))
    trainer.train_step()
    after_one = _logp(trainer)
    # step 1 of 2: the reference is still the initial policy
    torch.testing.assert_close(_logp(trainer, reference=True), _initial_logp(trainer))
    trainer.train_step()
    ref = _logp(trainer, reference=True)
    torch.testing.assert_close(ref, _logp(trainer))
    assert not torch.allclose(ref, after_one, atol=1e-4)


def test_initial_reference_never_moves(tiny, tmp_path):
    trainer = Trainer(_config(tiny, tmp_path))
    start = _logp(trainer)
    trainer.run()
    torch.testing.assert_close(_logp(trainer, reference=True), start)
    assert not torch.allclose(_logp(trainer), start, atol=1e-3)
    assert not (trainer.latest_checkpoint() / REFERENCE_FILE).exists()


def test_resume_restores_the_moving_reference(tiny, tmp_path):
    config = _config(tiny, tmp_path, reference="moving", reference_every=1)
    trainer = Trainer(config)
    trainer.run()
    ref = _logp(trainer, reference=True)
    resumed = Trainer(config, resume=True)
    torch.testing.assert_close(_logp(resumed, reference=True), ref)
    torch.testing.assert_close(_initial_logp(resumed), _initial_logp(trainer))


def test_full_finetune_moving_reference(tiny, tmp_path):
    config = _config(tiny, tmp_path, reference="moving", reference_every=1)
    config = parse_config({**config.model_dump(), "policy": {**config.policy.model_dump(),
                                                             "finetune": "full"}})  # fmt: skip
    trainer = Trainer(config)
    start = _logp(trainer)
    trainer.run()
    torch.testing.assert_close(_logp(trainer, reference=True), _logp(trainer))
    with torch.no_grad():
        initial = trainer.policy.initial_agent()
        assert initial.model is trainer.policy.reference_model
    assert not torch.allclose(_logp(trainer), start, atol=1e-3)


def test_bad_reference_setting_is_refused(tiny, tmp_path):
    with pytest.raises(ConfigError, match=r"loss\.reference"):
        _config(tiny, tmp_path, reference="previous")
    with pytest.raises(ConfigError, match=r"loss\.reference_every"):
        _config(tiny, tmp_path, reference="moving", reference_every=0)
