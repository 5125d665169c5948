"""Rollouts on another engine than the trainer (``vllm:``), without vLLM: a fake engine.

The fake agent samples with the policy's own transformers module (so its log-probs equal the
trainer's) and reports them shifted by a known amount, as an engine whose numerics differ
would; the fake engine records the weights the trainer pushes to it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import sys
from collections.abc import Sequence

import pytest
import torch

from palaestra.arena.train import trainer as trainer_module
from palaestra.arena.train.config import ConfigError, PolicyConfig, parse_config
from palaestra.arena.train.losses import policy_loss, truncated_is_weights
from palaestra.arena.train.trainer import RolloutEngineError, Trainer
from palaestra.envs.protocol import Action, Observation


def _config(tiny: str, run_dir, **overrides):
    data = {
        "run_dir": str(run_dir),
        "steps": 3,
        "episodes_per_step": 4,
        "group_size": 2,
        "policy": {"spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=6"},
        "optim": {"epochs": 1, "minibatch_size": 64, "lr": 5e-3},
        "stages": [
            {
                "games": [
                    {"env": "negotiation-v0", "kwargs": {"max_turns": 4}, "roles": ["alice"]}
                ],
                "opponents": ["scripted:negotiation/fair"],
            }
        ],
        "replay": {"drop_zero_advantage": False},
        # Length differences give every group a reward spread, so every step updates.
        "rewards": {"length_penalty": 0.2, "length_free_tokens": 1},
        "eval": {"every": 0},
        "checkpoint": {"every": 10},
        **overrides,
    }
    return parse_config(data)


class FakeEngine:
    """Records every weight sync."""

    def __init__(self, fail: bool = False) -> None:
        self.dead: str | None = None
        self.synced: list[dict[str, torch.Tensor]] = []
        self.fail = fail

    def load_weights(self, named_tensors) -> float:
        if self.fail:
            raise RuntimeError("engine core process exited")
        self.synced.append({k: v.detach().clone() for k, v in named_tensors})
        return 0.0


class ShiftedAgent:
    """The policy's hf: agent with its sampling log-probs moved by ``shift`` (an engine whose
    numbers differ from the trainer's); dies at call ``die_at`` (1-based) if set."""

    def __init__(self, inner, engine: FakeEngine, shift: float, die_at: int | None = None):
        self.inner, self.engine, self.shift, self.die_at = inner, engine, shift, die_at
        self.name = inner.name
        self.temperature = inner.temperature
        self.seen = 0

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        self.seen += 1
        if self.die_at is not None and self.seen >= self.die_at:
            self.engine.dead = "EngineDeadError: engine core process exited"
            return [Action(error="vLLM generation failed: EngineDeadError: engine core died")
                    for _ in observations]  # fmt: skip
        return [
            dataclasses.replace(a, logprobs=[p - self.shift for p in a.logprobs or []])
            for a in self.inner.act(observations)
        ]

    def reset(self) -> None:
        self.inner.reset()


def _on_fake_engine(trainer: Trainer, shift: float, **kwargs) -> FakeEngine:
    engine = FakeEngine(kwargs.pop("fail", False))
    trainer.policy.agent = ShiftedAgent(trainer.policy.hf_agent, engine, shift, **kwargs)
    trainer.policy.engine = engine
    return engine


def _spy_loss(monkeypatch) -> list[torch.Tensor | None]:
    seen: list[torch.Tensor | None] = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("token_weights"))
        return policy_loss(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "policy_loss", spy)
    return seen


# -- the loss ----------------------------------------------------------------------------------


