"""Training log-probs with the minibatch's common prefix computed once.

Most of a game prompt is the same for every sample of a minibatch: the chat framing and the
game's rules come first in every observation (see ``docs/design.md``). The plain training pass
(:meth:`~palaestra.arena.train.policy.Policy.logprobs`) runs every sample's whole sequence
through the model, forward and backward, so those shared tokens cost ``B`` times. Here the
longest common token prefix of the minibatch runs once, *with* gradients, and its keys and
values are expanded over the batch (a view, no copy until the attention concatenates them);
then each sample's suffix (the rest of its prompt and its completion) runs against that cache.
Causal attention makes this exact: a suffix token attends to the same keys and values at the
same positions as in the full pass, and the gradient of the expanded cache is the sum of the
rows' gradients, which flows back into the prefix pass (LoRA adapters on the attention
projections included). Only rounding differs (``tests/arena/train/test_shared_prefix.py``).

Layout of the suffix pass, for a prefix of length ``L`` and suffixes padded to ``W``::

    cache:   [ prefix (L) ]                       one row, expanded to B
    suffix:  [ pad ... pad | rest of prompt | completion ]   left-padded, B rows
    mask:    [ 1 ... 1     | 0 ... 0 | 1 ... 1 ]             length L + W
    position ids of the suffix: L, L + 1, ...  (as in the full sequence)
"""

from __future__ import annotations

from collections.abc import Sequence

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
    """Completion log-probs as :meth:`Policy.logprobs` returns them, prefix computed once.

    Args:
        model: A causal LM (or a peft model around one) that accepts a ``cache``.
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

    longest = shared_prefix_length(samples)
    n = longest if prefix_length is None else prefix_length
    if not 1 <= n <= longest:
        raise ValueError(
            f"prefix_length must be in [1, {longest}] for these samples (their shared prefix), "
            f"got {n!r}"
        )
    device = next(model.parameters()).device
    batch = len(samples)
    seqs = [s.prompt_ids + s.completion_ids for s in samples]
    prefix = torch.tensor(seqs[0][:n], dtype=torch.long, device=device).unsqueeze(0)
    out = model(
        input_ids=prefix,
        attention_mask=torch.ones_like(prefix),
        position_ids=torch.arange(n, device=device).unsqueeze(0),
        use_cache=True,
        logits_to_keep=1,
    )
    shared = out.cache
    # expand() is a view; the gradient of the expanded keys/values sums over the rows.
    layers = [
        (layer.keys.expand(batch, -1, -1, -1), layer.values.expand(batch, -1, -1, -1))
        for layer in shared.layers
    ]
    cache = DynamicCache(ddp_cache_data=layers)

    suffixes = [seq[n:] for seq in seqs]
    width = max(len(s) for s in suffixes)
    c_max = max(len(s.completion_ids) for s in samples)
    ids = torch.full((batch, width), pad_id, dtype=torch.long)
    suffix_mask = torch.zeros((batch, width), dtype=torch.long)
    targets = torch.zeros((batch, c_max), dtype=torch.long)
    mask = torch.zeros((batch, c_max))
    for row, (suffix, s) in enumerate(zip(suffixes, samples)):
        ids[row, width - len(suffix) :] = torch.tensor(suffix)
        suffix_mask[row, width - len(suffix) :] = 1
        c = len(s.completion_ids)
        targets[row, c_max - c :] = torch.tensor(s.completion_ids)
        mask[row, c_max - c :] = 1.0
    attention = torch.cat([torch.ones((batch, n), dtype=torch.long), suffix_mask], dim=1)
    positions = n + (suffix_mask.cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=ids.to(device),
        attention_mask=attention.to(device),
        position_ids=positions.to(device),
        cache=cache,
        use_cache=True,
        logits_to_keep=c_max + 1,
    )
    # Position j predicts token j + 1: the last C+1 logits minus the final one.
    logits = out.logits[:, :-1, :].float() / temperature
    logp_all = torch.log_softmax(logits, dim=-1)
    logp = logp_all.gather(-1, targets.to(device).unsqueeze(-1)).squeeze(-1).cpu()
    ent = -(logp_all.exp() * logp_all).sum(-1).cpu() if entropy else None
    return logp * mask, (ent * mask if ent is not None else None), mask
