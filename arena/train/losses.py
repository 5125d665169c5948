"""The policy-gradient loss on padded batches of completions.

Tensors are ``[batch, tokens]`` with a 0/1 ``mask`` marking completion tokens. Per token,

* ratio ``ρ = exp(logp - logp_old)`` against the sampling policy,
* clipped surrogate ``-min(ρ A, clip(ρ, 1 - ε_low, 1 + ε_high) A)`` (PPO with DAPO's separate
  upper clip),
* k3 KL to the reference (Schulman 2020, "Approximating KL divergence"):
  ``exp(d) - d - 1`` with ``d = logp_ref - logp``; unbiased for KL(π‖π_ref) under samples of
  π, always >= 0, and low variance,
* minus ``entropy_coef`` times the token entropy.

Normalisation: ``token`` averages over every completion token in the batch; ``sequence``
averages within each completion, then over completions (each reply counts the same whatever
its length). ``weights`` (replay importance weights) scale each sample's terms.

Truncated importance sampling (verl's TIS; Yao et al. 2025, "Your efficient RL framework
secretly brings you off-policy RL training"): when another engine sampled the tokens, ``old``
is the trainer's own log-prob of them and ``token_weights`` = ``min(exp(logp_old -
logp_engine), C)`` (:func:`truncated_is_weights`) scales each token's clipped surrogate, as
verl scales its policy-gradient loss (the KL and entropy terms are left as they are).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LossParts:
    """The loss and what the guards log."""

    loss: torch.Tensor
    policy: float
    kl: float
    entropy: float
    clip_fraction: float
    ratio: float

    def metrics(self) -> dict[str, float]:
        """The logged values (the trainer prefixes them with ``train/``)."""
        return {
            "loss": float(self.loss.detach()),
            "policy_loss": self.policy,
            "kl": self.kl,
            "entropy": self.entropy,
            "clip_fraction": self.clip_fraction,
            "ratio": self.ratio,
        }


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(π‖π_ref) from log-probs of tokens sampled from π."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1.0


def masked_mean(values: torch.Tensor, mask: torch.Tensor, normalisation: str) -> torch.Tensor:
    """Mean of ``values`` over ``mask`` by ``token`` or ``sequence`` normalisation."""
    if normalisation == "token":
        return (values * mask).sum() / mask.sum().clamp(min=1.0)
    if normalisation == "sequence":
        per_seq = (values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
        return per_seq.mean()
    raise ValueError(f"normalisation must be 'token' or 'sequence', got {normalisation!r}")


@dataclass
class EngineGap:
    """The gap between the trainer's and the rollout engine's log-probs of the sampled tokens.

    Attributes:
        weights: ``[B, T]`` truncated importance weights (0 on padding).
        gap: Mean ``|logp_trainer - logp_engine|`` over the tokens.
        weight: Mean weight over the tokens.
        truncated: Fraction of the tokens whose weight was cut to the cap.
    """

    weights: torch.Tensor
    gap: float
    weight: float
    truncated: float


def truncated_is_weights(
    trainer_logp: torch.Tensor, engine_logp: torch.Tensor, mask: torch.Tensor, cap: float | None
) -> EngineGap:
    """Per-token ``min(exp(trainer_logp - engine_logp), cap)`` (``cap=None``: all 1) and the
    gap figures over ``mask``."""
    mask = mask.to(trainer_logp.dtype)
    d = (trainer_logp - engine_logp) * mask
    raw = torch.exp(d)
    if cap is None:
        weights, cut = torch.ones_like(raw), torch.zeros_like(raw)
    else:
        weights, cut = raw.clamp(max=cap), (raw > cap).to(raw.dtype)
    weights = weights * mask
    n = mask.sum().clamp(min=1.0)
    return EngineGap(
        weights=weights,
        gap=float(d.abs().sum() / n),
        weight=float(weights.sum() / n),
        truncated=float((cut * mask).sum() / n),
    )


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.28,
    ref_logp: torch.Tensor | None = None,
    kl_coef: float = 0.0,
    entropy: torch.Tensor | None = None,
    entropy_coef: float = 0.0,
    weights: torch.Tensor | None = None,
    normalisation: str = "token",
    token_weights: torch.Tensor | None = None,
) -> LossParts:
    """The clipped surrogate with KL and entropy terms.

    Args:
        logp: ``[B, T]`` log-probs of the completion tokens under the current policy.
        old_logp: ``[B, T]`` log-probs under the policy that sampled them.
        advantages: ``[B]`` one advantage per completion (whole-completion credit).
        mask: ``[B, T]`` 1 for completion tokens, 0 for padding.
        clip_low: Ratio clipped below at ``1 - clip_low``.
        clip_high: Ratio clipped above at ``1 + clip_high``.
        ref_logp: ``[B, T]`` log-probs under the reference model (needed if ``kl_coef > 0``).
        kl_coef: Coefficient of the k3 KL term.
        entropy: ``[B, T]`` entropy of the current policy at each position.
        entropy_coef: Coefficient of the entropy bonus.
        weights: ``[B]`` importance weights of the samples (prioritised replay).
        normalisation: ``"token"`` or ``"sequence"``.
        token_weights: ``[B, T]`` truncated importance weights of the clipped surrogate
            (:func:`truncated_is_weights`; ``None``: 1).
    """
    mask = mask.to(logp.dtype)
    adv = advantages.to(logp.dtype).unsqueeze(-1)
    ratio = torch.exp(logp - old_logp)
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    per_token = -torch.minimum(ratio * adv, clipped * adv)
    if token_weights is not None:
        per_token = per_token * token_weights.to(logp.dtype)
    kl = torch.zeros_like(per_token)
    if kl_coef > 0.0:
        if ref_logp is None:
            raise ValueError("kl_coef > 0 needs ref_logp")
        kl = k3_kl(logp, ref_logp)
        per_token = per_token + kl_coef * kl
    if entropy is not None and entropy_coef > 0.0:
        per_token = per_token - entropy_coef * entropy
    if weights is not None:
        per_token = per_token * weights.to(logp.dtype).unsqueeze(-1)
    loss = masked_mean(per_token, mask, normalisation)
    with torch.no_grad():
        outside = ((ratio < 1.0 - clip_low) | (ratio > 1.0 + clip_high)).to(logp.dtype)
        ent = entropy if entropy is not None else torch.zeros_like(logp)
        pg = -torch.minimum(ratio * adv, clipped * adv)
        if token_weights is not None:
            pg = pg * token_weights.to(logp.dtype)
        parts = LossParts(
            loss=loss,
            policy=float(masked_mean(pg, mask, normalisation)),
            kl=float(masked_mean(kl, mask, normalisation)),
            entropy=float(masked_mean(ent, mask, normalisation)),
            clip_fraction=float(masked_mean(outside, mask, "token")),
            ratio=float(masked_mean(ratio, mask, "token")),
        )
    return parts
