"""Per-seat KV caches: what each seat of each episode has already read, kept across turns.

A seat's next prompt starts with its previous one (the games append to the transcript and
never rewrite it), so the keys and values computed for the previous prompt can be reused and
only the new text prefilled. :class:`SeatCacheStore` keeps one :class:`SeatKV` per seat
(:attr:`~palaestra.envs.protocol.Observation.seat`, ``"<episode>/<role>"``), evicts the least
recently used seats once the total size passes a cap, and drops an episode's seats when the
episode ends (:meth:`SeatCacheStore.end_episode`).

Reuse is decided by token ids, never by trusting the text layout: the cached ids and the new
prompt's ids are compared, the longest common prefix is kept (the cache is cropped to it) and
the rest is prefilled. A seat whose text was rewritten therefore costs a longer prefill, never
a wrong answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_CACHE_MB", "SeatCacheStore", "SeatKV", "common_prefix_length"]

#: Default cap on the memory held by one agent's seat caches, in MiB.
DEFAULT_CACHE_MB = 2048


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
    """Seat caches of one agent, least recently used first out, under a memory cap.

    Args:
        max_bytes: Cap on the total size of the cached tensors. A seat larger than the cap on
            its own is not kept.

    Raises:
        ValueError: ``max_bytes`` is negative.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_MB * 2**20) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._seats: OrderedDict[str, SeatKV] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        #: Counters since creation: seats looked up, hits (some prefix reused), evictions.
        self.lookups = 0
        self.hits = 0
        self.evictions = 0
        self._owner: Any = None

    def __len__(self) -> int:
        return len(self._seats)

    def __contains__(self, seat: str) -> bool:
        return seat in self._seats

    @property
    def nbytes(self) -> int:
        """Total size of the cached tensors."""
        return self._bytes

    def lookup(self, seat: str, ids: list[int]) -> SeatKV | None:
        """The cached prefix of ``ids`` for ``seat``, cropped, or ``None`` when nothing matches.

        At least one token of ``ids`` is always left out of the returned prefix: generation
        needs the logits of the prompt's last token, so that token is prefilled again.
        """
        with self._lock:
            self.lookups += 1
            entry = self._seats.get(seat)
            if entry is None:
                return None
            self._seats.move_to_end(seat)
            length = min(common_prefix_length(entry.ids, ids), len(ids) - 1)
            if length <= 0:
                return None
            self.hits += 1
            return entry.crop(length)

    def put(self, seat: str, entry: SeatKV) -> None:
        """Keep ``entry`` for ``seat`` (replacing what was there), then evict down to the cap."""
        with self._lock:
            self._drop(seat)
            if entry.nbytes > self.max_bytes:
                return
            self._seats[seat] = entry
            self._bytes += entry.nbytes
            while self._bytes > self.max_bytes:
                oldest = next(iter(self._seats))
                self._drop(oldest)
                self.evictions += 1

    def end_episode(self, episode: str) -> int:
        """Drop every seat of ``episode``; returns how many were dropped."""
        prefix = f"{episode}/"
        with self._lock:
            seats = [s for s in self._seats if s.startswith(prefix)]
            for seat in seats:
                self._drop(seat)
            return len(seats)

    def clear(self) -> None:
        """Drop every seat."""
        with self._lock:
            self._seats.clear()
            self._bytes = 0

    def bind(self, owner: Any) -> None:
        """Drop everything unless ``owner`` (e.g. the model's weights version) is unchanged.

        Keys and values are only valid for the weights that computed them: a trainer that
        updates or swaps the model makes every cached seat stale.
        """
        with self._lock:
            if owner != self._owner:
                self._seats.clear()
                self._bytes = 0
                self._owner = owner

    def _drop(self, seat: str) -> None:
        entry = self._seats.pop(seat, None)
        if entry is not None:
            self._bytes -= entry.nbytes
