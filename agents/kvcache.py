"""Per-seat KV caches: what each seat of each episode has already read, kept across turns.

A seat's next prompt starts with its previous one (the games append to the transcript and
never rewrite it), so the keys and values computed for the previous prompt can be reused and
only the new text prefilled. :class:`SeatCacheStore` keeps one :class:`SeatKV` per seat
(:attr:`~palaestra.envs.protocol.Observation.seat`, ``"<episode>/<role>"``), evicts the least
recently used entries once the total size passes a cap, and drops an episode's seats when the
episode ends (:meth:`SeatCacheStore.end_episode`).

Seats also share prefixes with each other: the games put their rules first, so every seat of
every episode of a game starts with the same few hundred tokens. A seat with no cache of its
own (its first turn) reuses the longest prefix it has in common with any cached entry, and a
prefix found that way is kept as a *shared* entry that outlives the episodes it came from, so
the next episodes find it too (the idea of the prefix caches of vLLM's automatic prefix
caching and SGLang's RadixAttention, Zheng et al. 2023, here as a flat list of prefixes).

Reuse is decided by token ids, never by trusting the text layout: the cached ids and the new
prompt's ids are compared, the longest common prefix is kept (the cache is cropped to it) and
the rest is prefilled. A seat whose text was rewritten therefore costs a longer prefill, never
a wrong answer: keys and values of a causal model at position ``i`` depend only on the tokens
up to ``i``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_CACHE_MB",
    "MAX_SHARED",
    "MIN_SHARED",
    "SeatCacheStore",
    "SeatKV",
    "common_prefix_length",
]

#: Default cap on the memory held by one agent's seat caches, in MiB.
DEFAULT_CACHE_MB = 2048
#: Seats share a prefix only from this many tokens on (a chat template's opening is shorter).
MIN_SHARED = 32
#: At most this many shared prefixes are kept (the oldest go first).
MAX_SHARED = 64

_SEAT, _SHARED = "seat", "shared"


def common_prefix_length(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token id lists.

    >>> common_prefix_length([1, 2, 3, 4], [1, 2, 5])
    2
    """
    n = min(len(a), len(b))
    # Compare in blocks first: prompts share hundreds of tokens, and list slices compare in C.
    step = 64
    i = 0
    while i + step <= n and a[i : i + step] == b[i : i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class SeatKV:
    """Keys and values of one token sequence, for every layer.

    Attributes:
        ids: The token ids whose keys and values are held (position 0 onwards).
        kv: One tensor of shape ``(layers, 2, kv_heads, len(ids), head_dim)``: keys at index 0
            and values at index 1 of the second axis.
    """

    ids: list[int]
    kv: Any

    @property
    def length(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        return int(self.kv.numel() * self.kv.element_size())

    def crop(self, length: int) -> SeatKV:
        """The first ``length`` tokens (a view: no copy)."""
        if not 0 <= length <= self.length:
            raise ValueError(f"crop length must be in [0, {self.length}], got {length}")
        return SeatKV(self.ids[:length], self.kv[:, :, :, :length])


class SeatCacheStore:
    """Seat caches of one agent and the prefixes seats share, least recently used first out,
    under a memory cap.

    Args:
        max_bytes: Cap on the total size of the cached tensors (seats and shared prefixes). An
            entry larger than the cap on its own is not kept.
        share_prefixes: Let a seat reuse another seat's or a shared prefix (see the module
            docstring); off, a seat only ever reuses its own cache.

    Raises:
        ValueError: ``max_bytes`` is negative.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_MB * 2**20, share_prefixes: bool = True):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.share_prefixes = bool(share_prefixes)
        self._entries: OrderedDict[tuple[str, str], SeatKV] = OrderedDict()
        self._bytes = 0
        self._shared_serial = 0
        self._lock = threading.Lock()
        #: Counters since creation: seats looked up, hits (some prefix reused), hits that came
        #: from a shared prefix or another seat, evictions.
        self.lookups = 0
        self.hits = 0
        self.shared_hits = 0
        self.evictions = 0
        self._owner: Any = None

    def __len__(self) -> int:
        """Number of seats held (shared prefixes not counted: see :attr:`shared`)."""
        return sum(1 for kind, _ in self._entries if kind == _SEAT)

    def __contains__(self, seat: str) -> bool:
        return (_SEAT, seat) in self._entries

    @property
    def shared(self) -> int:
        """Number of shared prefixes held."""
        return sum(1 for kind, _ in self._entries if kind == _SHARED)

    @property
    def nbytes(self) -> int:
        """Total size of the cached tensors."""
        return self._bytes

    def lookup(self, seat: str | None, ids: list[int], *, count: bool = True) -> SeatKV | None:
        """The longest cached prefix of ``ids``, cropped, or ``None`` when nothing matches.

        The seat's own cache is tried first; with ``share_prefixes``, a longer match of at
        least :data:`MIN_SHARED` tokens in a shared prefix or another seat's cache wins (ties go
        to the seat's own cache, then to shared prefixes). A match found in another seat's cache
        is copied into a new shared prefix, so it outlives that seat's episode. ``seat=None``
        looks only at what is shared.

        At least one token of ``ids`` is always left out of the returned prefix: generation
        needs the logits of the prompt's last token, so that token is prefilled again.
        ``count=False`` leaves the counters alone (a look ahead of the real lookup).
        """
        limit = len(ids) - 1
        with self._lock:
            self.lookups += count
            own_key = (_SEAT, seat) if seat is not None else None
            own = self._entries.get(own_key) if own_key is not None else None
            best_key, best, length = None, None, 0
            if own is not None:
                self._entries.move_to_end(own_key)
                length = min(common_prefix_length(own.ids, ids), limit)
                best_key, best = own_key, own
            if self.share_prefixes and length < limit:
                for key, entry in self._entries.items():
                    if key == own_key or entry.length < max(length, MIN_SHARED):
                        continue  # cannot match more than it holds
                    n = min(common_prefix_length(entry.ids, ids), limit)
                    if n < MIN_SHARED or n < length:
                        continue
                    # On a tie a shared prefix beats another seat (no copy needed), never our own.
                    if n > length or (key[0] == _SHARED and best_key not in (None, own_key)):
                        best_key, best, length = key, entry, n
                if best_key is not None and best_key != own_key:
                    self.shared_hits += count
                    if best_key[0] == _SEAT:  # keep it beyond that seat's episode
                        best = SeatKV(best.ids[:length], best.kv[:, :, :, :length].clone())
                        best_key = self._add_shared(best)
                    if best_key is not None:
                        self._entries.move_to_end(best_key)
            if best is None or length <= 0:
                return None
            self.hits += count
            return best.crop(length)

    def put(self, seat: str, entry: SeatKV) -> None:
        """Keep ``entry`` for ``seat`` (replacing what was there), then evict down to the cap."""
        with self._lock:
            self._drop((_SEAT, seat))
            self._add((_SEAT, seat), entry)

    def share(self, entry: SeatKV) -> bool:
        """Keep ``entry`` as a shared prefix; ``False`` when sharing is off, when a shared prefix
        already covers it, or when it does not fit under the cap."""
        with self._lock:
            return self._add_shared(entry) is not None

    def end_episode(self, episode: str) -> int:
        """Drop every seat of ``episode`` (shared prefixes stay); returns how many were dropped."""
        prefix = f"{episode}/"
        with self._lock:
            keys = [k for k in self._entries if k[0] == _SEAT and k[1].startswith(prefix)]
            for key in keys:
                self._drop(key)
            return len(keys)

    def clear(self, shared: bool = True) -> None:
        """Drop every seat, and every shared prefix unless ``shared`` is false."""
        with self._lock:
            if shared:
                self._entries.clear()
                self._bytes = 0
                return
            for key in [k for k in self._entries if k[0] == _SEAT]:
                self._drop(key)

    def bind(self, owner: Any) -> None:
        """Drop everything unless ``owner`` (e.g. the model's weights version) is unchanged.

        Keys and values are only valid for the weights that computed them: a trainer that
        updates or swaps the model makes every cached seat stale.
        """
        with self._lock:
            if owner != self._owner:
                self._entries.clear()
                self._bytes = 0
                self._owner = owner

    # -- under the lock ----------------------------------------------------------------------

    def _add_shared(self, entry: SeatKV) -> tuple[str, str] | None:
        if not self.share_prefixes:
            return None
        for key, other in self._entries.items():
            if key[0] == _SHARED and common_prefix_length(other.ids, entry.ids) == entry.length:
                return None  # an equal or longer shared prefix already holds it
        shared = [k for k in self._entries if k[0] == _SHARED]
        for key in shared[: max(0, len(shared) - MAX_SHARED + 1)]:
            self._drop(key)
            self.evictions += 1
        self._shared_serial += 1
        key = (_SHARED, str(self._shared_serial))
        return key if self._add(key, entry) else None

    def _add(self, key: tuple[str, str], entry: SeatKV) -> bool:
        if entry.nbytes > self.max_bytes:
            return False
        self._entries[key] = entry
        self._bytes += entry.nbytes
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self.evictions += 1
        return key in self._entries

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.nbytes
