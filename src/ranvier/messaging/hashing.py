"""Axon Server's consistent hash for command routing.

Each handler owns `load_factor` points on a ring of MD5 hex strings, the points being
the hashes of `"<member> #<i>"`; a routing key goes to the first point at or after its
own hash, wrapping around. Using the same hash function and point names as Axon
Server means a routing key lands on the same handler, given the same members, and
adding or removing a member moves only the keys next to its points. A handler with
twice the load factor owns twice the points and so, on average, twice the keys.

Pure: no I/O, no asyncio; a ring is immutable and rebuilt when membership changes.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Mapping

DEFAULT_LOAD_FACTOR = 100  # Axon's value for a subscription that sends 0
MAX_LOAD_FACTOR = 10_000  # NB: Axon has no cap; ours keeps a hostile client from building a huge ring


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def points_for(load_factor: int) -> int:
    """The number of ring points a subscription's load factor gives."""
    if load_factor <= 0:
        return DEFAULT_LOAD_FACTOR
    return min(load_factor, MAX_LOAD_FACTOR)


class ConsistentHash:
    """An immutable ring over members (names) with weights (load factors)."""

    def __init__(self, members: Mapping[str, int] | None = None) -> None:
        self.members: dict[str, int] = dict(members or {})
        ring: list[tuple[str, str]] = []
        for member, load_factor in self.members.items():
            ring.extend((md5_hex(f"{member} #{i}"), member) for i in range(points_for(load_factor)))
        ring.sort()
        self._hashes = [h for h, _m in ring]
        self._owners = [m for _h, m in ring]

    def with_member(self, member: str, load_factor: int) -> ConsistentHash:
        if self.members.get(member) == load_factor:
            return self
        return ConsistentHash({**self.members, member: load_factor})

    def without(self, member: str) -> ConsistentHash:
        if member not in self.members:
            return self
        return ConsistentHash({m: lf for m, lf in self.members.items() if m != member})

    def member_for(self, routing_key: str) -> str | None:
        """The member owning `routing_key`, or None when the ring is empty."""
        if not self._hashes:
            return None
        index = bisect.bisect_left(self._hashes, md5_hex(routing_key))
        return self._owners[index % len(self._owners)]

    def __len__(self) -> int:
        return len(self.members)
