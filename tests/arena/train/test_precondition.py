"""The prompt-kernel preconditioner (``optim.precondition: prompt_kernel``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from palaestra.arena.train.precondition import (
    adam_metric,
    combine,
    prompt_groups,
    whitened_weights,
)


def test_prompt_groups_groups_identical_prompts_largest_first():
    prompts = [[1, 2], [3], [1, 2], [4], [3], [1, 2]]
    assert prompt_groups(prompts, max_groups=8) == [[0, 2, 5], [1, 4], [3]]


def test_prompt_groups_merges_the_smallest_beyond_the_cap():
    prompts = [[1], [2], [1], [3], [4], [1], [2]]
    assert prompt_groups(prompts, max_groups=2) == [[0, 2, 5], [1, 3, 4, 6]]
    assert prompt_groups(prompts, max_groups=1) == [list(range(7))]
    with pytest.raises(ValueError, match="max_groups must be >= 1, got 0"):
        prompt_groups(prompts, max_groups=0)


def _coupled(rng: np.random.Generator, groups: int = 12, size: int = 200) -> np.ndarray:
    """Group gradients ``r_k j_k`` whose directions share one large common part (as Kuhn's
    states do: the kernel's top eigenvalue ~88% of its trace)."""
    shared = rng.normal(size=size)
    own = rng.normal(size=(groups, size)) * 0.3
    r = rng.normal(size=(groups, 1))
    return r * (shared + own)


def test_each_group_moves_as_if_alone():
    """The defining property: ``g_k . c = g_k . g_k`` for every group (identity metric)."""
    g = torch.from_numpy(_coupled(np.random.default_rng(0)))
    c, w = combine(g, None, ridge=0.0)
    np.testing.assert_allclose((g @ c).numpy(), (g * g).sum(1).numpy(), rtol=1e-6)
    # The plain sum does not: the shared direction carries every group along.
    plain = g.sum(0)
    assert np.max(np.abs((g @ plain).numpy() / (g * g).sum(1).numpy() - 1)) > 1.0
    assert w.shape == (12,)


def test_the_metric_is_the_one_the_step_is_taken_in():
    rng = np.random.default_rng(1)
    g = torch.from_numpy(_coupled(rng))
    d = torch.from_numpy(rng.uniform(0.1, 10.0, size=g.shape[1]))
    c, _ = combine(g, d, ridge=0.0)
    np.testing.assert_allclose((g @ (d * c)).numpy(), (g * d * g).sum(1).numpy(), rtol=1e-6)
    c_plain, _ = combine(g, None, ridge=0.0)
    assert not np.allclose((g @ (d * c_plain)).numpy(), (g * d * g).sum(1).numpy(), rtol=1e-2)


def test_uncoupled_groups_are_left_as_they_are():
    g = torch.eye(3, 5, dtype=torch.float64) * torch.tensor([[1.0], [2.0], [3.0]])
    c, w = combine(g, None, ridge=0.0)
    np.testing.assert_allclose(w, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(c.numpy(), g.sum(0).numpy())


def test_ridge_shrinks_and_zero_gradients_get_zero_weight():
    gram = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(whitened_weights(gram, 0.0), [1.0, 1.0, 0.0])
    shrunk = whitened_weights(gram, 1.0)  # ridge = mean diagonal (2/3)
    np.testing.assert_allclose(shrunk, [0.6, 0.6, 0.0])
    np.testing.assert_allclose(whitened_weights(np.zeros((2, 2)), 1e-3), [0.0, 0.0])
    with pytest.raises(ValueError, match="ridge must be >= 0, got -1"):
        whitened_weights(gram, -1)
    with pytest.raises(ValueError, match=r"square matrix, got shape \(2, 3\)"):
        whitened_weights(np.zeros((2, 3)), 0.0)


def test_adam_metric_is_adamws_step_scale():
    torch.manual_seed(0)
    a, b = torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(4))
    opt = torch.optim.AdamW([a, b], lr=0.1, betas=(0.9, 0.99), eps=1e-6)
    assert adam_metric(opt, [a, b]) is None  # before the first step: the identity
    for _ in range(3):
        opt.zero_grad()
        ((a**2).sum() + (b**3).sum()).backward()
        opt.step()
    metric = adam_metric(opt, [a, b])
    expected = []
    for p in (a, b):
        state = opt.state[p]
        v = state["exp_avg_sq"] / (1 - 0.99 ** float(state["step"]))
        expected.append((1 / (v.sqrt() + 1e-6)).flatten())
    torch.testing.assert_close(metric, torch.cat(expected))
    # In the order asked for.
    swapped = adam_metric(opt, [b, a])
    torch.testing.assert_close(swapped, torch.cat(expected[::-1]))
