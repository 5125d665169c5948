"""The trainer's policy loads through the agents' loader and takes device and dtype as they do."""

from __future__ import annotations

import pytest
import torch

from palaestra.arena.train.config import PolicyConfig
from palaestra.arena.train.policy import Policy
from palaestra.arena.train.samples import Sample


def _sample(policy: Policy) -> Sample:
    ids = policy.tokenizer("OFFER: book=1")["input_ids"]
    return Sample(
        prompt_ids=[1, 2, 3, 4],
        completion_ids=list(ids[:3]),
        logprobs=[0.0] * 3,
        game="negotiation-v0",
        role="alice",
        episode="e",
        group="g",
        reward=1.0,
        credit=1.0,
        value=1.0,
    )


def test_policy_on_cpu_in_float32(tiny: str) -> None:
    policy = Policy(PolicyConfig(spec=f"hf:{tiny}", device="cpu", dtype="float32"))
    assert policy.device == torch.device("cpu")
    assert {p.dtype for p in policy.model.parameters()} == {torch.float32}


def test_policy_in_bfloat16_on_cpu_computes_logprobs(tiny: str) -> None:
    policy = Policy(PolicyConfig(spec=f"hf:{tiny}?dtype=bfloat16", device="cpu", finetune="full"))
    assert policy.dtype == torch.bfloat16
    assert {p.dtype for p in policy.model.parameters()} == {torch.bfloat16}
    logp, _, mask = policy.logprobs([_sample(policy)])
    assert logp.dtype == torch.float32 and mask.sum() == 3
    assert bool(torch.isfinite(logp).all()) and float(logp.max()) <= 0.0
    logp.sum().backward()  # trains in bf16 too
    assert any(p.grad is not None for p in policy.parameters())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "gpu"}, "device must be 'auto', 'cpu', 'cuda'.*got 'gpu'"),
        ({"dtype": "int8"}, "got 'int8'"),
    ],
)
def test_bad_device_or_dtype_is_named(tiny: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy(PolicyConfig(spec=f"hf:{tiny}", **kwargs))


def test_auto_picks_cpu_float32_without_cuda(tiny: str) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    policy = Policy(PolicyConfig(spec=f"hf:{tiny}"))
    assert (policy.device.type, policy.dtype) == ("cpu", torch.float32)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_clear_error(tiny: str) -> None:
    with pytest.raises(ValueError, match="device 'cuda' asks for CUDA, but torch sees no CUDA"):
        Policy(PolicyConfig(spec=f"hf:{tiny}", device="cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_policy_on_cuda_defaults_to_bfloat16(tiny: str) -> None:
    policy = Policy(PolicyConfig(spec=f"hf:{tiny}", finetune="full"))
    assert (policy.device.type, policy.dtype) == ("cuda", torch.bfloat16)
    logp, _, _ = policy.logprobs([_sample(policy)])
    assert logp.device.type == "cpu" and bool(torch.isfinite(logp).all())
