"""Batched generation that reuses each seat's KV cache, with a lean decode loop.

:class:`FastGenerator` replaces ``model.generate`` for :class:`~palaestra.agents.hf.HFAgent`
when ``reuse_cache`` is on. One call answers a batch of prompts:

1. **Reuse.** For every prompt the seat's cached keys and values
   (:class:`~palaestra.agents.kvcache.SeatCacheStore`) are looked up and cropped to the longest
   common token prefix; only the rest, the *suffix*, is prefilled.
2. **Prefill, grouped by length.** Rows are sorted by suffix length and cut into groups whose
   padding stays under :data:`PAD_WASTE` of the real tokens, so a seat with 40 new tokens is
   not padded to the 400 of a seat on its first turn. Each group is one forward pass over
   ``[cached prefix | suffix]``, with an explicit 4-D additive mask (padding may sit between
   the prefix and the suffix) and explicit positions, so every row sees exactly what it would
   see alone. Only the last position's logits are computed. Each row's cached keys and
   values are copied once, straight into the group's preallocated buffer, and each row's new
   cache is one ``index_select`` out of it.
   Rows that have no cache of their own yet (first turns) but share a prefix with each other
   (the game's rules) get that prefix prefilled once and kept as a shared prefix
   (:meth:`~palaestra.agents.kvcache.SeatCacheStore.share`), which later episodes reuse too.
3. **Decode.** The rows' keys and values are copied once into preallocated buffers; each step
   writes one column in place (no ``torch.cat`` of the whole cache per step, which is what
   dominates a plain ``DynamicCache`` at batch 32), and rows that have finished are dropped
   from the batch once a quarter of them are done.

Rows with the same prompt are computed once. A distinct prompt is prefilled by one row and
the others take its keys, values and logits. In decode, rows that have read the same tokens
share one cache *slot* (one row of the forward pass): the next token's distribution depends
only on those tokens, so each row still draws its own token, from its slot's logits, and a
slot splits when its rows draw different tokens. This is exact, the same draws as row by row
up to floating-point rounding. Small games repeat prompts a lot: a Kuhn poker batch of 64
seats has at most 12 distinct prompts (its information states), and sampled groups
(``group_size``) repeat every first prompt.

Token choice is the same as ``generate``'s: float32 logits of the last position, the same
logits processors (temperature, top-k, top-p, the log-prob recorder), ``argmax`` or
``torch.multinomial`` over the softmax, finished rows padded, the same stopping rules. Greedy
text is therefore the same as without reuse up to floating-point reassociation (the tests
check identity on the tiny model over whole episodes).

The prompt's keys and values (not the completion's: the games re-render a reply inside the
transcript, so its tokens never recur as they were generated) are stored back for the seat.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from palaestra.agents.kvcache import MIN_SHARED, SeatCacheStore, SeatKV, common_prefix_length

__all__ = [
    "PAD_WASTE",
    "SHARE_ROWS",
    "FastGenerator",
    "GenerationStats",
    "unsupported_settings",
    "weights_version",
]

#: A prefill group may hold up to this fraction of padding tokens over its real tokens.
PAD_WASTE = 0.25
#: Rows with the same prompt are computed once (the module docstring); off only to measure
#: what that saves (``benchmarks/repeated_prompts.py``).
SHARE_ROWS = True


def weights_version(model: Any) -> tuple[Any, ...]:
    """A key that changes whenever the model's parameters are replaced or updated in place.

    Tensors count their in-place updates (``_version``), so an optimizer step, a loaded state
    dict or a swapped module all change the key, and cached keys/values are then dropped.
    """
    return (id(model), tuple((id(p), p._version) for p in model.parameters()))


#: ``generation_config`` fields whose non-default values make ``generate`` apply logits
#: processors this loop does not (the ``hf:`` agent then keeps using ``generate``).
_GENERATE_ONLY = {
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "sequence_bias": None,
    "exponential_decay_length_penalty": None,
    "min_length": 0,
    "min_new_tokens": None,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
    "typical_p": 1.0,
    "min_p": None,
    "renormalize_logits": False,
    "guidance_scale": None,
    "watermarking_config": None,
}


def unsupported_settings(model: Any) -> list[str]:
    """Names of ``model.generation_config`` settings that only ``generate`` would apply.

    The ``hf:`` agent passes neutral values for repetition penalty and sampling warpers, but
    a checkpoint's generation config may also ask for n-gram bans, suppressed tokens and the
    like; for such a model the agent falls back to ``generate`` so that the text is the same.
    """
    config = getattr(model, "generation_config", None)
    if config is None:
        return []
    return [
        name
        for name, neutral in _GENERATE_ONLY.items()
        if getattr(config, name, neutral) not in (neutral, None)
    ]


@dataclass
class GenerationStats:
    """Work done by a generator since it was made (for benchmarks and logs).

    Attributes:
        prefill_tokens: Tokens run through the model in prefill passes (padding excluded),
            ``prefix_tokens`` included.
        prefix_tokens: Tokens prefilled to build shared prefixes (not part of any one prompt).
        reused_tokens: Prompt tokens whose keys and values came from a cache (the seat's own,
            a shared prefix or another seat's).
        prefill_seconds: Wall time of the prefill passes.
        decode_tokens: Tokens generated by rows that were still live.
        decode_rows: Rows run through the model in the decode steps after the first (rows
            that have read the same tokens run as one; empty slots waiting to be dropped
            count too).
        decode_seconds: Wall time of the decode steps.
        calls: Batches generated.
    """

    prefill_tokens: int = 0
    prefix_tokens: int = 0
    reused_tokens: int = 0
    prefill_seconds: float = 0.0
    decode_tokens: int = 0
    decode_rows: int = 0
    decode_seconds: float = 0.0
    calls: int = 0


@dataclass
class _Row:
    ids: list[int]
    past: SeatKV | None

    @property
    def reused(self) -> int:
        return self.past.length if self.past is not None else 0

    @property
    def suffix(self) -> list[int]:
        return self.ids[self.reused :]


@dataclass
class GenerationOutput:
    """What one :meth:`FastGenerator.generate` call produced.

    Attributes:
        tokens: ``(batch, steps)`` long tensor of generated ids, finished rows padded.
        reused: Per row, how many prompt tokens came from the seat cache.
    """

    tokens: Any
    reused: list[int] = field(default_factory=list)


def _buffer_layer_class() -> type:
    from transformers.cache_utils import DynamicLayer

    class BufferLayer(DynamicLayer):
        """A cache layer whose keys and values live in a preallocated buffer.

        Appending writes in place; the attention sees a view of the filled part: the first
        ``rows`` batch rows (the buffer may hold spare rows for slots added later) and the
        first ``length`` columns.
        """

        def __init__(self, keys: Any, values: Any, capacity: int) -> None:
            super().__init__()
            self.capacity = capacity
            self.buf_k = self.buf_v = None
            self.length = self.rows = 0
            if keys is not None:
                self._allocate(keys, values)
                self._write(keys, values)

        @classmethod
        def adopt(cls, buf_k: Any, buf_v: Any, length: int, rows: int | None = None) -> BufferLayer:
            """A layer over buffers whose first ``rows`` rows (default all) and ``length``
            columns are already filled (no copy)."""
            layer = cls(None, None, buf_k.shape[2])
            layer.buf_k, layer.buf_v, layer.length = buf_k, buf_v, length
            layer.rows = buf_k.shape[0] if rows is None else rows
            layer.device, layer.is_initialized = buf_k.device, True
            layer._views()
            return layer

        def _views(self) -> None:
            self.keys = self.buf_k[: self.rows, :, : self.length]
            self.values = self.buf_v[: self.rows, :, : self.length]

        def _allocate(self, keys: Any, values: Any, rows: int | None = None) -> None:
            import torch

            batch, heads, _, dim = keys.shape
            batch = batch if rows is None else rows
            self.buf_k = torch.empty(
                (batch, heads, self.capacity, dim), dtype=keys.dtype, device=keys.device
            )
            self.buf_v = torch.empty(
                (batch, heads, self.capacity, values.shape[-1]),
                dtype=values.dtype,
                device=values.device,
            )
            self.rows = keys.shape[0]
            self.device = keys.device
            self.is_initialized = True

        def lazy_initialization(self, key_states: Any, value_states: Any) -> None:
            self._allocate(key_states, value_states)

        def _write(self, keys: Any, values: Any) -> None:
            end = self.length + keys.shape[-2]
            if end > self.capacity:  # never expected (capacity is planned); grow rather than fail
                self.capacity = max(end, 2 * self.capacity)
                self._reallocate(self.buf_k.shape[0])
            self.buf_k[: self.rows, :, self.length : end] = keys
            self.buf_v[: self.rows, :, self.length : end] = values
            self.length = end
            self._views()

        def _reallocate(self, rows: int, index: Any = None) -> None:
            """New buffers of ``rows`` rows holding the filled part of rows ``index`` (default
            all in use)."""
            old_k, old_v = self.keys, self.values
            if index is not None:
                old_k, old_v = old_k.index_select(0, index), old_v.index_select(0, index)
            self._allocate(old_k, old_v, rows)
            self.buf_k[: self.rows, :, : self.length] = old_k
            self.buf_v[: self.rows, :, : self.length] = old_v
            self._views()

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any):
            if self.buf_k is None:
                self._allocate(key_states, value_states)
            self._write(key_states, value_states)
            return self.keys, self.values

        def get_seq_length(self) -> int:
            return self.length

        def get_mask_sizes(self, query_length: int, *args: Any) -> tuple[int, int]:
            return self.length + query_length, 0

        def select_rows(self, index: Any, spare: int = 0) -> None:
            """Keep only the rows in ``index`` (a compaction: finished rows leave the decode
            batch), with room for ``spare`` more."""
            self._reallocate(len(index) + spare, index)

        def add_rows(self, parents: Any) -> None:
            """Append copies of the rows ``parents`` (a slot splitting), into spare rows."""
            end = self.rows + len(parents)
            if end > self.buf_k.shape[0]:  # never expected (room is planned); grow
                self._reallocate(end)
            self.buf_k[self.rows : end, :, : self.length] = self.buf_k.index_select(0, parents)[
                :, :, : self.length
            ]
            self.buf_v[self.rows : end, :, : self.length] = self.buf_v.index_select(0, parents)[
                :, :, : self.length
            ]
            self.rows = end
            self._views()

    return BufferLayer


_LAYER_CLASS: type | None = None


def _new_cache(
    layers: int, capacity: int, buf: Any = None, length: int = 0, rows: int | None = None
) -> Any:
    """A ``DynamicCache`` of buffer layers: over ``buf`` (``(layers, 2, batch, heads, capacity,
    dim)``, its first ``rows`` rows (default all) and ``length`` columns filled), or empty ones
    allocated on first write."""
    global _LAYER_CLASS
    from transformers.cache_utils import DynamicCache

    if _LAYER_CLASS is None:
        _LAYER_CLASS = _buffer_layer_class()
    cache = DynamicCache()
    if buf is None:
        cache.layers = [_LAYER_CLASS(None, None, capacity) for _ in range(layers)]
    else:
        cache.layers = [
            _LAYER_CLASS.adopt(buf[i, 0], buf[i, 1], length, rows) for i in range(layers)
        ]
    return cache


def _filled_buffer(
    kvs: Sequence[Any], width: int, capacity: int, device: Any, rows: int | None = None
) -> Any:
    """One ``(layers, 2, batch, heads, capacity, dim)`` buffer with row ``i``'s keys and values
    (``kvs[i]``, ``(layers, 2, heads, length, dim)`` or ``None``) right-aligned in its first
    ``width`` columns and zeros to their left; the columns from ``width`` on are left unset (the
    model writes them before anything reads them). ``rows`` (at least ``len(kvs)``) makes room
    for spare rows after them, left unset. One copy of each row, nothing else."""
    import torch

    ref = next(kv for kv in kvs if kv is not None)
    layers, _, heads, _, dim = ref.shape
    batch = len(kvs) if rows is None else rows
    buf = torch.empty((layers, 2, batch, heads, capacity, dim), dtype=ref.dtype, device=device)
    for i, kv in enumerate(kvs):
        length = 0 if kv is None else kv.shape[3]
        if length < width:  # masked out, but must be finite: 0 x NaN is NaN
            buf[:, :, i, :, : width - length].zero_()
        if length:
            buf[:, :, i, :, width - length : width] = kv
    return buf


class FastGenerator:
    """Generates for a batch of seats, reusing and refreshing their KV caches.

    Args:
        model: A causal LM whose forward takes ``position_ids``, a 4-D ``attention_mask`` and
            a transformers ``Cache`` (every decoder-only model of transformers does).
        store: Where seat caches live.
        pad_id: Token id used for padding.
        weights_key: Returns a key of the weights that compute (the store is emptied when it
            changes); default :func:`weights_version` of the whole model.

    Attributes:
        stats: Work done so far (:class:`GenerationStats`).
    """

    def __init__(
        self,
        model: Any,
        store: SeatCacheStore,
        pad_id: int,
        weights_key: Callable[[], Any] | None = None,
    ) -> None:
        self.model = model
        self.store = store
        self.pad_id = int(pad_id)
        #: What the store's entries are valid for (:func:`weights_version` of the whole model
        #: by default; a narrower key when only some of its weights compute, e.g. one adapter).
        self.weights_key = weights_key
        self.stats = GenerationStats()
        self._cache_kw, self._keep_kw = forward_keywords(model)

    # -- forward ---------------------------------------------------------------------------

    def _forward(self, input_ids: Any, positions: Any, mask: Any, cache: Any) -> Any:
        kwargs: dict[str, Any] = {self._cache_kw: cache}
        if self._keep_kw:
            kwargs["logits_to_keep"] = 1
        out = self.model(
            input_ids=input_ids,
            position_ids=positions,
            attention_mask=mask,
            use_cache=True,
            **kwargs,
        )
        return out.logits[:, -1, :]

    def _num_layers(self) -> int:
        config = self.model.config
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        return int(text.num_hidden_layers)

    # -- public ----------------------------------------------------------------------------

    def generate(
        self,
        seats: Sequence[str],
        prompts: Sequence[list[int]],
        *,
        max_new_tokens: int,
        sample: bool,
        eos_ids: Sequence[int],
        processors: Callable[[Any, Any], Any],
        stopper: Callable[..., Any] | None = None,
        keep: bool = True,
    ) -> GenerationOutput:
        """Generate for ``prompts`` (one per seat); see the module docstring.

        Args:
            seats: Seat keys (``"<episode>/<role>"``), one per prompt.
            prompts: Full prompt token ids.
            max_new_tokens: Cap on generated tokens per row.
            sample: Draw with ``torch.multinomial`` (else greedy ``argmax``).
            eos_ids: Tokens that end a row.
            processors: ``generate``-style logits processors: ``(generated, scores) -> scores``.
            stopper: A ``generate``-style stopping criterion over the generated tokens.
            keep: Store the prompts' keys and values for their seats.
        """
        import torch

        if len(seats) != len(prompts):
            raise ValueError(f"got {len(seats)} seats for {len(prompts)} prompts")
        if any(not p for p in prompts):
            raise ValueError("every prompt needs at least one token")
        key = self.weights_key
        self.store.bind(key() if key is not None else weights_version(self.model))
        device = next(self.model.parameters()).device
        self.stats.calls += 1
        started = time.perf_counter()
        id_lists = [list(ids) for ids in prompts]
        # Rows with the very same prompt (a small game's information state, a group of samples
        # of one position) are prefilled once, by the first of them; the others take its keys,
        # values and logits.
        first_row: dict[tuple[int, ...], int] = {}
        owner = [first_row.setdefault(_row_key(ids, i), i) for i, ids in enumerate(id_lists)]
        reps = list(first_row.values())
        if keep and self.store.share_prefixes:  # look ahead, then build what prompts share
            ahead = [self.store.lookup(seats[i], id_lists[i], count=False) for i in reps]
            self._share_prefixes([_Row(id_lists[i], kv) for i, kv in zip(reps, ahead)], device)
        rows = {i: _Row(id_lists[i], self.store.lookup(seats[i], id_lists[i])) for i in reps}
        logits: list[Any] = [None] * len(id_lists)
        kvs: list[SeatKV | None] = [None] * len(id_lists)
        distinct = [rows[i] for i in reps]
        for group in _length_groups(distinct):
            group_logits, group_kv = self._prefill([distinct[k] for k in group], device)
            for j, k in enumerate(group):
                logits[reps[k]], kvs[reps[k]] = group_logits[j], group_kv[j]
        reused = []
        for i, rep in enumerate(owner):
            logits[i], kvs[i] = logits[rep], kvs[rep]
            # A copy reuses every prompt token: another row computed them in this call.
            reused.append(rows[i].reused if i == rep else len(id_lists[i]))
        self.stats.prefill_tokens += sum(len(r.suffix) for r in distinct)
        self.stats.reused_tokens += sum(reused)
        self.stats.prefill_seconds += time.perf_counter() - started
        if keep:
            for seat, kv in zip(seats, kvs):
                self.store.put(seat, kv)

        started = time.perf_counter()
        first = torch.stack(logits).float()
        tokens = self._decode(kvs, first, max_new_tokens, sample, eos_ids, processors, stopper)
        self.stats.decode_seconds += time.perf_counter() - started
        return GenerationOutput(tokens.cpu(), reused)

    # -- prefill ---------------------------------------------------------------------------

    def _share_prefixes(self, rows: list[_Row], device: Any) -> None:
        """Prefill once, and keep as shared prefixes, what rows of this batch have in common.

        Sorted by token ids, a row's longest common prefix with any other row is the longer of
        its common prefixes with its two neighbours; a row whose own cache covers less than
        that (a seat's first turn: the game's rules) gets that prefix prefilled once for all
        the rows that share it, shortest prefixes first so that longer ones build on them.
        """
        order = sorted(range(len(rows)), key=lambda i: rows[i].ids)
        common = [0] * len(rows)
        for a, b in pairwise(order):
            n = min(common_prefix_length(rows[a].ids, rows[b].ids), len(rows[a].ids) - 1)
            n = min(n, len(rows[b].ids) - 1)
            common[a], common[b] = max(common[a], n), max(common[b], n)
        wanted = {
            tuple(rows[i].ids[: common[i]])
            for i in order
            if common[i] >= MIN_SHARED and common[i] >= rows[i].reused + MIN_SHARED
        }
        for prefix in sorted(wanted, key=len):
            ids = list(prefix)
            row = _Row(ids, self.store.lookup(None, ids, count=False))
            _, (kv,) = self._prefill([row], device)
            self.stats.prefill_tokens += len(row.suffix)
            self.stats.prefix_tokens += len(row.suffix)
            self.store.share(kv)

    def _prefill(self, rows: list[_Row], device: Any) -> tuple[list[Any], list[SeatKV]]:
        """One forward pass over ``[cached prefix | suffix]`` for a group of rows."""
        import torch

        n = len(rows)
        past = max(r.reused for r in rows)
        width = max(len(r.suffix) for r in rows)
        total = past + width
        dtype = next(self.model.parameters()).dtype
        input_ids = torch.full((n, width), self.pad_id, dtype=torch.long)
        positions = torch.zeros((n, width), dtype=torch.long)
        real = torch.zeros((n, total), dtype=torch.bool)
        for i, row in enumerate(rows):
            suffix = row.suffix
            input_ids[i, width - len(suffix) :] = torch.tensor(suffix)
            positions[i, width - len(suffix) :] = torch.arange(row.reused, len(row.ids))
            real[i, past - row.reused : past] = True
            real[i, total - len(suffix) :] = True
        buf = None
        if past:  # every row's cached prefix, left-padded to the group's longest one
            kvs = [r.past.kv if r.past is not None else None for r in rows]
            buf = _filled_buffer(kvs, past, total, device)
        cache = _new_cache(self._num_layers(), total, buf, past)
        # Query j sits at column past + j: it sees real columns up to and including its own.
        causal = torch.arange(total)[None, :] <= (past + torch.arange(width))[:, None]
        allowed = real[:, None, :] & causal[None, :, :]
        mask = _additive(allowed[:, None], dtype, device)
        with torch.no_grad():
            logits = self._forward(input_ids.to(device), positions.to(device), mask, cache)
        if buf is None:  # no cached prefix: the layers allocated their own buffers
            buf = torch.stack([torch.stack([la.buf_k, la.buf_v]) for la in cache.layers])
        out = []
        for i, row in enumerate(rows):
            keep = real[i].nonzero().squeeze(1).to(device)
            out.append(SeatKV(list(row.ids), buf[:, :, i].index_select(3, keep)))
        return list(logits), out

    # -- decode ----------------------------------------------------------------------------

    def _decode(
        self,
        kvs: list[SeatKV],
        first_logits: Any,
        max_new_tokens: int,
        sample: bool,
        eos_ids: Sequence[int],
        processors: Callable[[Any, Any], Any],
        stopper: Callable[..., Any] | None,
    ) -> Any:
        """Decode every row, rows that have read the same tokens sharing one cache *slot*.

        The next token's distribution depends only on the tokens read so far, so rows with the
        same prompt run as one slot for as long as their replies agree: one forward serves them
        all, and each row still draws its own token from the slot's logits. A slot whose rows
        draw different tokens splits into spare rows of the cache (a copy of that slot only);
        slots whose rows all finished stay in the batch, fed padding, until a quarter of the
        slots are empty, and then the cache is compacted. Without repeats every row is its own
        slot and this is plain batched decoding.
        """
        import torch

        device = first_logits.device
        batch = len(kvs)
        first_slot: dict[tuple[int, ...], int] = {}
        slot_of = [first_slot.setdefault(_row_key(kv.ids, i), i) for i, kv in enumerate(kvs)]
        holder = list(first_slot.values())  # the row whose cache starts each slot
        renumber = {row: k for k, row in enumerate(holder)}
        slot_of = [renumber[s] for s in slot_of]
        lengths = [kvs[row].length for row in holder]
        width = max(lengths)
        capacity = width + max_new_tokens
        dtype = kvs[0].kv.dtype
        layers = kvs[0].kv.shape[0]
        real = torch.ones((len(holder), capacity), dtype=torch.bool)
        for i, length in enumerate(lengths):
            real[i, : width - length] = False
        buf = _filled_buffer([kvs[row].kv for row in holder], width, capacity, device, batch)
        cache = _new_cache(layers, capacity, buf, width, len(holder))
        del buf  # the layers hold views; a compaction then frees the old buffers
        slots = _Slots(
            slot_of, _additive(real[:, None, None, :], dtype, device),
            torch.tensor(lengths, dtype=torch.long, device=device), self.pad_id,
        )  # fmt: skip
        eos = torch.tensor(list(eos_ids) or [-1], dtype=torch.long, device=device)

        generated = torch.full(
            (batch, max_new_tokens), self.pad_id, dtype=torch.long, device=device
        )
        finished = torch.zeros(batch, dtype=torch.bool, device=device)
        scores_full = first_logits
        steps = 0
        for step in range(max_new_tokens):
            if step:
                feed = slots.advance(
                    cache, generated[:, step - 1].tolist(), finished.tolist(),
                    compact=step + 1 < max_new_tokens,
                )  # fmt: skip
                with torch.no_grad():
                    logits = self._forward(
                        feed.to(device), slots.next_pos[:, None],
                        slots.mask[..., : width + step], cache,
                    ).float()  # fmt: skip
                slots.next_pos += 1
                self.stats.decode_rows += feed.shape[0]
                live = (~finished).nonzero().squeeze(1)
                scores_full = torch.zeros(
                    (batch, logits.shape[-1]), dtype=torch.float32, device=device
                )
                scores_full[live] = logits[torch.tensor(slots.slot_of, device=device)[live]]
            scores = processors(generated[:, :step], scores_full)
            if sample:
                probs = torch.softmax(scores, dim=-1)
                chosen = torch.multinomial(probs, num_samples=1).squeeze(1)
            else:
                chosen = torch.argmax(scores, dim=-1)
            chosen = torch.where(finished, torch.full_like(chosen, self.pad_id), chosen)
            generated[:, step] = chosen
            self.stats.decode_tokens += int((~finished).sum())
            finished |= torch.isin(chosen, eos)
            if stopper is not None:
                finished |= stopper(generated[:, : step + 1], scores).to(device)
            steps = step + 1
            if bool(finished.all()):
                break
        return generated[:, :steps]


@dataclass
class _Slots:
    """The decode batch's slots: which slot each row reads from (``slot_of``), and each slot's
    attention mask row and next position."""

    slot_of: list[int]
    mask: Any
    next_pos: Any
    pad_id: int

    def advance(self, cache: Any, tokens: list[int], finished: list[bool], compact: bool) -> Any:
        """Regroup the live rows by (slot, token just drawn) and return the token each slot
        reads next, ``(slots, 1)``.

        The first group of a slot goes on in it; every other group gets a copy of the slot in
        a spare row (the slot split). Empty slots read padding; once they are a quarter of the
        slots (and ``compact``), the cache keeps only the slots in use.
        """
        import torch

        groups: dict[tuple[int, int], list[int]] = {}
        for row, (slot, token, done) in enumerate(zip(self.slot_of, tokens, finished)):
            if not done:
                groups.setdefault((slot, token), []).append(row)
        count = len(self.mask)
        feed = [self.pad_id] * count
        parents: list[int] = []
        kept: set[int] = set()
        slot_of = list(self.slot_of)
        for (slot, token), rows in groups.items():
            if slot not in kept:
                kept.add(slot)
                new = slot
                feed[slot] = token
            else:
                new = count + len(parents)
                parents.append(slot)
                feed.append(token)
            for row in rows:
                slot_of[row] = new
        if parents:
            index = torch.tensor(parents, device=self.mask.device)
            for layer in cache.layers:
                layer.add_rows(index.to(layer.buf_k.device))
            self.mask = torch.cat([self.mask, self.mask[index]])
            self.next_pos = torch.cat([self.next_pos, self.next_pos[index]])
        used = sorted({slot_of[row] for rows in groups.values() for row in rows})
        empty = len(feed) - len(used)
        if compact and empty and empty * 4 >= len(feed):
            index = torch.tensor(used, device=self.mask.device)
            live_rows = sum(len(rows) for rows in groups.values())
            for layer in cache.layers:
                layer.select_rows(index.to(layer.buf_k.device), spare=live_rows - len(used))
            self.mask, self.next_pos = self.mask[index], self.next_pos[index]
            feed = [feed[s] for s in used]
            remap = {s: k for k, s in enumerate(used)}
            slot_of = [remap.get(s, 0) for s in slot_of]  # finished rows read nothing
        self.slot_of = slot_of
        return torch.tensor(feed)[:, None]


def _row_key(ids: Sequence[int], row: int) -> tuple[int, ...]:
    """What makes rows share their work: the prompt's token ids (the row alone when
    :data:`SHARE_ROWS` is off)."""
    return tuple(ids) if SHARE_ROWS else (-1, row)


def _additive(allowed: Any, dtype: Any, device: Any) -> Any:
    """A boolean "may attend" mask as an additive float mask (0 or the dtype's minimum).

    The minimum, not ``-inf``: a padding query that may attend to nothing then gets a finite
    (ignored) result instead of NaN.
    """
    import torch

    out = torch.zeros(allowed.shape, dtype=dtype, device=device)
    return out.masked_fill_(~allowed.to(device), torch.finfo(dtype).min)


def _length_groups(rows: Sequence[_Row]) -> list[list[int]]:
    """Row indices cut into prefill groups of similar suffix length (padding <= PAD_WASTE)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i].suffix))
    groups: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in order:
        size = len(rows[i].suffix)
        # Sorted ascending, so the newcomer is the longest: the group pads to its length.
        if current and size * (len(current) + 1) > (1 + PAD_WASTE) * (real + size):
            groups.append(current)
            current, real = [], 0
        current.append(i)
        real += size
    if current:
        groups.append(current)
    return groups


def forward_keywords(model: Any) -> tuple[str, bool]:
    """The cache keyword of the model's forward (``cache`` in newer transformers, else
    ``past_key_values``) and whether it takes ``logits_to_keep``."""
    base = model
    get_base = getattr(model, "get_base_model", None)
    if callable(get_base):  # peft wraps the model; its forward passes keywords through
        base = get_base()
    params = inspect.signature(type(base).forward).parameters
    cache_kw = "cache" if "cache" in params else "past_key_values"
    return cache_kw, "logits_to_keep" in params
