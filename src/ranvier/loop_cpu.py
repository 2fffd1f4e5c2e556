"""RANVIER_LOOP_CPU: the event loop and grpc.aio's poller thread on one CPU.

Every gRPC message a node receives or sends passes from gRPC core to grpc.aio's
poller thread, which wakes the event loop (`grpc_wakeups`); every operation the
loop starts wakes that thread again. Where the two run on different CPUs, each
of those wake-ups crosses CPUs: an inter-processor interrupt and a CPU coming
out of idle, which in a VM is an exit to the hypervisor. On the 2-vCPU VM of
docs/BENCHMARKS.md ("2026-12-01 03:50") keeping the two on one CPU made a node
1.4-3.5x faster: appends of 100 events from 1 / 16 / 64 clients 10.7k / 53k /
69k -> 36k / 98k / 96k events/s, a replay from token 0 11.5k -> 40k events/s.
A bare grpc.aio server gained as much or more.

It is off by default because it names a CPU: several nodes on one machine (a
dev cluster, tests) given the same CPU would share it, and how much a
cross-CPU wake-up costs differs between machines. Values: `none` (default) or
a CPU number this process may run on. Only the two threads are confined:
gRPC's I/O threads and ours (the fsync thread, the indexer, zero-writers,
executor threads) keep the CPUs the process started with. Threads start with
their creator's CPUs, so ours set their own back (`free_this_thread`, and the
fsync thread in C); a thread gRPC starts later from the loop thread stays on
the loop's CPU.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from ranvier.switches import SwitchError

ENV = "RANVIER_LOOP_CPU"


class LoopCpuError(SwitchError):
    pass


# The CPUs this process may use, read at import (before any thread is confined):
# what helper threads go back to.
_PROCESS_CPUS: frozenset[int] = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()
_confined = False  # set once the loop thread was confined


def loop_cpu(environ: Mapping[str, str] = os.environ) -> int | None:
    """The CPU RANVIER_LOOP_CPU names, or None for `none`/unset."""
    value = environ.get(ENV, "none").strip().lower() or "none"
    if value == "none":
        return None
    try:
        cpu = int(value)
    except ValueError:
        cpu = -1
    if cpu < 0:
        raise LoopCpuError(f"{ENV}={value!r}: expected none or a CPU number")
    if not hasattr(os, "sched_setaffinity"):
        raise LoopCpuError(f"{ENV}={value!r}: this platform cannot confine threads to a CPU")
    if cpu not in _PROCESS_CPUS:
        allowed = ", ".join(map(str, sorted(_PROCESS_CPUS)))
        raise LoopCpuError(f"{ENV}={value!r}: this process may run on CPUs {allowed} only")
    return cpu


def describe(cpu: int | None) -> str:
    return "any CPU" if cpu is None else f"CPU {cpu}"


def confine_loop_and_poller(environ: Mapping[str, str] = os.environ) -> str:
    """Put the calling thread (the event loop's) and grpc.aio's poller thread on
    the CPU RANVIER_LOOP_CPU names; call it from the loop thread once a gRPC
    server has started. Returns what was done, for the log."""
    global _confined
    cpu = loop_cpu(environ)
    if cpu is None:
        return f"{describe(None)} ({ENV}=none)"
    pollers = [t.native_id for t in threading.enumerate() if "_poll_wrapper" in t.name and t.native_id]
    if len(pollers) != 1:  # grpc.aio names the thread after its target; not found: change nothing
        return f"any (no single grpc.aio poller thread found, {len(pollers)})"
    os.sched_setaffinity(0, {cpu})  # 0: the calling thread
    os.sched_setaffinity(pollers[0], {cpu})
    _confined = True
    # asyncio.to_thread's workers would start on the loop's CPU.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(initializer=free_this_thread))
    return f"event loop and gRPC poller on CPU {cpu}"


def process_cpus() -> frozenset[int]:
    """The CPUs this process may use: once the loop thread is confined, the ones
    it started with (the calling thread's own set may then be the one CPU);
    before, the calling thread's."""
    if _confined or not hasattr(os, "sched_getaffinity"):
        return _PROCESS_CPUS
    return frozenset(os.sched_getaffinity(0))


def free_this_thread() -> None:
    """Give the calling helper thread the process's CPUs back (it started with its
    creator's: the loop's one CPU once `confine_loop_and_poller` ran)."""
    if _confined:
        try:
            os.sched_setaffinity(0, _PROCESS_CPUS)
        except OSError:  # pragma: no cover - the set was valid at start-up
            pass
