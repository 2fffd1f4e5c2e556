"""`ranvier bench --pin S:C`: the servers on CPUs S, the load generator on CPUs C.

On a small shared machine the scheduler decides a lot. With two cores, a server
stream (replay, and the bare server's ceiling) runs in one of two modes: about
12k messages/s when the server's event-loop thread and gRPC's poller thread are
spread over both cores and share them with the client, about 25k when they stay
on one core and the client has the other (measured 2026-11-30; see
docs/BENCHMARKS.md). Unpinned runs land in either mode, run by run, so a ratio
can compare a fast sample with a slow one. Pinning fixes the placement for both
sides of every ratio alike: the node and the bare server on the server CPUs,
every load-generator process on the client CPUs. It also takes the client off
the servers' cores, so what is measured is the server.

It changes what a server can use: pinned to one core, a node's gRPC threads no
longer run beside its event loop, which costs appends about half their rate
(and the bare server the same). Pinned and unpinned results are different
measurements, each labelled.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Placement:
    server: frozenset[int]
    client: frozenset[int]

    def describe(self) -> str:
        return f"servers on CPU {_cpus(self.server)}, load generator on CPU {_cpus(self.client)}"


def parse_pin(text: str, available: frozenset[int] | None = None) -> Placement:
    """'0:1' or '0,1:2-3' -> Placement. Raises ValueError for a malformed list, a CPU
    this process may not use, or CPUs given to both sides."""
    if available is None:
        available = frozenset(os.sched_getaffinity(0))
    server_text, sep, client_text = text.partition(":")
    if not sep:
        raise ValueError(f"--pin wants SERVER_CPUS:CLIENT_CPUS (e.g. 0:1), not {text!r}")
    server, client = _parse_cpus(server_text), _parse_cpus(client_text)
    unknown = (server | client) - available
    if unknown:
        raise ValueError(f"--pin names CPU {_cpus(frozenset(unknown))}, which this process cannot use "
                         f"(available: {_cpus(available)})")
    if server & client:
        raise ValueError(f"--pin gives CPU {_cpus(server & client)} to both the servers and the client")
    return Placement(server, client)


def _parse_cpus(text: str) -> frozenset[int]:
    cpus: set[int] = set()
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            low = int(first)
            high = int(last) if dash else low
        except ValueError:
            raise ValueError(f"bad CPU list {text!r}") from None
        if low < 0 or high < low:
            raise ValueError(f"bad CPU range {part!r}")
        cpus.update(range(low, high + 1))
    return frozenset(cpus)


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def pin_process(pid: int, cpus: frozenset[int]) -> int:
    """Pin every thread `pid` has now; threads it starts later inherit the mask of
    the thread that starts them. Returns the number of threads pinned."""
    pinned = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
            pinned += 1
        except (ProcessLookupError, ValueError):
            continue  # the thread ended meanwhile
    return pinned


def pinned_start(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A `preexec_fn` that pins a child before it runs (None: no pinning)."""
    if cpus is None:
        return None
    mask = set(cpus)
    return lambda: os.sched_setaffinity(0, mask)
