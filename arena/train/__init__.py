"""Self-play training: the arena's episode rewards drive policy-gradient updates.

The pieces are importable on their own and each is a switch in :class:`TrainConfig`:

* :mod:`~palaestra.arena.train.advantages` — credit (per-step rewards, discounted returns),
  group-relative (GRPO) and role-conditioned (SPIRAL's RAE) baselines.
* :mod:`~palaestra.arena.train.losses` — clipped importance ratio, k3 KL to the reference,
  token- or sequence-level normalisation, entropy bonus.
* :mod:`~palaestra.arena.train.replay` — zero-advantage filtering, prioritised replay.
* :mod:`~palaestra.arena.train.league` — opponents and prioritised fictitious self-play.
* :mod:`~palaestra.arena.train.selfreward` — majority-vote pseudo-labels (test-time RL).
* :mod:`~palaestra.arena.train.curriculum` — ordered stages with advance conditions.
* :mod:`~palaestra.arena.train.shaping` — invalid-move, format, length and abstention rewards.
* :mod:`~palaestra.arena.train.guards` — warnings for reward hacking and collapse.
* :mod:`~palaestra.arena.train.trainer` — the loop: rollouts through the arena's match runner,
  updates of an ``hf:`` policy (LoRA by default), evaluation, checkpoints and resume.

Docs: ``docs/training.md``.
"""

from __future__ import annotations

from palaestra.arena.train.config import TrainConfig, load_config

__all__ = ["TrainConfig", "load_config"]
