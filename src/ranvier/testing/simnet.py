"""A seeded, simulated network for the Raft simulator.

Time is an integer number of milliseconds. Each directed link can be cut;
messages may be lost, duplicated, delayed (and so reordered). Everything
random comes from one `random.Random`, so a seed replays exactly.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Generic, TypeVar

from ranvier.raft import Message

T = TypeVar("T")


@dataclass
class Faults:
    """Current fault settings; the simulator's nemesis changes them over time."""

    loss: float = 0.0  # probability that a message is dropped
    duplicate: float = 0.0  # probability that a message is delivered twice
    min_delay: int = 1  # ms
    max_delay: int = 20  # ms; a wide range reorders messages


class EventQueue(Generic[T]):
    """Items ordered by time, then by insertion: deterministic ties.

    Plain tuples on a heap: the sequence number breaks ties before the item
    would ever be compared."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, T]] = []
        self._seq = 0

    def push(self, at: int, item: T) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, item))

    def peek_time(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def pop(self) -> tuple[int, T]:
        at, _, item = heapq.heappop(self._heap)
        return at, item

    def __len__(self) -> int:
        return len(self._heap)


class SimNetwork:
    """Directed links between node ids with per-message fault injection."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.faults = Faults()
        # Directed links (from, to) that currently drop everything.
        self.cut: set[tuple[int, int]] = set()
        self.queue: EventQueue[Message] = EventQueue()
        self.sent = 0
        self.dropped = 0

    def send(self, m: Message, now: int) -> None:
        self.sent += 1
        f = self.faults
        if (m.from_, m.to) in self.cut or (f.loss and self.rng.random() < f.loss):
            self.dropped += 1
            return
        self.queue.push(now + self._delay(), m)
        if f.duplicate and self.rng.random() < f.duplicate:
            self.queue.push(now + self._delay(), m)

    def _delay(self) -> int:
        f = self.faults
        return f.min_delay + int(self.rng.random() * (f.max_delay - f.min_delay + 1))

    def deliverable(self, m: Message) -> bool:
        """Links cut while a message was in flight drop it too."""
        return (m.from_, m.to) not in self.cut

    # ---- topologies ----

    def heal(self) -> None:
        self.cut.clear()

    def partition(self, groups: list[list[int]]) -> None:
        """Symmetric partition: no traffic between different groups."""
        self.cut.clear()
        for i, a in enumerate(groups):
            for b in groups[i + 1 :]:
                for x in a:
                    for y in b:
                        self.cut.add((x, y))
                        self.cut.add((y, x))

    def cut_one_way(self, frm: int, to: int) -> None:
        self.cut.add((frm, to))

    def bridge(self, ids: list[int], bridge: int) -> None:
        """Every node reaches `bridge`, but the others are split into two
        halves that cannot reach each other (a partial partition, P8)."""
        self.cut.clear()
        others = [i for i in ids if i != bridge]
        half = len(others) // 2
        left, right = others[:half], others[half:]
        for x in left:
            for y in right:
                self.cut.add((x, y))
                self.cut.add((y, x))
