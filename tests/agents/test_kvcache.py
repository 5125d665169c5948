from __future__ import annotations

import pytest
import torch

from palaestra.agents.kvcache import SeatCacheStore, SeatKV, common_prefix_length


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
