from __future__ import annotations

import math

import pytest
import torch

from palaestra.arena.train.losses import k3_kl, masked_mean, policy_loss


def test_k3_by_hand():
    logp = torch.tensor([math.log(0.5)])
    ref = torch.tensor([math.log(0.25)])
    # d = log(0.25/0.5) = -log 2; exp(d) - d - 1 = 0.5 + log 2 - 1
    assert k3_kl(logp, ref).item() == pytest.approx(0.5 + math.log(2) - 1)
    assert k3_kl(ref, ref).item() == 0.0


def _loss(ratio: float, adv: float, **kw):
    logp = torch.tensor([[math.log(ratio)]], requires_grad=True)
    old = torch.zeros(1, 1)
    return logp, policy_loss(
        logp, old, torch.tensor([adv]), torch.ones(1, 1), clip_low=0.2, clip_high=0.3, **kw
    )


@pytest.mark.parametrize(
    ("ratio", "adv", "loss", "clipped", "has_grad"),
    [
        (1.5, 1.0, -1.3, True, False),  # positive advantage: clipped above at 1 + 0.3
        (1.1, 1.0, -1.1, False, True),
        (0.5, 1.0, -0.5, True, True),  # min() keeps the unclipped (worse) term
        (0.5, -1.0, 0.8, True, False),  # negative advantage: clipped below at 1 - 0.2
        (1.5, -1.0, 1.5, True, True),
    ],
)
def test_clipped_ratio_by_hand(ratio, adv, loss, clipped, has_grad):
    logp, parts = _loss(ratio, adv)
    assert parts.loss.item() == pytest.approx(loss)
    assert parts.clip_fraction == (1.0 if clipped else 0.0)
    parts.loss.backward()
    assert (abs(logp.grad.item()) > 0) == has_grad


def test_token_vs_sequence_normalisation_by_hand():
    values = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 4.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    assert masked_mean(values, mask, "token").item() == pytest.approx(7 / 4)
    assert masked_mean(values, mask, "sequence").item() == pytest.approx((1 + 4) / 2)


def test_kl_and_entropy_terms_and_weights():
    logp = torch.tensor([[math.log(0.5), math.log(0.5)]])
    ref = torch.tensor([[math.log(0.25), math.log(0.5)]])
    ent = torch.tensor([[2.0, 4.0]])
    parts = policy_loss(
        logp, logp.clone(), torch.tensor([0.0]), torch.ones(1, 2),
        ref_logp=ref, kl_coef=0.1, entropy=ent, entropy_coef=0.01, weights=torch.tensor([2.0]),
    )  # fmt: skip
    k3 = 0.5 + math.log(2) - 1
    # per token: 0.1*kl - 0.01*entropy, times weight 2, mean over two tokens
    expected = 2 * ((0.1 * k3 - 0.02) + (0.0 - 0.04)) / 2
    assert parts.loss.item() == pytest.approx(expected)
    assert parts.kl == pytest.approx(k3 / 2)
    assert parts.entropy == pytest.approx(3.0)
    with pytest.raises(ValueError, match="ref_logp"):
        policy_loss(logp, logp, torch.tensor([1.0]), torch.ones(1, 2), kl_coef=0.1)
