"""The asyncio event loop a Ranvier process runs on.

Everything in Ranvier is plain asyncio; only the loop underneath is chosen here.
uvloop (libuv under the asyncio API) costs less per callback, timer and socket
event than the standard loop, and a node's main thread is where every gRPC message
is handled: on the append benchmark (64 clients x 100 events per transaction) the
node took 20-25 % more events/s on uvloop, and the full test suite ran on it
unchanged (docs/BENCHMARKS.md). It is a dependency wherever it builds (not on
Windows). `RANVIER_EVENT_LOOP` chooses: `auto` (uvloop when importable, the
default), `uvloop` (fail when missing) or `asyncio` (the standard loop).

The loop's helper threads are scheduled here too (`schedule_helper_threads`,
`RANVIER_HELPER_THREADS`): see there why they run under SCHED_BATCH.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from ranvier.switches import SwitchError, env_choice

T = TypeVar("T")

ENV = "RANVIER_EVENT_LOOP"
CHOICES = ("auto", "uvloop", "asyncio")
THREADS_ENV = "RANVIER_HELPER_THREADS"
THREAD_CHOICES = ("batch", "normal")


class EventLoopChoiceError(SwitchError):
    pass


def loop_factory(
    environ: Mapping[str, str] = os.environ,
) -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """(name, factory) of the loop to run on; factory None means asyncio's default."""
    choice = env_choice(environ, ENV, CHOICES, EventLoopChoiceError)
    if choice == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError as exc:
        if choice == "uvloop":
            raise EventLoopChoiceError(f"{ENV}=uvloop but uvloop is not installed ({exc})") from exc
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the chosen loop."""
    _name, factory = loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def helper_thread_policy(environ: Mapping[str, str] = os.environ) -> str:
    """`batch` (the default) or `normal`, from RANVIER_HELPER_THREADS."""
    return env_choice(environ, THREADS_ENV, THREAD_CHOICES, EventLoopChoiceError)


def schedule_helper_threads(environ: Mapping[str, str] = os.environ) -> int:
    """Put every thread of this process but the calling one (the event loop's) under
    SCHED_BATCH; returns how many were changed. Call it from the loop thread once
    the gRPC servers have started, when gRPC's threads exist.

    Why: grpc.aio completes every operation (each message read or written) on its
    poller thread, which hands it to the event loop. A normal thread that wakes
    preempts the thread running on its CPU, so where the poller and the loop
    share a CPU each gRPC message cost a pair of context switches (measured 1.1
    voluntary + 1.05 involuntary per message, about half of a bare server's CPU
    in the kernel). A SCHED_BATCH thread keeps its CPU share (same nice value)
    but does not preempt on wake-up: completions queue while the loop is busy
    and are handed over many at a time (0.07 switches per message). Pinned to
    one CPU this took a node's appends from ~42k to ~65k events/s at 16-64
    clients x 100 events and a bare grpc.aio server's from ~58k to ~91k; with a
    CPU each (two cores, unpinned) it changed nothing measurable, and a lone
    client's one-event appends got no slower (docs/BENCHMARKS.md, "2026-11-30
    12:13-12:51"). Linux only; threads the loop starts later (executors,
    indexers) keep the normal policy they inherit. Threads under another
    policy (real-time, idle) are left as they are.
    """
    if helper_thread_policy(environ) != "batch" or not hasattr(os, "SCHED_BATCH"):
        return 0
    try:
        tids = [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return 0
    loop_thread = threading.get_native_id()
    changed = 0
    for tid in tids:
        if tid == loop_thread:
            continue
        try:
            if os.sched_getscheduler(tid) == os.SCHED_OTHER:
                os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))
                changed += 1
        except OSError:  # the thread ended meanwhile, or its policy is not ours to change
            continue
    return changed
