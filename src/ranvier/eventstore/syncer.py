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
`StorageWriteFailed` (the store marked failed) when a write or an fsync fails. Without the extension (no C
compiler, or `RANVIER_NATIVE=python`) it runs `store.sync` in asyncio's worker
thread, as before.
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
        writes = store.take_writes()
        fds, directory = store.take_sync_targets()
        if not fds and directory is None and not writes:
            return
        try:
            error = await self._run(fds, directory, writes)
        except OSError as exc:  # the directory could not even be opened
            raise store.sync_failed(exc) from exc
        except (ValueError, TypeError, MemoryError) as exc:  # refused: the writes taken are lost
            raise store.sync_failed(OSError(errno.EINVAL, f"the fsync thread refused the request: {exc}")) from exc
        if error:
            exc = OSError(error, os.strerror(error))
            raise store.sync_failed(exc) from exc

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
