"""A prompt-kernel preconditioner: each prompt's gradient moves that prompt as if alone.

One gradient step on a batch moves every prompt's outputs by the tangent kernel times the
per-prompt gradients. When the prompts share most of their text (Kuhn poker's twelve states
share the rules and differ in a card and a few moves), the kernel has one large eigenvalue
over a near-uniform vector: every state's P(bet) moves together, and the card-specific
directions move 20-1,700x less under a rate the shared direction tolerates
(docs/training.md, "What the coupling is, measured").

``optim.precondition: prompt_kernel`` splits a minibatch into groups of samples that share a
prompt, computes each group's gradient ``g_k`` of its part of the loss (the parts sum to the
minibatch's loss), and hands the optimiser ``G^T w`` instead of ``sum_k g_k``, where ``w``
solves

    (M + ridge * mean(diag M) * I) w = diag(M),    M = G D G^T,

``D`` being the metric the optimiser steps in: AdamW's ``1 / (sqrt(v_hat) + eps)`` from its
second-moment estimate (the identity before its first step). To first order, the step then
changes each group's own objective by what its gradient alone would (``g_k^T D G^T w =
g_k^T D g_k``), and the cross-talk through the shared directions cancels. With one binary
choice per prompt (``g_k = r_k j_k``), every prompt's margin moves by ``r_k j_k^T D j_k``:
a table's update, with the kernel's diagonal as the per-state rate. This is a natural
gradient in function space, restricted to the batch's prompts (the empirical-NTK or
Gauss-Newton preconditioner; e.g. Martens, "New insights and perspectives on the natural
gradient method", JMLR 2020).

Cost: one backward pass per group (a group shares its whole prompt, so under
``shared_prefix`` the prompt is computed once per group) and ``groups x trainable
parameters`` floats of memory; groups beyond ``precondition_max_groups`` are merged, the
largest kept apart. It suits games whose prompts repeat (Kuhn's 12 information states, the
quiz's questions), not games where every prompt is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def prompt_groups(prompts: Sequence[Sequence[int]], max_groups: int) -> list[list[int]]:
    """Indices of ``prompts`` grouped by identical prompt, largest groups first.

    With more distinct prompts than ``max_groups``, the ``max_groups - 1`` largest groups are
    kept and the rest merged into one last group (ties broken by first appearance).

    >>> prompt_groups([[1, 2], [3], [1, 2], [4]], max_groups=2)
    [[0, 2], [1, 3]]
    """
    if max_groups < 1:
        raise ValueError(f"max_groups must be >= 1, got {max_groups}")
    by_prompt: dict[tuple[int, ...], list[int]] = {}
    for i, prompt in enumerate(prompts):
        by_prompt.setdefault(tuple(prompt), []).append(i)
    groups = sorted(by_prompt.values(), key=lambda g: (-len(g), g[0]))
    if len(groups) <= max_groups:
        return groups
    rest = sorted(i for g in groups[max_groups - 1 :] for i in g)
    return [*groups[: max_groups - 1], rest]


def whitened_weights(gram: np.ndarray, ridge: float) -> np.ndarray:
    """``w`` solving ``(gram + ridge * mean(diag gram) * I) w = diag(gram)``.

    ``gram`` is the groups' gradient Gram matrix in the optimiser's metric. A group whose
    gradient is zero gets weight zero. All zero: all weights zero.

    >>> whitened_weights(np.array([[1.0, 0.0], [0.0, 4.0]]), ridge=0.0).tolist()
    [1.0, 1.0]
    """
    gram = np.asarray(gram, dtype=np.float64)
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1]:
        raise ValueError(f"gram must be a square matrix, got shape {gram.shape}")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    diag = np.diag(gram).copy()
    scale = float(diag.mean()) if len(diag) else 0.0
    if scale <= 0.0:
        return np.zeros(len(diag))
    system = gram + ridge * scale * np.eye(len(diag))
    return np.linalg.lstsq(system, diag, rcond=None)[0]


def adam_metric(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]
) -> torch.Tensor | None:
    """AdamW's per-coordinate step scale ``1 / (sqrt(v_hat) + eps)``, flattened in the order
    of ``params``; ``None`` before the optimiser's first step (the identity metric)."""
    by_param = {}
    for group in optimizer.param_groups:
        beta2, eps = group["betas"][1], group["eps"]
        for p in group["params"]:
            state: dict[str, Any] = optimizer.state.get(p, {})
            if "exp_avg_sq" not in state:
                return None
            correction = 1.0 - beta2 ** float(state["step"])
            by_param[id(p)] = 1.0 / ((state["exp_avg_sq"] / correction).sqrt() + eps)
    if any(id(p) not in by_param for p in params):
        return None
    return torch.cat([by_param[id(p)].flatten() for p in params])


def combine(
    grads: torch.Tensor, metric: torch.Tensor | None, ridge: float
) -> tuple[torch.Tensor, np.ndarray]:
    """The preconditioned gradient ``grads^T w`` of the group gradients ``grads``
    (``[groups, parameters]``) and the weights ``w`` (:func:`whitened_weights`)."""
    weighted = grads if metric is None else grads * metric
    gram = (weighted.double() @ grads.double().T).numpy()
    w = whitened_weights(gram, ridge)
    return torch.from_numpy(w).to(grads.dtype) @ grads, w
