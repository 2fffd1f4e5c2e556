"""One event-loop wake-up per batch of gRPC completions, not one per completion.

grpc.aio hands gRPC core's completions to the event loop through a thread of its
own: for each completed operation (a message read or written, a call ended) that
thread queues the event and then writes one byte to a socket pair whose other end
the loop watches. grpc.aio's reader takes ONE byte per readiness and handles every
event queued at that moment. A busy loop therefore finds many bytes waiting (~170
on average at 64 clients x 100 events per transaction, measured here), handles
all their events on the first, and then wakes once for each remaining byte to
find nothing to do: an epoll_wait, a recv and a Python call per gRPC message.
perf put the epoll_wait and recv alone at ~15-18 % of the loop thread's CPU in
both the node and a bare grpc.aio server.

`coalesce_wakeups` puts a reader of ours in place of grpc.aio's for that socket:
it asks the kernel how many bytes wait, discards all but one, then calls
grpc.aio's own handler, which reads the last byte and handles the queue. Three
system calls per wake-up whatever the number of events behind it (~10 per
wake-up once the extra wake-ups are gone); see docs/BENCHMARKS.md, "2026-12-01
01:45", for what it gained.

Why no event is left behind: an event is queued before its byte is written, and
every byte this reader discards was counted before grpc.aio's handler runs, so
that handler's pass over the queue comes after each of those events was queued.
With one loop (a Ranvier process has one) the last byte is still there for the
handler to read; a count of zero (a spurious wake-up) reads nothing.

`on_wakeup` lets `loop_cpu` run a hook at each of these wake-ups, on the loop
thread, before the queue is handled (the poller thread following the loop's CPU).

It relies on grpc.aio internals (a completion queue with `bind_loop`, a
non-blocking read socket, a handler that takes the loop; grpcio 1.85 has them).
Where they are not as expected it changes nothing and says why, and a test
checks that it engages with the grpcio we install. `RANVIER_GRPC_WAKEUPS=stock` turns it off.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import functools
import gc
import os
import socket
import termios
from collections.abc import Callable, Mapping

from ranvier.switches import SwitchError, env_choice

ENV = "RANVIER_GRPC_WAKEUPS"
CHOICES = ("coalesce", "stock")


class WakeupChoiceError(SwitchError):
    pass


class _Unsupported(Exception):
    pass


_installed: _Coalescer | None = None  # the reader in place, once coalesce_wakeups ran


def wakeup_policy(environ: Mapping[str, str] = os.environ) -> str:
    """`coalesce` (the default) or `stock`, from RANVIER_GRPC_WAKEUPS."""
    return env_choice(environ, ENV, CHOICES, WakeupChoiceError)


def coalesce_wakeups(environ: Mapping[str, str] = os.environ) -> str:
    """Install the coalescing reader on the running loop; call it from the loop
    thread once a grpc.aio server or channel exists. Returns what the loop runs
    with, for the log: `coalesced`, or `stock (why)`."""
    if wakeup_policy(environ) != "coalesce":
        return f"stock ({ENV}=stock)"
    loop = asyncio.get_running_loop()
    try:
        queue = _poller_queue()
        read_socket = _read_socket(queue)
    except _Unsupported as exc:
        return f"stock ({exc})"
    queue.bind_loop(loop)  # registers grpc.aio's reader if this loop has none yet
    loop.remove_reader(read_socket)
    global _installed
    _installed = _Coalescer(read_socket.fileno(), functools.partial(queue._handle_events, loop))
    loop.add_reader(read_socket, _installed)
    return "coalesced"


def on_wakeup(hook: Callable[[], None] | None) -> bool:
    """Have `hook` called at each of the loop's wake-ups for gRPC completions,
    before they are handled (None: no hook). False when the coalescing reader is
    not installed, so there is nothing to hook into."""
    if _installed is None:
        return False
    _installed.hook = hook
    return True


class _Coalescer:
    """The reader: discard all waiting bytes but one, then let grpc.aio handle the queue."""

    __slots__ = ("_fd", "_handle", "_waiting", "hook")

    def __init__(self, fd: int, handle: Callable[[], None]) -> None:
        self._fd = fd
        self._handle = handle
        self._waiting = array.array("i", [0])
        self.hook: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.hook is not None:
            self.hook()
        fcntl.ioctl(self._fd, termios.FIONREAD, self._waiting, True)
        waiting = self._waiting[0]
        if waiting <= 0:
            return
        if waiting > 1:
            os.read(self._fd, waiting - 1)
        self._handle()


def _poller_queue() -> object:
    try:
        from grpc._cython import cygrpc
    except ImportError as exc:  # pragma: no cover - grpcio is a dependency
        raise _Unsupported(f"no grpc.aio ({exc})") from exc
    kind = getattr(cygrpc, "PollerCompletionQueue", None)
    if kind is None or not hasattr(kind, "bind_loop") or not hasattr(kind, "_handle_events"):
        raise _Unsupported("this grpcio's completion queue is not the expected kind")
    queues = [obj for obj in gc.get_objects() if type(obj) is kind and _open_reader(obj) is not None]
    if len(queues) != 1:
        raise _Unsupported(f"{len(queues)} grpc.aio completion queues in use, expected 1")
    return queues[0]


def _read_socket(queue: object) -> socket.socket:
    reader = _open_reader(queue)
    if reader is None:  # pragma: no cover - _poller_queue chose it for having one
        raise _Unsupported("grpc.aio's completion socket is not as expected")
    return reader


def _open_reader(queue: object) -> socket.socket | None:
    """The loop's end of the queue's socket pair: the non-blocking one of exactly two."""
    sockets = [ref for ref in gc.get_referents(queue) if isinstance(ref, socket.socket)]
    readers = [s for s in sockets if s.fileno() >= 0 and not s.getblocking()]
    if len(sockets) != 2 or len(readers) != 1:
        return None
    return readers[0]
