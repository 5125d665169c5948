"""Guards: warnings when the logged metrics say the policy is hacking the reward or collapsing.

Every step logs reward, KL, entropy, response length, invalid-move rate, clip fraction and
(when run) the held-out evaluation. :class:`Guards` watches them and warns when

* the training reward rises over the last ``window`` steps while the held-out evaluation
  reward fell between its last two evaluations (reward hacking: the policy found something
  the training signal pays for that does not generalise);
* the mean response length falls below ``min_length_ratio`` of its first value (length
  collapse: e.g. empty or one-token replies that dodge penalties);
* the mean token entropy falls below ``min_entropy_ratio`` of its first value (mode
  collapse: every sample the same, so group baselines see no variance);
* on average over the last ``window`` steps at least ``max_flat_groups`` of the GRPO groups
  were flat, every episode of the group returning the same (``train/flat_groups``): with a
  terminal reward all their advantages are zero, so the update has (almost) nothing to learn
  from. The usual causes: a
  policy that never scores (no warm start, too hard an opponent), a nearly deterministic
  policy, or groups of one episode;
* the per-token KL to the reference (``train/kl``) averages above ``max_kl`` over the last
  ``window`` steps (drift: the policy moved far from where it started; KL-regularised RL
  keeps it close because that is where the reward signal is trustworthy);
* the invalid-move rate (``train/invalid_rate``) averages at least ``max_invalid_rate`` over
  the last ``window`` steps, or has risen by ``max_invalid_rise`` above its mean over the
  first ``window`` steps (the policy is learning to break the rules, e.g. shorter replies
  that dodge a length cost but no longer parse);
* with ``vllm:`` rollouts, the mean gap between the trainer's and the engine's log-probs of
  the sampled tokens (``train/engine_logp_gap``) exceeds ``max_engine_gap`` at a step: the
  engine samples from a policy the trainer does not compute (weights that did not reach it,
  another dtype, ``top_k``/``top_p`` truncation), and the truncated importance weights then
  discard much of the update.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from palaestra.arena.train.config import GuardConfig

log = logging.getLogger("palaestra.train")


def slope(values: list[float]) -> float:
    """Least-squares slope of ``values`` against their index (0 for fewer than 2 values)."""
    if len(values) < 2:
        return 0.0
    x = np.arange(len(values), dtype=np.float64)
    return float(np.polyfit(x, np.asarray(values, dtype=np.float64), 1)[0])


@dataclass
class Guards:
    """Keeps the history the checks need; :meth:`check` returns this step's warnings."""

    config: GuardConfig
    rewards: list[float] = field(default_factory=list)
    evals: list[float] = field(default_factory=list)
    first_length: float | None = None
    first_entropy: float | None = None
    flat: list[float] = field(default_factory=list)
    kls: list[float] = field(default_factory=list)
    invalid: list[float] = field(default_factory=list)

    def check(self, metrics: dict[str, Any]) -> list[str]:
        """Fold in one step's metrics (``train/reward``, ``train/length``, ``train/entropy``,
        ``train/flat_groups``, ``train/kl``, ``train/invalid_rate`` and, on evaluation steps,
        ``eval/reward``); return the warnings it raises."""
        warnings: list[str] = []
        if "train/reward" in metrics:
            self.rewards.append(float(metrics["train/reward"]))
        if "eval/reward" in metrics:
            self.evals.append(float(metrics["eval/reward"]))
            window = self.rewards[-self.config.window :]
            if (
                len(self.evals) >= 2
                and self.evals[-1] < self.evals[-2]
                and len(window) >= 2
                and slope(window) > 0
            ):
                warnings.append(
                    f"training reward is rising (slope {slope(window):+.3g}/step) while the "
                    f"held-out evaluation fell from {self.evals[-2]:.3g} to {self.evals[-1]:.3g}: "
                    "the policy may be hacking the reward"
                )
        length = metrics.get("train/length")
        if isinstance(length, (int, float)) and length == length:
            if self.first_length is None:
                self.first_length = float(length)
            elif (
                self.first_length > 0 and length < self.config.min_length_ratio * self.first_length
            ):
                warnings.append(
                    f"response length collapsed to {length:.3g} tokens "
                    f"(from {self.first_length:.3g} at the start)"
                )
        entropy = metrics.get("train/entropy")
        if isinstance(entropy, (int, float)) and entropy == entropy:
            if self.first_entropy is None:
                self.first_entropy = float(entropy)
            elif (
                self.first_entropy > 0
                and entropy < self.config.min_entropy_ratio * self.first_entropy
            ):
                warnings.append(
                    f"entropy collapsed to {entropy:.3g} (from {self.first_entropy:.3g} at the "
                    "start): the policy may be collapsing to one reply"
                )
        flat = metrics.get("train/flat_groups")
        if isinstance(flat, (int, float)):
            self.flat.append(float(flat))
            window = self.flat[-self.config.window :]
            mean = float(np.mean(window))
            if len(window) == self.config.window and mean >= self.config.max_flat_groups:
                warnings.append(
                    f"{mean:.0%} of the reward groups were flat over the last {len(window)} "
                    "steps (every episode of a group returned the same), so their advantages "
                    "are zero: try a warm start, a higher temperature or larger groups"
                )
        warnings.extend(self._check_kl(metrics.get("train/kl")))
        warnings.extend(self._check_invalid(metrics.get("train/invalid_rate")))
        warnings.extend(self._check_engine_gap(metrics))
        for w in warnings:
            log.warning(w)
        return warnings

    def _check_kl(self, kl: Any) -> list[str]:
        if not isinstance(kl, (int, float)) or kl != kl:  # steps without an update log no KL
            return []
        self.kls.append(float(kl))
        window = self.kls[-self.config.window :]
        mean = float(np.mean(window))
        limit = self.config.max_kl
        if limit is None or len(window) < self.config.window or mean <= limit:
            return []
        return [
            f"KL to the reference averaged {mean:.3g} per token over the last {len(window)} "
            f"steps (above max_kl {limit:g}): the policy has drifted far from its start; "
            "raise loss.kl_coef or lower the learning rate"
        ]

    def _check_engine_gap(self, metrics: dict[str, Any]) -> list[str]:
        gap, limit = metrics.get("train/engine_logp_gap"), self.config.max_engine_gap
        if not isinstance(gap, (int, float)) or gap != gap or limit is None or gap <= limit:
            return []
        truncated = metrics.get("train/tis_truncated")
        cut = f"; {truncated:.0%} of the tokens' IS weights were truncated" if truncated else ""
        return [
            f"the trainer's and the rollout engine's log-probs of the sampled tokens differ by "
            f"{gap:.3g} on average (above max_engine_gap {limit:g}){cut}: the engine samples "
            "from another policy (weights not synced, another dtype, top_k/top_p truncation)"
        ]

    def _check_invalid(self, rate: Any) -> list[str]:
        if not isinstance(rate, (int, float)) or rate != rate:
            return []
        self.invalid.append(float(rate))
        w = self.config.window
        window = self.invalid[-w:]
        if len(window) < w:
            return []
        mean = float(np.mean(window))
        out = []
        if self.config.max_invalid_rate is not None and mean >= self.config.max_invalid_rate:
            out.append(
                f"{mean:.0%} of the policy's replies were invalid moves over the last {w} "
                f"steps (max_invalid_rate {self.config.max_invalid_rate:g})"
            )
        start = float(np.mean(self.invalid[:w]))
        rise = self.config.max_invalid_rise
        if rise is not None and len(self.invalid) > w and mean - start >= rise:
            out.append(
                f"the invalid-move rate rose from {start:.0%} (first {w} steps) to {mean:.0%} "
                f"(last {w} steps): the policy may be learning to break the rules"
            )
        return out

    def state_dict(self) -> dict[str, Any]:
        return {
            "rewards": list(self.rewards),
            "evals": list(self.evals),
            "first_length": self.first_length,
            "first_entropy": self.first_entropy,
            "flat": list(self.flat),
            "kls": list(self.kls),
            "invalid": list(self.invalid),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rewards = list(state["rewards"])
        self.evals = list(state["evals"])
        self.first_length = state["first_length"]
        self.first_entropy = state["first_entropy"]
        # Checkpoints from before a guard was added lack its history.
        self.flat = list(state.get("flat", []))
        self.kls = list(state.get("kls", []))
        self.invalid = list(state.get("invalid", []))
