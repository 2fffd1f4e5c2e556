"""Where the committer's fsyncs run: off the event loop thread, and without the GIL.

`asyncio.to_thread(store.sync)` puts a Python worker thread between the loop and
the fsync, and that thread needs the GIL before and after the call, while the loop
thread holds it nearly all the time under load. Measured on 2 shared vCPUs at
~500 fsyncs/s (16 clients x 100 events, no commit window): the loop thread's CPU
per event rose from ~11 to ~13.5 us with the hop, i.e. ~300 us per fsync. With
`_syncer.c` the fsyncs run on a C thread that never takes the GIL and reports
through an eventfd the loop watches, so the loop pays one readable callback.

`Syncer.sync(store)` is the same contract as `store.sync()` run in a thread: it
makes durable what was dirty when it started, first writing the records the
store left to it (`take_writes`, see `SegmentedLog.defer_writes`), and raises
`StorageWriteFailed` (the store marked failed) when a write or an fsync fails.
`Syncer.sync_now(store)` runs the same request on the calling thread with the
GIL released, for the committer's lone transaction (see committer.py). Without
the extension (no C compiler, or `RANVIER_NATIVE=python`) `sync` runs
`store.sync` in asyncio's worker thread, as before, and `sync_now` is not used.
"""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from . import native
from .store import ContextStore


def load() -> ModuleType | None:
    """`_syncer` when built and allowed by RANVIER_NATIVE; None for the fallback."""
    try:
        return native.load(name="_syncer")
    except native.NativeChoiceError:
        return None  # a bad RANVIER_NATIVE value is reported at start-up (ranvier.main)


class Syncer:
    """One context's fsyncs, one at a time (the committer's single writer)."""

    def __init__(self, module: ModuleType | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._module = module
        self._c: Any = module.Syncer() if module is not None else None
        self._future: asyncio.Future[int] | None = None
        self._dir_fd = -1
        if self._c is not None:
            self._loop.add_reader(self._c.fileno(), self._on_ready)

    @property
    def native(self) -> bool:
        return self._c is not None

    async def sync(self, store: ContextStore) -> None:
        if self._c is None:
            await asyncio.to_thread(store.sync)
            return
        request = _take_request(store)
        if request is None:
            return
        try:
            error = await self._run(*request)
        except OSError as exc:  # the directory could not even be opened
            raise store.sync_failed(exc) from exc
        except (ValueError, TypeError, MemoryError) as exc:  # refused: the writes taken are lost
            raise _refused(store, exc) from exc
        _raise_for(store, error)

    def sync_now(self, store: ContextStore) -> None:
        """The same request run on the calling (loop) thread, with the GIL
        released, for a writer that has nothing else to do meanwhile: it saves
        the two cross-thread wake-ups of `sync` (~60 us here). Only with the C
        module (`native`), and never while a `sync` is in flight."""
        if self._c is None or self._future is not None:
            raise RuntimeError("sync_now needs the C module and no sync in flight")
        request = _take_request(store)
        if request is None:
            return
        fds, directory, writes = request
        try:
            full = [os.open(directory, os.O_RDONLY)] if directory is not None else []
        except OSError as exc:
            raise store.sync_failed(exc) from exc
        try:
            error = self._module.sync_now(fds, full, writes)
        except (ValueError, TypeError, MemoryError) as exc:
            raise _refused(store, exc) from exc
        finally:
            for fd in full:
                os.close(fd)
        _raise_for(store, error)

    async def _run(self, fds: list[int], directory: Path | None, writes: list[tuple[int, Any, int]]) -> int:
        if self._future is not None:
            raise RuntimeError("a sync is already in progress")
        full = []
        if directory is not None:
            self._dir_fd = os.open(directory, os.O_RDONLY)
            full.append(self._dir_fd)
        future = self._future = self._loop.create_future()
        try:
            self._c.submit(fds, full, writes)
        except BaseException:
            self._future = None
            self._release_dir()
            raise
        # If the caller is cancelled here, the thread still finishes the request;
        # _on_ready then collects it and closes the directory fd.
        return await future

    def _on_ready(self) -> None:
        error = self._c.result()
        if error is None:
            return
        self._finish(error)

    def _finish(self, error: int) -> None:
        future, self._future = self._future, None
        self._release_dir()
        if future is not None and not future.done():
            future.set_result(error)

    def _release_dir(self) -> None:
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    def close(self) -> None:
        """Stop the thread; a request in flight finishes first and is reported
        here (its fds stay open until then: close the store after this)."""
        if self._c is None:
            return
        self._loop.remove_reader(self._c.fileno())
        self._c.close()  # joins the thread, which runs a queued request before it stops
        error = self._c.result()
        if error is not None:
            self._finish(error)


def _take_request(store: ContextStore) -> tuple[list[int], Path | None, list[tuple[int, Any, int]]] | None:
    """What the store left to make durable (records to write, fds to sync), or
    None when nothing."""
    writes = store.take_writes()
    fds, directory = store.take_sync_targets()
    if not fds and directory is None and not writes:
        return None
    return fds, directory, writes


def _refused(store: ContextStore, exc: Exception) -> Exception:
    return store.sync_failed(OSError(errno.EINVAL, f"the fsync thread refused the request: {exc}"))


def _raise_for(store: ContextStore, error: int) -> None:
    if error:
        exc = OSError(error, os.strerror(error))
        raise store.sync_failed(exc) from exc
