"""ConsistentHash: Axon's ring, stable placement and load-factor weighting."""

from __future__ import annotations

import hashlib
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from ranvier.messaging.hashing import ConsistentHash, md5_hex, points_for

members = st.dictionaries(st.text(min_size=1, max_size=8), st.integers(min_value=1, max_value=50), min_size=1, max_size=6)
keys = st.lists(st.text(max_size=12), min_size=1, max_size=30)


def test_hash_is_axon_md5_hex() -> None:
    assert md5_hex("order-1") == hashlib.md5(b"order-1").hexdigest()
    assert len(md5_hex("")) == 32


def test_load_factor_zero_means_axon_default_and_is_capped() -> None:
    assert points_for(0) == 100
    assert points_for(-5) == 100
    assert points_for(7) == 7
    assert points_for(10**9) == 10_000


def test_empty_ring_has_no_member() -> None:
    assert ConsistentHash().member_for("x") is None


def test_routing_key_goes_to_first_point_at_or_after_its_hash() -> None:
    ring = ConsistentHash({"a": 3, "b": 3})
    points = sorted((md5_hex(f"{m} #{i}"), m) for m in "ab" for i in range(3))
    for key in ("k1", "k2", "k3", "zz"):
        h = md5_hex(key)
        expected = next((m for p, m in points if p >= h), points[0][1])
        assert ring.member_for(key) == expected


@given(members, keys)
def test_placement_is_stable_and_independent_of_insertion_order(m: dict[str, int], ks: list[str]) -> None:
    ring = ConsistentHash(m)
    reordered = ConsistentHash(dict(reversed(list(m.items()))))
    built = ConsistentHash()
    for name, lf in m.items():
        built = built.with_member(name, lf)
    for key in ks:
        assert ring.member_for(key) == reordered.member_for(key) == built.member_for(key) == ring.member_for(key)
        assert ring.member_for(key) in m


@given(members, st.text(min_size=1, max_size=8), st.integers(1, 50), keys)
def test_adding_a_member_moves_keys_only_to_it(m: dict[str, int], new: str, lf: int, ks: list[str]) -> None:
    if new in m:
        return
    before = ConsistentHash(m)
    after = before.with_member(new, lf)
    for key in ks:
        assert after.member_for(key) in (before.member_for(key), new)
    assert after.without(new).member_for(ks[0]) == before.member_for(ks[0])


@settings(max_examples=10, deadline=None)
@given(st.integers(min_value=2, max_value=4))
def test_load_factor_weighs_the_share_of_keys(weight: int) -> None:
    ring = ConsistentHash({"light": 100, "heavy": 100 * weight})
    counts = Counter(ring.member_for(f"key-{i}") for i in range(4000))
    share = counts["heavy"] / 4000
    expected = weight / (weight + 1)
    assert abs(share - expected) < 0.12, (share, expected)
