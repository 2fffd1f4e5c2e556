"""Zeros written ahead of the active segment's end, so that an acknowledgement's
fsync has only data to flush.

A write past a file's end changes its size, and fdatasync must then commit that
metadata too (on ext4 a journal commit) besides the data. Here an fdatasync of a
28 KB append cost ~160 us at the end of a file and ~100 us into bytes already
written and synced; `fallocate` alone does not help, because its extents are
marked unwritten and converting them on the first write is metadata again. In
the node (pinned to one CPU, 16 clients x 100 events) the fdatasync per batch went
from ~850 to ~660 us, and a lone client's appends of 100 events gained 2-4 points
of the bare ceiling in every round of the A/B runs; with 16 and 64 clients the
difference was inside the noise (docs/BENCHMARKS.md). Axon Server preallocates
its segment files too.

So once a segment holds `START` bytes, a helper thread keeps up to `CHUNK` bytes of
zeros written and synced ahead of the writer (never past the segment's capacity).
Small logs (tests, quiet contexts) never get a runway and stay byte for byte what
their records are. The zeros go through the page cache: written with O_DIRECT they
cut the node's fdatasync per batch further (~500 against ~650 us at 16 clients x
100 events, pinned) but an extending direct write holds the file's lock while the
disk works, and the event loop's next record write waited on it: fewer events/s.

Invariants the log relies on:
- zeros are written only where no record is and none is being written: the
  writer waits for a fill in progress before writing into its range;
- the logical end of a segment is where its last record ends; what follows it is
  runway (all zeros) or a torn write, and recovery tells them apart (`all_zero`);
- correctness never depends on the runway: a record past it extends the file, and
  a failed fill (a full disk) only stops further fills.
"""

from __future__ import annotations

import os
import threading

from ranvier.loop_cpu import free_this_thread

START = 4 << 20  # a segment smaller than this gets no runway
CHUNK = 16 << 20  # zeros written per fill
# A fill starts at least this far past the last record: the writer waits for a
# fill whose range it reaches (on the event loop), so it must not reach it soon.
MARGIN = 2 << 20
_ZEROS = bytes(1 << 20)  # written 1 MiB at a time: a larger buffer falls out of cache and is slower


def plan(size: int, allocated: int, capacity: int) -> tuple[int, int] | None:
    """The byte range of the next fill for a segment holding `size` bytes of
    records in a file of `allocated` bytes, or None when none is due."""
    if size < START or allocated - size >= CHUNK // 2:
        return None
    start = max(size + MARGIN, allocated)  # below it: records, or a hole a record will fill
    end = min(start + CHUNK, capacity)
    return (start, end) if end > start else None


class Fill:
    """Writes zeros over [start, end) of `fd` in a thread of its own, then syncs them."""

    def __init__(self, fd: int, start: int, end: int, name: str) -> None:
        self.fd = fd
        self.start = start
        self.end = end
        self.error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name=f"runway:{name}", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        free_this_thread()
        zeros = memoryview(_ZEROS)
        position = self.start
        try:
            while position < self.end:
                position += os.pwrite(self.fd, zeros[: min(len(zeros), self.end - position)], position)
            os.fdatasync(self.fd)
        except OSError as exc:  # a full disk, most likely; the writer sees it when it looks
            self.error = exc


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
