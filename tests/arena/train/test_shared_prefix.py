"""The shared-prefix training pass equals the plain full-sequence pass (values and gradients)."""

from __future__ import annotations

import pytest
import torch

from palaestra.arena.train.config import PolicyConfig, parse_config
from palaestra.arena.train.policy import Policy
from palaestra.arena.train.prefix import (
    common_prefix_length,
    shared_prefix_length,
    shared_prefix_logprobs,
)
from palaestra.arena.train.samples import Sample

RULES = "The rules: each player antes one chip and gets a card. Bet or pass. "


def _samples(policy: Policy) -> list[Sample]:
    tok = policy.tokenizer
    batch = []
    for tail, reply in (
        ("You are alice. Your card: K.", "bet"),
        ("You are bob. Your card: J. alice bets.", "pass and fold"),
        ("You are alice. Your card: Q.", "OFFER: book=1"),
        ("You are bob.", "ACCEPT"),
        ("You are alice. Your card: K.", "pass"),  # the same prompt as the first sample
        ("You are alice. Your card: K.", "bet bet bet"),
    ):
        p = tok(RULES + tail)["input_ids"]
        c = tok(reply)["input_ids"] + [tok.eos_token_id]
        batch.append(Sample(p, c, [0.0] * len(c), "g", "a", tail, "g", 0.0, 0.0, 0.0))
    return batch


@pytest.fixture
def policy(tiny: str) -> Policy:
    torch.manual_seed(0)
    p = Policy(PolicyConfig(spec=f"hf:{tiny}?temperature=0.7"))
    # Non-zero LoRA B so that the adapters change keys/values of the prefix too.
    with torch.no_grad():
        for name, param in p.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.2)
    p.model.train()
    return p


def _loss(logp: torch.Tensor, ent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = torch.linspace(-1.0, 1.0, logp.shape[0]).unsqueeze(-1)
    return ((logp * weights + 0.1 * ent) * mask).sum()


def _grads(policy: Policy) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in policy.model.named_parameters() if p.grad is not None}


def test_common_prefix_length():
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[1], [2]]) == 0
    assert common_prefix_length([]) == 0


def test_prefix_stops_before_the_last_prompt_token():
    s = Sample([1, 2, 3], [4], [0.0], "g", "a", "e", "g", 0, 0, 0)
    assert shared_prefix_length([s, s]) == 2  # the logit of token 4 comes from position 2


def test_values_and_gradients_equal_the_full_pass(policy: Policy):
    batch = _samples(policy)
    assert shared_prefix_length(batch) > 10  # the rules are shared

    logp, ent, mask = policy.logprobs(batch, entropy=True)
    _loss(logp, ent, mask).backward()
    plain = _grads(policy)
    policy.model.zero_grad(set_to_none=True)

    logp2, ent2, mask2 = policy.logprobs(batch, entropy=True, shared_prefix=True)
    _loss(logp2, ent2, mask2).backward()
    shared = _grads(policy)

    assert torch.equal(mask, mask2)
    torch.testing.assert_close(logp2, logp, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ent2, ent, atol=1e-5, rtol=1e-5)
    lora = [n for n in plain if "lora_" in n]
    assert lora and set(shared) == set(plain)
    # Every adapter's gradient (the first layer's too, whose keys/values of the prefix are
    # computed once) equals the full pass's up to fp32 rounding: relative error ~2e-6 on
    # gradients of size up to ~50; summation order differs, so the bound is relative.
    for name in plain:
        err = (shared[name] - plain[name]).norm() / plain[name].norm().clamp(min=1e-12)
        assert err < 1e-5, (name, float(err))
    assert any(plain[n].abs().sum() > 0 for n in lora)


def test_reference_pass_and_shorter_prefixes(policy: Policy):
    batch = _samples(policy)
    with torch.no_grad():
        ref, _, _ = policy.logprobs(batch, reference=True)
        policy.clear_reference_cache()  # else the second pass is served from the first
        ref2, _, _ = policy.logprobs(batch, reference=True, shared_prefix=True)
        cur, _, _ = policy.logprobs(batch)
        assert not torch.allclose(ref, cur, atol=1e-3)  # the adapters matter here
        torch.testing.assert_close(ref2, ref, atol=1e-5, rtol=1e-5)
        pad = policy.tokenizer.pad_token_id
        for n in (1, 5):
            part, _, _ = shared_prefix_logprobs(
                policy.model, batch, pad_id=pad, temperature=policy.temperature, prefix_length=n
            )
            torch.testing.assert_close(part, cur, atol=1e-5, rtol=1e-5)


