"""Zeros written ahead of the active segment's end, so that an acknowledgement's
fsync has only data to flush.

A write past a file's end changes its size, and fdatasync must then commit that
metadata too (on ext4 a journal commit) besides the data. Here an fdatasync of a
28 KB append cost ~160 us at the end of a file and ~100 us into bytes already
written and synced; `fallocate` alone does not help, because its extents are
marked unwritten and converting them on the first write is metadata again. In a
node pinned to one CPU, appends at 1 / 16 / 64 clients x 100 events went from
73 / 76 / 81 % to 79 / 80 / 88 % of the bare ceiling with segments zeroed ahead
(docs/BENCHMARKS.md). Axon Server preallocates its segment files for the same
reason.

So once a segment holds `START` bytes, a helper thread keeps up to `CHUNK` bytes of
zeros written and synced ahead of the writer (never past the segment's capacity).
Small logs (tests, quiet contexts) never get a runway and stay byte for byte what
their records are. The zeros bypass the page cache (O_DIRECT) where the file
system allows it: written through the cache they were dirty pages of the very
file an acknowledgement's fdatasync flushes, so one acknowledgement per fill
waited for megabytes of zeros, and at 64 clients that ate the whole gain.

Invariants the log relies on:
- zeros are written only where no record is and none is being written: the
  writer waits for a fill in progress before writing into its range;
- the logical end of a segment is where its last record ends; what follows it is
  runway (all zeros) or a torn write, and recovery tells them apart (`all_zero`);
- correctness never depends on the runway: a record past it extends the file, and
  a failed fill (a full disk) only stops further fills.
"""

from __future__ import annotations

import logging
import mmap
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

START = 4 << 20  # a segment smaller than this gets no runway
CHUNK = 16 << 20  # zeros written per fill
_ZEROS = bytes(1 << 20)  # written 1 MiB at a time: a larger buffer falls out of cache and is slower
_ALIGN = 4096  # O_DIRECT wants offsets, lengths and the buffer aligned to the block size
_ALIGNED_ZEROS = mmap.mmap(-1, len(_ZEROS))  # anonymous memory: page-aligned zeros, never written


def plan(size: int, allocated: int, capacity: int) -> tuple[int, int] | None:
    """The byte range of the next fill for a segment holding `size` bytes of
    records in a file of `allocated` bytes, or None when none is due."""
    if size < START or allocated - size >= CHUNK // 2:
        return None
    # Start on a block boundary: the block holding the last record's end is the
    # file's already, and an aligned range can go around the page cache.
    start = -(-max(size, allocated) // _ALIGN) * _ALIGN
    end = min(start + CHUNK, capacity)
    return (start, end) if end > start else None


class Fill:
    """Writes zeros over [start, end) of the file in a thread of its own, then syncs
    them. `fd` is the writer's descriptor, used when O_DIRECT is refused."""

    def __init__(self, path: Path, fd: int, start: int, end: int) -> None:
        self.path = path
        self.fd = fd
        self.start = start
        self.end = end
        self.error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name=f"runway:{path.name}", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        try:
            direct = _open_direct(self.path) if self.end % _ALIGN == 0 else None
            try:
                if direct is not None:
                    self._write(direct, memoryview(_ALIGNED_ZEROS))
                else:
                    self._write(self.fd, memoryview(_ZEROS))
            finally:
                if direct is not None:
                    os.close(direct)
        except OSError as exc:  # a full disk, most likely; the writer sees it when it looks
            self.error = exc

    def _write(self, fd: int, zeros: memoryview) -> None:
        position = self.start
        while position < self.end:
            position += os.pwrite(fd, zeros[: min(len(zeros), self.end - position)], position)
        os.fdatasync(fd)


def _open_direct(path: Path) -> int | None:
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return None
    try:
        return os.open(path, os.O_WRONLY | flag)
    except OSError:  # tmpfs and some others refuse O_DIRECT: write through the cache
        return None


def all_zero(fd: int, start: int, end: int) -> bool:
    """Are bytes [start, end) of the file all zero (a runway, not a torn record)?"""
    position = start
    while position < end:
        chunk = os.pread(fd, min(len(_ZEROS), end - position), position)
        if not chunk:
            return False
        if chunk != _ZEROS[: len(chunk)]:
            return False
        position += len(chunk)
    return True