def test_truncated_is_weights_by_hand():
    trainer = torch.tensor([[-1.0, -2.0, 0.0], [-0.5, -0.5, -3.0]])
    engine = torch.tensor([[-1.5, -1.0, 0.0], [-2.0, -0.5, -9.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    got = truncated_is_weights(trainer, engine, mask, cap=2.0)
    # differences 0.5, -1, (pad), 1.5, 0, 6 -> weights e^0.5, e^-1, 0, min(e^1.5, 2), 1, 2
    want = torch.tensor([[math.exp(0.5), math.exp(-1), 0.0], [2.0, 1.0, 2.0]])
    assert torch.allclose(got.weights, want)
    assert got.gap == pytest.approx((0.5 + 1 + 1.5 + 0 + 6) / 5)
    assert got.weight == pytest.approx(float(want.sum()) / 5)
    assert got.truncated == pytest.approx(2 / 5)
    uncapped = truncated_is_weights(trainer, engine, mask, cap=None)
    assert torch.equal(uncapped.weights, mask) and uncapped.truncated == 0.0


def test_token_weights_scale_only_the_surrogate():
    logp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    old = torch.tensor([[-1.0, -2.0]])
    mask = torch.ones(1, 2)
    adv = torch.tensor([1.0])
    plain = policy_loss(logp, old, adv, mask)
    weighted = policy_loss(logp, old, adv, mask, token_weights=torch.tensor([[2.0, 0.5]]))
    assert plain.policy == pytest.approx(-1.0)  # ratio 1: -A per token
    assert weighted.policy == pytest.approx(-(2.0 + 0.5) / 2)
    ref = torch.tensor([[-1.5, -2.5]])
    kl_plain = policy_loss(logp, old, adv, mask, ref_logp=ref, kl_coef=1.0)
    kl = policy_loss(logp, old, adv, mask, ref_logp=ref, kl_coef=1.0,
                     token_weights=torch.tensor([[2.0, 0.5]]))  # fmt: skip
    assert kl.kl == pytest.approx(kl_plain.kl) and kl.kl > 0  # the KL term is not weighted
    assert float(kl.loss.detach()) == pytest.approx(weighted.policy + kl.kl, abs=1e-6)


# -- the trainer on a fake engine -------------------------------------------------------------


def test_trainer_recomputes_old_and_weights_tokens_by_truncated_is(tiny, tmp_path, monkeypatch):
    trainer = Trainer(_config(tiny, tmp_path, guards={"max_engine_gap": 0.5}))
    engine = _on_fake_engine(trainer, shift=0.3)
    seen = _spy_loss(monkeypatch)
    m = trainer.train_step()
    # The engine's log-probs are 0.3 below the trainer's on every sampled token.
    assert m["train/engine_logp_gap"] == pytest.approx(0.3, abs=2e-3)
    assert m["train/tis_weight"] == pytest.approx(math.exp(0.3), rel=3e-3)
    assert m["train/tis_truncated"] == 0.0
    # old = the trainer's own log-probs, so the first (only) minibatch starts at ratio 1.
    assert m["train/ratio"] == pytest.approx(1.0, abs=1e-3)
    (weights,) = seen
    assert weights is not None
    tokens = weights[weights > 0]
    assert torch.allclose(tokens, torch.full_like(tokens, math.exp(0.3)), rtol=3e-3)
    assert not any("rollout engine" in w for w in m["warnings"])  # 0.3 < 0.5
    assert len(engine.synced) == 1 and m["time/weight_sync_s"] > 0


def test_a_wide_gap_is_truncated_and_warned(tiny, tmp_path, monkeypatch):
    trainer = Trainer(_config(tiny, tmp_path, loss={"tis_cap": 2.0}))  # max_engine_gap 0.1
    _on_fake_engine(trainer, shift=1.0)
    seen = _spy_loss(monkeypatch)
    m = trainer.train_step()
    assert m["train/engine_logp_gap"] == pytest.approx(1.0, abs=2e-3)
    assert m["train/tis_truncated"] == 1.0  # e^1 > 2 on every token
    assert m["train/tis_weight"] == pytest.approx(2.0)
    (weights,) = seen
    assert torch.allclose(weights[weights > 0], torch.tensor(2.0))
    assert any("rollout engine's log-probs" in w for w in m["warnings"])


def test_weights_reach_the_engine_merged_after_every_update(tiny, tmp_path):
    trainer = Trainer(_config(tiny, tmp_path))
    engine = _on_fake_engine(trainer, shift=0.0)
    initial = {name: t.clone() for name, t in trainer.policy.engine_weights()}
    for _ in range(2):
        m = trainer.train_step()
        assert "time/weight_sync_s" in m
        merged = copy.deepcopy(trainer.policy.model).merge_and_unload().state_dict()
        last = engine.synced[-1]
        assert set(last) == set(merged)  # every weight, under the checkpoint's names
        for name, tensor in last.items():
            assert torch.allclose(tensor, merged[name], atol=1e-6)
        moved = [n for n in last if not torch.equal(last[n], initial[n])]
        assert moved and all("q_proj" in n or "v_proj" in n for n in moved)  # LoRA targets
    assert len(engine.synced) == 2
    assert not any("lora" in name for name in engine.synced[-1])
    trained = trainer.policy.model.named_parameters()
    assert any("lora_A" in name for name, _ in trained)  # the module itself stays unmerged


def test_full_finetune_syncs_every_weight(tiny, tmp_path):
    trainer = Trainer(_config(tiny, tmp_path, policy={
        "spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=6", "finetune": "full"}))  # fmt: skip
    engine = _on_fake_engine(trainer, shift=0.0)
    trainer.train_step()
    state = trainer.policy.model.state_dict()
    assert set(engine.synced[-1]) == set(state)
    for name, tensor in engine.synced[-1].items():
        assert torch.equal(tensor, state[name])


def test_hf_rollouts_are_unchanged(tiny, tmp_path, monkeypatch):
    trainer = Trainer(_config(tiny, tmp_path))
    assert trainer.policy.engine is None and trainer.policy.rollout_engine == "hf"
    seen = _spy_loss(monkeypatch)
    m = trainer.train_step()
    assert seen == [None]  # no IS weights: old is the sampling log-probs
    assert "train/engine_logp_gap" not in m
    assert m["time/weight_sync_s"] == 0.0


# -- failures -----------------------------------------------------------------------------------


def test_an_engine_that_dies_mid_run_stops_with_a_checkpoint(tiny, tmp_path):
    config = _config(tiny, tmp_path)
    trainer = Trainer(config)
    _on_fake_engine(trainer, shift=0.0)
    trainer.train_step()
    trainer.policy.agent.die_at = trainer.policy.agent.seen + 1  # dies in step 2's rollouts
    with pytest.raises(
        RolloutEngineError,
        match=r"failed at step 2: .*engine core process exited.*checkpoint of step 1.*--resume",
    ):
        trainer.run()
    assert trainer.step == 1
    assert (tmp_path / "checkpoints" / "step-000001" / "state.pt").exists()
    resumed = Trainer(config, resume=True)
    assert resumed.step == 1
    for name, tensor in trainer.policy.trainable_state().items():
        assert torch.equal(resumed.policy.trainable_state()[name], tensor)


def test_an_engine_that_refuses_the_weights_stops_with_the_update_kept(tiny, tmp_path):
    trainer = Trainer(_config(tiny, tmp_path))
    _on_fake_engine(trainer, shift=0.0, fail=True)
    with pytest.raises(RolloutEngineError, match=r"could not take the new weights.*exited"):
        trainer.train_step()
    assert (tmp_path / "checkpoints" / "step-000001" / "state.pt").exists()


def test_a_vllm_policy_without_vllm_names_the_install_command(tiny, monkeypatch):
    from palaestra.agents.vllm import VLLMUnavailableError
    from palaestra.arena.train.policy import Policy

    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail
    with pytest.raises(VLLMUnavailableError, match=r"policy\.spec 'vllm:tiny'.*make install-vllm"):
        Policy(PolicyConfig(spec="vllm:tiny"))


def test_config_accepts_hf_and_vllm_policies_only(tiny, tmp_path):
    assert _config(tiny, tmp_path, policy={"spec": "vllm:tiny"}).policy.spec == "vllm:tiny"
    with pytest.raises(ConfigError, match="'hf:' or 'vllm:' spec"):
        _config(tiny, tmp_path, policy={"spec": "openai:gpt@http://x"})
    with pytest.raises(ConfigError, match="tis_cap"):
        _config(tiny, tmp_path, loss={"tis_cap": 0.5})


def test_a_vllm_policy_without_its_engine_samples_on_transformers(tmp_path, monkeypatch):
    from palaestra.agents.hf import HFAgent
    from palaestra.arena.train.policy import Policy

    monkeypatch.setenv("PALAESTRA_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "vllm", None)  # no vLLM needed
    policy = Policy(PolicyConfig(spec="vllm:tiny?temperature=0.5"), engine=False)
    assert policy.engine is None and policy.rollout_engine == "hf"
    assert isinstance(policy.agent, HFAgent) and policy.agent.temperature == 0.5
    assert policy.path.endswith("tiny-vllm")  # the model the engine would have run
    assert policy.sync_engine() == 0.0


def test_resume_and_warm_start_push_their_weights_to_the_engine(tiny, tmp_path):
    config = _config(tiny, tmp_path)
    trainer = Trainer(config)
    trainer.train_step()
    folder = trainer.save_checkpoint()
    saved = {name: t.clone() for name, t in trainer.policy.engine_weights()}
    resumed = Trainer(config)  # a fresh policy: the initial weights
    initial = dict(resumed.policy.engine_weights())
    assert any(not torch.equal(initial[n], saved[n]) for n in saved)  # the step trained
    engine = _on_fake_engine(resumed, shift=0.0)
    resumed.load_checkpoint(folder)
    assert len(engine.synced) == 1
    for name, tensor in engine.synced[-1].items():
        assert torch.allclose(tensor, saved[name], atol=1e-6)
    resumed._absorb()  # what a warm start ends with: the merged weights stay what they were
    assert len(engine.synced) == 2
    for name, tensor in engine.synced[-1].items():
        assert torch.allclose(tensor, saved[name], atol=1e-5)


def test_the_first_minibatch_reuses_its_forward_pass_as_old(tiny, tmp_path, monkeypatch):
    """Without dropout, the first minibatch's own (detached) forward is the behaviour pass:
    the same update as a separate no-gradient pass, one pass fewer."""

    def run(fuse: bool, folder: str) -> tuple[dict, dict, list[int]]:
        monkeypatch.setattr(trainer_module, "_dropout_free", lambda model: fuse)
        trainer = Trainer(_config(tiny, tmp_path / folder, optim={"minibatch_size": 4}))
        _on_fake_engine(trainer, shift=0.3)
        passes: list[int] = []
        real = trainer.behaviour_logprobs
        trainer.behaviour_logprobs = lambda rows: passes.append(len(rows)) or real(rows)
        metrics = trainer.train_step()
        return metrics, trainer.policy.trainable_state(), passes

    fused, fused_state, fused_passes = run(True, "fused")
    plain, plain_state, plain_passes = run(False, "plain")
    assert plain_passes == [plain["train/samples"]]  # every sample
    assert fused_passes == [fused["train/samples"] - 4]  # all but the first minibatch's
    for key in ("train/engine_logp_gap", "train/tis_weight", "train/ratio", "train/loss"):
        assert fused[key] == pytest.approx(plain[key], abs=1e-5), key
    for name, tensor in plain_state.items():
        assert torch.allclose(fused_state[name], tensor, atol=1e-6), name


def test_dropout_turns_the_reuse_off(tiny):
    from palaestra.arena.train.trainer import _dropout_free

    policy_free = PolicyConfig(spec=f"hf:{tiny}")
    policy_drop = PolicyConfig(spec=f"hf:{tiny}", lora={"dropout": 0.1})
    from palaestra.arena.train.policy import Policy

    assert _dropout_free(Policy(policy_free).model)
    assert not _dropout_free(Policy(policy_drop).model)