def test_no_shared_prefix_falls_back_and_bad_length_is_refused(policy: Policy):
    tok = policy.tokenizer
    a = Sample(tok("alice")["input_ids"], [5, 6], [0.0, 0.0], "g", "a", "1", "g", 0, 0, 0)
    b = Sample(tok("bob")["input_ids"], [7], [0.0], "g", "a", "2", "g", 0, 0, 0)
    assert shared_prefix_length([a, b]) == 0
    with torch.no_grad():
        plain, _, _ = policy.logprobs([a, b])
        shared, _, _ = policy.logprobs([a, b], shared_prefix=True)
    torch.testing.assert_close(shared, plain, atol=0, rtol=0)
    with pytest.raises(ValueError, match="prefix_length must be in"):
        shared_prefix_logprobs(policy.model, [a, b], pad_id=0, temperature=1.0)


def test_trainer_update_uses_the_switch(tiny: str, tmp_path, monkeypatch):
    from palaestra.arena.train import prefix
    from palaestra.arena.train.trainer import Trainer

    calls = []
    real = prefix.shared_prefix_logprobs

    def spy(*args, **kwargs):
        calls.append(len(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr("palaestra.arena.train.policy.shared_prefix_logprobs", spy)
    data = {
        "run_dir": str(tmp_path),
        "steps": 1,
        "policy": {"spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=4"},
        "stages": [{"games": [{"env": "negotiation-v0"}], "opponents": ["self"]}],
        "optim": {"minibatch_size": 4, "shared_prefix": True},
        "eval": {"every": 0},
    }
    trainer = Trainer(parse_config(data))
    batch = _samples(trainer.policy)
    for s in batch:
        s.advantage = 1.0
    trainer.update(batch)
    assert calls == [4, 2, 4, 2]  # reference and training passes, minibatches of 4
    calls.clear()
    off = Trainer(parse_config({**data, "optim": {"minibatch_size": 4}}))
    off.update(batch)
    assert calls == []


def test_reference_log_probs_are_computed_once_per_pair_until_the_reference_changes(
    policy: Policy, monkeypatch
):
    batch = _samples(policy)
    computed: list[int] = []
    real = policy.row_logprobs

    def spy(samples, *args, **kwargs):
        computed.append(len(samples))
        return real(samples, *args, **kwargs)

    monkeypatch.setattr(policy, "row_logprobs", spy)
    with torch.no_grad():
        first, _, mask = policy.logprobs(batch, reference=True)
        again, _, mask2 = policy.logprobs(batch[::-1], reference=True)
        assert computed == [len(batch)]  # the second call was served from the cache
        torch.testing.assert_close(again, first.flip(0))
        torch.testing.assert_close(mask2, mask.flip(0))
        policy.clear_reference_cache()
        torch.testing.assert_close(policy.logprobs(batch, reference=True)[0], first)
        # Training the adapters does not touch the reference: still cached.
        for name, param in policy.model.named_parameters():
            if "lora_A" in name:
                param.add_(0.5)
        assert computed == [len(batch)] * 2
        torch.testing.assert_close(policy.logprobs(batch, reference=True)[0], first)
        assert computed == [len(batch)] * 2
        # Nor does a league snapshot (another adapter): still cached.
        policy.snapshot_agent("snapshot:1", policy.trainable_state())
        torch.testing.assert_close(policy.logprobs(batch, reference=True)[0], first)
        assert computed == [len(batch)] * 2
        # A frozen weight the reference reads, changed in place: computed again, and different.
        frozen = next(p for p in policy.model.parameters() if not p.requires_grad)
        frozen.mul_(1.5)
        changed, _, _ = policy.logprobs(batch, reference=True)
    assert computed == [len(batch)] * 3
    assert not torch.allclose(changed, first, atol=1e-3)
