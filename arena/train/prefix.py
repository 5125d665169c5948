"""Training log-probs with shared prompt tokens computed once.

Most of a game prompt is the same for every sample of a minibatch: the chat framing and the
game's rules come first in every observation (see ``docs/design.md``), and in a small game
many samples have the very same prompt (Kuhn poker has 12 information states, so a batch of
64 replies has at most 12 distinct prompts). The plain training pass
(:meth:`~palaestra.arena.train.policy.Policy.logprobs`) runs every sample's whole sequence
through the model, forward and backward. Here the work is done once per distinct piece, in
three passes, each attending to the keys and values of the one before (a
``transformers`` ``DynamicCache`` built from tensors that keep their gradients):

1. the longest token prefix common to the minibatch, one row;
2. the rest of each *distinct* prompt, one row per prompt, against (1) expanded over the rows
   (a view: its gradient is the sum over the rows);
3. each sample's completion, against its prompt's row of (2) (``index_select``).

Causal attention makes this exact: every completion token attends to the same keys and values
at the same positions as in the full pass, and gradients flow back through the caches into
passes (1) and (2), LoRA adapters on the attention projections included. Only rounding
differs (``tests/arena/train/test_shared_prefix.py``).

Padding sits between the pieces and is masked out; position ids are those of the full
sequence::

    pass 1:  [ prefix (L) ]
    pass 2:  [ pad ... | rest of prompt u ]            U rows, mask [1]*L + its pads
    pass 3:  [ pad ... | completion of sample b ]      B rows, mask [1]*L + pads of its
                                                       prompt's row + its own pads
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from palaestra.arena.train.samples import Sample


def common_prefix_length(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix all of ``seqs`` share."""
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for s in seqs[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
        if n == 0:
            break
    return n


def shared_prefix_length(samples: Sequence[Sample]) -> int:
    """Tokens of the shared prefix that :func:`shared_prefix_logprobs` would compute once.

    At most every prompt's length minus one: the logit that predicts a completion's first
    token comes from its prompt's last position, which must be in the suffix pass.
    """
    if not samples:
        return 0
    seqs = [s.prompt_ids + s.completion_ids for s in samples]
    limit = min(len(s.prompt_ids) for s in samples) - 1
    return max(0, min(common_prefix_length(seqs), limit))


def shared_prefix_logprobs(
    model: torch.nn.Module,
    samples: Sequence[Sample],
    *,
    pad_id: int,
    temperature: float,
    entropy: bool = False,
    prefix_length: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Completion log-probs as :meth:`Policy.logprobs` returns them, shared tokens once.

    Args:
        model: A causal LM (or a peft model around one) that accepts a key/value cache.
        samples: The minibatch.
        pad_id: Token id written in padding positions (masked out).
        temperature: Logits are divided by it, as in sampling.
        entropy: Also return the per-position entropy.
        prefix_length: Tokens computed once (default :func:`shared_prefix_length`); must be
            between 1 and that length.

    Returns:
        ``(logp, entropy or None, mask)``, each ``[B, C]``, completions right-aligned.

    Raises:
        ValueError: If the samples share no usable prefix or ``prefix_length`` is out of range.
    """
    from transformers import DynamicCache

    from palaestra.agents.fastgen import forward_keywords

    cache_kw = forward_keywords(model)[0]  # ``cache`` in transformers 5, else ``past_key_values``
    longest = shared_prefix_length(samples)
    n = longest if prefix_length is None else prefix_length
    if not 1 <= n <= longest:
        raise ValueError(
            f"prefix_length must be in [1, {longest}] for these samples (their shared prefix), "
            f"got {n!r}"
        )
    device = next(model.parameters()).device
    batch = len(samples)
    # Level 2 runs each distinct prompt once: samples of one information state (a game seat
    # facing the same position) share their whole prompt.
    prompts: dict[tuple[int, ...], int] = {}
    owner = [prompts.setdefault(tuple(s.prompt_ids), len(prompts)) for s in samples]
    distinct = [list(k) for k in prompts]
    rows = len(distinct)

    # Level 1: the common prefix, one row.
    prefix = torch.tensor(distinct[0][:n], dtype=torch.long, device=device).unsqueeze(0)
    out = model(
        input_ids=prefix,
        attention_mask=torch.ones_like(prefix),
        position_ids=torch.arange(n, device=device).unsqueeze(0),
        use_cache=True,
        logits_to_keep=1,
    )
    # expand() is a view; the gradient of the expanded keys/values sums over the rows.
    cache = DynamicCache(
        ddp_cache_data=[
            (layer.keys.expand(rows, -1, -1, -1), layer.values.expand(rows, -1, -1, -1))
            for layer in _cache_of(out).layers
        ]
    )

    # Level 2: the rest of each distinct prompt, left-padded (pads sit between the prefix
    # and the prompt's rest, masked out).
    rests = [p[n:] for p in distinct]
    w1 = max(len(r) for r in rests)
    ids = torch.full((rows, w1), pad_id, dtype=torch.long)
    mask1 = torch.zeros((rows, w1), dtype=torch.long)
    for row, rest in enumerate(rests):
        ids[row, w1 - len(rest) :] = torch.tensor(rest)
        mask1[row, w1 - len(rest) :] = 1
    attention = torch.cat([torch.ones((rows, n), dtype=torch.long), mask1], dim=1)
    out = model(
        input_ids=ids.to(device),
        attention_mask=attention.to(device),
        position_ids=(n + (mask1.cumsum(-1) - 1).clamp(min=0)).to(device),
        **{cache_kw: cache},
        use_cache=True,
        logits_to_keep=1,
    )
    first_logits = out.logits[:, -1, :]  # [U, V]: predicts each prompt's first reply token

    # Level 3: every sample's completion against its prompt's keys/values.
    index = torch.tensor(owner, device=device)
    cache = DynamicCache(
        ddp_cache_data=[
            (layer.keys.index_select(0, index), layer.values.index_select(0, index))
            for layer in _cache_of(out).layers
        ]
    )
    c_max = max(len(s.completion_ids) for s in samples)
    ids = torch.full((batch, c_max), pad_id, dtype=torch.long)
    targets = torch.zeros((batch, c_max), dtype=torch.long)
    mask = torch.zeros((batch, c_max))
    first = torch.zeros((batch, c_max), dtype=torch.bool)
    positions = torch.zeros((batch, c_max), dtype=torch.long)
    for row, s in enumerate(samples):
        c = len(s.completion_ids)
        ids[row, c_max - c :] = torch.tensor(s.completion_ids)
        targets[row, c_max - c :] = torch.tensor(s.completion_ids)
        mask[row, c_max - c :] = 1.0
        first[row, c_max - c] = True
        positions[row, c_max - c :] = len(s.prompt_ids) + torch.arange(c)
    attention = torch.cat(
        [torch.ones((batch, n), dtype=torch.long), mask1[owner], mask.long()], dim=1
    )
    out = model(
        input_ids=ids.to(device),
        attention_mask=attention.to(device),
        position_ids=positions.to(device),
        **{cache_kw: cache},
        use_cache=True,
    )
    # Target t of a row is predicted by the output at t - 1, except a completion's first
    # token, which its prompt's last position (level 2) predicts.
    shifted = torch.cat([out.logits[:, :1, :], out.logits[:, :-1, :]], dim=1)
    logits = torch.where(first.to(device).unsqueeze(-1), first_logits[index].unsqueeze(1), shifted)
    logits = logits.float() / temperature
    logp_all = torch.log_softmax(logits, dim=-1)
    logp = logp_all.gather(-1, targets.to(device).unsqueeze(-1)).squeeze(-1).cpu()
    ent = -(logp_all.exp() * logp_all).sum(-1).cpu() if entropy else None
    return logp * mask, (ent * mask if ent is not None else None), mask


def _cache_of(out: Any) -> Any:
    """The key/value cache a forward returned (``cache`` in transformers 5, else
    ``past_key_values``)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values
