from __future__ import annotations

import pytest
import torch

from palaestra.agents.kvcache import (
    MAX_SHARED,
    MIN_SHARED,
    SeatCacheStore,
    SeatKV,
    common_prefix_length,
)


def _entry(ids: list[int]) -> SeatKV:
    """An entry of 8 bytes per token: (layers=1, 2, heads=1, len, dim=1) float32."""
    kv = torch.arange(2 * len(ids), dtype=torch.float32).reshape(1, 2, 1, len(ids), 1)
    return SeatKV(list(ids), kv)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([], [1], 0),
        ([1, 2, 3], [1, 2, 3], 3),
        ([1, 2, 3, 4], [1, 2, 5], 2),
        ([7], [8], 0),
        (list(range(200)), [*range(130), 0], 130),  # across the 64-token blocks
        (list(range(128)), [*range(128), 5, 6], 128),
    ],
)
def test_common_prefix_length(a, b, expected):
    assert common_prefix_length(a, b) == expected
    assert common_prefix_length(b, a) == expected


def test_lookup_crops_to_the_common_prefix_and_leaves_the_last_token():
    store = SeatCacheStore()
    store.put("ep/alice", _entry([1, 2, 3, 4, 5]))
    hit = store.lookup("ep/alice", [1, 2, 3, 9, 9, 9])
    assert hit.ids == [1, 2, 3] and hit.kv.shape == (1, 2, 1, 3, 1)
    assert hit.kv[0, 1, 0, :, 0].tolist() == [5.0, 6.0, 7.0]  # values of the first 3 tokens
    # The same prompt again: its last token is prefilled again (its logits are needed).
    assert store.lookup("ep/alice", [1, 2, 3, 4, 5]).ids == [1, 2, 3, 4]
    assert store.lookup("ep/alice", [9, 1, 2]) is None
    assert store.lookup("ep/bob", [1, 2, 3]) is None
    assert (store.lookups, store.hits) == (4, 2)


def test_least_recently_used_seat_is_evicted_beyond_the_cap():
    store = SeatCacheStore(max_bytes=100)  # 8 bytes per token: 12 tokens fit
    store.put("a/x", _entry([1, 2, 3, 4, 5]))  # 40 bytes
    store.put("b/x", _entry([1, 2, 3, 4, 5]))  # 80
    store.lookup("a/x", [1, 2, 3])  # a is now the most recently used
    store.put("c/x", _entry([1, 2, 3, 4, 5]))  # 120 > 100: b goes
    assert "b/x" not in store and "a/x" in store and "c/x" in store
    assert store.nbytes == 80 and store.evictions == 1
    store.put("a/x", _entry([1, 2]))  # replacing an entry frees the old one
    assert store.nbytes == 56


def test_an_entry_bigger_than_the_cap_is_not_kept():
    store = SeatCacheStore(max_bytes=30)
    store.put("a/x", _entry([1, 2, 3, 4]))  # 32 bytes
    assert len(store) == 0 and store.nbytes == 0
    store = SeatCacheStore(max_bytes=0)
    store.put("a/x", _entry([1]))
    assert len(store) == 0


def test_end_episode_drops_only_that_episode():
    store = SeatCacheStore()
    for seat in ("ep1/alice", "ep1/bob", "ep10/alice", "ep2/bob"):
        store.put(seat, _entry([1, 2]))
    assert store.end_episode("ep1") == 2
    assert sorted(s for s in ("ep1/alice", "ep1/bob", "ep10/alice", "ep2/bob") if s in store) == [
        "ep10/alice",
        "ep2/bob",
    ]
    assert store.nbytes == 32
    store.clear()
    assert len(store) == 0 and store.nbytes == 0


def test_bind_drops_everything_when_the_owner_changes():
    store = SeatCacheStore()
    store.bind("weights-1")
    store.put("a/x", _entry([1, 2]))
    store.bind("weights-1")
    assert "a/x" in store
    store.bind("weights-2")
    assert len(store) == 0 and store.nbytes == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_bytes"):
        SeatCacheStore(max_bytes=-1)
    with pytest.raises(ValueError, match="crop length"):
        _entry([1, 2]).crop(3)


# -- prefixes shared between seats -------------------------------------------------------------

RULES = list(range(100, 100 + MIN_SHARED + 8))  # a prefix long enough to be shared


def test_a_first_turn_reuses_another_seats_prefix_and_keeps_it_shared():
    store = SeatCacheStore()
    store.put("ep1/alice", _entry([*RULES, 1, 2, 3]))
    hit = store.lookup("ep1/bob", [*RULES, 7, 8])
    assert hit.ids == RULES and hit.kv.shape[3] == len(RULES)
    # Keys and values come from alice's tensor (same positions, same tokens).
    assert hit.kv[0, 0, 0, :, 0].tolist() == [float(i) for i in range(len(RULES))]
    assert (store.shared, store.shared_hits, len(store)) == (1, 1, 1)
    # The shared copy outlives alice's episode and serves the next one.
    assert store.end_episode("ep1") == 1
    assert store.lookup("ep2/alice", [*RULES, 9]).ids == RULES
    assert store.shared == 1 and store.nbytes == 8 * len(RULES)


def test_short_common_prefixes_are_not_shared_and_sharing_can_be_off():
    store = SeatCacheStore()
    store.put("ep1/alice", _entry([*RULES[: MIN_SHARED - 1], 1]))
    assert store.lookup("ep1/bob", [*RULES[: MIN_SHARED - 1], 2]) is None
    off = SeatCacheStore(share_prefixes=False)
    off.put("ep1/alice", _entry([*RULES, 1]))
    assert off.lookup("ep1/bob", [*RULES, 2]) is None
    assert off.share(_entry(RULES)) is False and off.shared == 0


def test_the_seats_own_cache_wins_ties_and_a_longer_shared_prefix_wins_otherwise():
    store = SeatCacheStore()
    store.put("ep1/alice", _entry([*RULES, 1]))
    assert store.share(_entry([*RULES, 1, 2]))
    # Own cache: RULES + [1], the longest possible (the last token is left out): own wins.
    assert store.lookup("ep1/alice", [*RULES, 1, 5]).ids == [*RULES, 1]
    assert store.shared_hits == 0
    # A new seat: the shared prefix matches as far as alice's cache does; no new copy is made.
    assert store.lookup("ep2/alice", [*RULES, 1, 2, 3]).ids == [*RULES, 1, 2]
    assert store.shared == 1 and store.shared_hits == 1
    # seat=None looks only at what is shared.
    assert store.lookup(None, [*RULES, 1, 2, 3]).ids == [*RULES, 1, 2]


def test_shared_prefixes_are_deduplicated_capped_and_dropped_with_the_weights():
    store = SeatCacheStore()
    assert store.share(_entry([*RULES, 1, 2]))
    assert not store.share(_entry([*RULES, 1]))  # already covered by a longer one
    for i in range(MAX_SHARED + 3):
        store.share(_entry([*RULES, 1000 + i]))
    assert store.shared == MAX_SHARED
    store.bind("weights-1")
    assert store.shared == 0 and store.nbytes == 0


def test_a_look_ahead_leaves_the_counters_alone():
    store = SeatCacheStore()
    store.put("ep1/alice", _entry([*RULES, 1]))
    assert store.lookup("ep1/bob", [*RULES, 2], count=False).ids == RULES
    assert (store.lookups, store.hits, store.shared_hits) == (0, 0, 0)
    assert store.lookup("ep1/bob", [*RULES, 2]).ids == RULES
    assert (store.lookups, store.hits, store.shared_hits) == (1, 1, 1)
