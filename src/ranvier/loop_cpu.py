"""RANVIER_LOOP_CPU: the event loop and grpc.aio's poller thread on one CPU.

Every gRPC message a node receives or sends passes from gRPC core to grpc.aio's
poller thread, which wakes the event loop (`grpc_wakeups`); every operation the
loop starts wakes that thread again. Where the two run on different CPUs, each
of those wake-ups crosses CPUs: an inter-processor interrupt and a CPU coming
out of idle, which in a VM is an exit to the hypervisor. On the 2-vCPU VM of
docs/BENCHMARKS.md ("2026-12-01 03:50") keeping the two on one CPU made a node
1.4-3.5x faster: appends of 100 events from 1 / 16 / 64 clients 10.7k / 53k /
69k -> 36k / 98k / 96k events/s, a replay from token 0 11.5k -> 40k events/s.
A bare grpc.aio server gained as much or more. Left to the scheduler, the two
landed on one CPU in some runs and not in others (a replay ran at ~12k or ~35k
events/s from run to run).

Values:
- `follow` (the default): the loop thread stays free and the poller thread
  follows it. At each of the loop's wake-ups for gRPC completions (a hook in
  `grpc_wakeups`' reader) the loop reads which CPU it is on (`sched_getcpu`,
  ~0.15 us through ctypes) and, when that changed, moves the poller there (one
  `sched_setaffinity`). No CPU is named, so nodes sharing a machine do not pile
  onto one; the scheduler still balances the loop. Needs the coalescing reader
  (`RANVIER_GRPC_WAKEUPS=coalesce`) and more than one CPU, else does nothing
  and says why.
- a CPU number this process may run on: both threads confined to it for good.
- `none`: the scheduler places both.

Only those two threads are placed: gRPC's I/O threads and ours (the fsync
thread, the indexer, zero-writers, executor threads) keep the CPUs the process
started with. Threads start with their creator's CPUs, so once the loop thread
is confined ours set their own back (`free_this_thread`, and the fsync thread
in C); a thread gRPC starts later from the loop thread stays on the loop's CPU.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from ranvier import grpc_wakeups
from ranvier.switches import SwitchError

ENV = "RANVIER_LOOP_CPU"
FOLLOW = "follow"
DEFAULT = FOLLOW

Placement = int | str | None  # a CPU, FOLLOW, or None (the scheduler's choice)


log = logging.getLogger(__name__)


class LoopCpuError(SwitchError):
    pass


# The CPUs this process may use, read at import (before any thread is confined):
# what helper threads go back to.
_PROCESS_CPUS: frozenset[int] = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()
_confined = False  # set once the loop thread was confined


def loop_cpu(environ: Mapping[str, str] = os.environ) -> Placement:
    """What RANVIER_LOOP_CPU asks for: a CPU, FOLLOW (also when unset), or None for `none`."""
    value = environ.get(ENV, DEFAULT).strip().lower() or DEFAULT
    if value == "none":
        return None
    if value == FOLLOW:
        return FOLLOW
    try:
        cpu = int(value)
    except ValueError:
        cpu = -1
    if cpu < 0:
        raise LoopCpuError(f"{ENV}={value!r}: expected follow, none or a CPU number")
    if not hasattr(os, "sched_setaffinity"):
        raise LoopCpuError(f"{ENV}={value!r}: this platform cannot confine threads to a CPU")
    if cpu not in _PROCESS_CPUS:
        allowed = ", ".join(map(str, sorted(_PROCESS_CPUS)))
        raise LoopCpuError(f"{ENV}={value!r}: this process may run on CPUs {allowed} only")
    return cpu


def describe(cpu: Placement) -> str:
    if cpu is None:
        return "any CPU"
    if cpu == FOLLOW:
        return "any CPU, gRPC poller following it"
    return f"CPU {cpu}, gRPC poller too"


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
        return f"any CPU (no single grpc.aio poller thread found, {len(pollers)})"
    if cpu == FOLLOW:
        return _follow(pollers[0])
    assert isinstance(cpu, int)
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


def _follow(poller: int) -> str:
    if not _PROCESS_CPUS:
        return f"{describe(None)} (thread CPU affinity is Linux's)"
    if len(_PROCESS_CPUS) < 2:
        return f"{describe(None)} (one CPU: nothing to follow)"
    try:
        getcpu = _sched_getcpu()
    except (OSError, AttributeError) as exc:
        return f"{describe(None)} (no sched_getcpu here: {exc})"
    follower = PollerFollower(poller, getcpu)
    if not grpc_wakeups.on_wakeup(follower):
        return f"{describe(None)} (following needs {grpc_wakeups.ENV}=coalesce)"
    follower()
    return describe(FOLLOW)


def _sched_getcpu() -> Callable[[], int]:
    libc = ctypes.CDLL(None, use_errno=True)
    getcpu = libc.sched_getcpu
    getcpu.restype = ctypes.c_int
    getcpu.argtypes = []
    if getcpu() < 0:
        raise OSError(ctypes.get_errno(), "sched_getcpu failed")
    return getcpu  # type: ignore[no-any-return]


class PollerFollower:
    """Called on the loop thread at each wake-up: moves the poller thread to the
    CPU the loop runs on when that changed. Invariant: `cpu` is the CPU the
    poller was last confined to (-1 before the first call)."""

    __slots__ = ("poller", "_getcpu", "cpu", "moves")

    def __init__(self, poller: int, getcpu: Callable[[], int]) -> None:
        self.poller = poller
        self._getcpu = getcpu
        self.cpu = -1
        self.moves = 0

    def __call__(self) -> None:
        cpu = self._getcpu()
        if cpu == self.cpu:
            return
        try:
            os.sched_setaffinity(self.poller, {cpu})
        except OSError as exc:  # the CPU left the process's set (a container resized): stop following
            grpc_wakeups.on_wakeup(None)
            log.warning("gRPC poller thread no longer follows the event loop: %s", exc)
            return
        self.cpu = cpu
        self.moves += 1
