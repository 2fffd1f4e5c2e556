"""An append-only log of records, split over segment files of bounded size.

A position is a byte offset into the concatenation of all segments; each segment is
named after the position of its first byte (`00000000000000000000.rlog`), so the
files of a context read in name order are the whole log. A record never spans two
segments: when one would not fit, the next segment starts.

Durability is the caller's to ask for: `append` writes to the OS, `sync` makes
everything appended so far durable (fdatasync of every segment written since the
last sync, and of the directory when a segment was created). Nothing is durable
before `sync` returns.

The active segment may run past its last record: zeros written ahead so that a
sync has only data to flush (`runway`). A segment's `size` is always the end of its
records; only the file is longer.

Recovery (`SegmentedLog.open`) tells a torn tail from corruption:
- zeros after the last record of the last segment are runway and stay; zeros after
  a segment that is not the last (a crash between a roll and the next sync) are
  cut, when the next segment starts exactly where its records end;
- an incomplete or checksum-failing record with no valid record after it in the last
  segment is a torn write from a crash: the segment is cut back to the last complete
  record (it was never acknowledged, since acknowledgement follows `sync`);
- a bad record followed by a valid one, a bad record in a segment that is not the
  last, or a missing segment is corruption: `StorageCorrupted` names the file and the
  offset, and nothing is changed on disk.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ranvier.errors import StorageCorrupted, StorageWriteFailed

from . import runway
from .records import HEADER_SIZE, RECORD_MAGIC, RecordError, RecordHeader, checksum_ok, decode_header

log = logging.getLogger(__name__)

SUFFIX = ".rlog"
_READ_CHUNK = 1 << 20
_MAGIC_BYTES = RECORD_MAGIC.to_bytes(4, "little")


@dataclass(slots=True)
class Segment:
    base: int  # position of the segment's first byte
    path: Path
    size: int  # bytes of records; the file may be longer (runway)
    fd: int = -1  # read/write descriptor, opened lazily
    allocated: int = 0  # bytes the file is known to have (records, then zeros)

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(slots=True)
class Recovery:
    """What `open` found: where the log ends and whether a torn tail was cut."""

    end: int
    truncated_bytes: int = 0
    validated_from: int = 0
    notes: list[str] = field(default_factory=list)


def segment_name(base: int) -> str:
    return f"{base:020d}{SUFFIX}"


class SegmentedLog:
    """The segment files of one context. Not thread-safe for writes: one writer."""

    def __init__(self, directory: Path, segment_size: int, segments: list[Segment]) -> None:
        self.directory = directory
        self.segment_size = segment_size
        self._segments = segments
        self._unsynced: set[int] = set()  # indexes into _segments written since sync
        self._dir_dirty = False
        self.failed: str | None = None
        self._fill: runway.Fill | None = None  # zeros being written ahead of the last segment
        self._fill_failed = False
        # With `defer_writes`, records that land in the runway are not written by
        # `append` but handed, with the fds to sync, to whoever syncs (`take_writes`):
        # the committer's fsync thread writes them without the GIL.
        self.defer_writes = False
        self._staged: list[tuple[int, bytes | bytearray, int]] = []  # (fd, record, offset)

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path, segment_size: int, validate_from: int = 0) -> tuple[SegmentedLog, Recovery]:
        """Open (creating if needed) and check every record from `validate_from` on.

        Records before `validate_from` are trusted (they were checked when first
        written and indexed); the last segment is always checked in full.
        """
        directory.mkdir(parents=True, exist_ok=True)
        segments = _list_segments(directory)
        _cut_runway_of_closed(segments)
        _check_contiguous(segments)
        if not segments:
            path = directory / segment_name(0)
            path.touch()
            _fsync_dir(directory)
            segments = [Segment(0, path, 0)]
        self = cls(directory, segment_size, segments)
        recovery = self._recover(validate_from)
        return self, recovery

    def _recover(self, validate_from: int) -> Recovery:
        last = self._segments[-1]
        start = min(max(0, validate_from), last.base)
        recovery = Recovery(end=last.end, validated_from=start)
        for seg in self._segments:
            if seg.end <= start and seg is not last:
                continue
            offset = max(0, start - seg.base)
            good_end, zeros_after = self._validate_segment(seg, offset, is_last=seg is last)
            if zeros_after:
                seg.allocated, seg.size = seg.size, good_end  # zeros written ahead: keep them
            elif good_end < seg.size:
                cut = seg.size - good_end
                os.truncate(seg.path, good_end)
                _fsync_path(seg.path)
                seg.size = seg.allocated = good_end
                recovery.truncated_bytes = cut
                recovery.notes.append(f"cut a torn tail of {cut} bytes from {seg.path.name}")
                log.warning("%s: cut a torn tail of %d bytes at offset %d", seg.path, cut, good_end)
        recovery.end = self._segments[-1].end
        return recovery

    def _validate_segment(self, seg: Segment, offset: int, is_last: bool) -> tuple[int, bool]:
        """Check records from `offset`; returns the end of the last good record and
        whether only zeros written ahead follow it (then nothing is to be cut)."""
        fd = self._fd(seg)
        for _pos, _header, _body, problem in _scan(fd, offset, seg.size):
            if problem is None:
                continue
            bad_at = _pos
            if is_last and runway.all_zero(fd, bad_at, seg.size):
                return bad_at, True
            if is_last and not _valid_record_after(fd, bad_at + 1, seg.size):
                return bad_at, False
            raise StorageCorrupted(
                f"segment {seg.path} is corrupt at offset {bad_at} ({problem}); "
                "refusing to serve this context rather than drop data"
            )
        return seg.size, False

    # -- writing -------------------------------------------------------------------

    @property
    def end(self) -> int:
        return self._segments[-1].end

    @property
    def segments(self) -> list[Segment]:
        return list(self._segments)

    def append(self, record: bytes | bytearray) -> int:
        """Write one record; returns its position. Not durable until `sync`.

        On a write error (disk full, I/O error) the segment is cut back to where it
        was, so no partial record stays behind, and StorageWriteFailed is raised.
        """
        if self.failed:
            raise StorageWriteFailed(f"the event log is unusable after an earlier failure: {self.failed}")
        seg = self._segments[-1]
        if seg.size and seg.size + len(record) > self.segment_size:
            seg = self._roll()
        position = seg.end
        fd = self._fd(seg)
        if self.defer_writes and seg.size + len(record) <= seg.allocated:
            # Zeros are written and synced there already, so writing the record
            # needs no space (it cannot fail with a full disk) and no fill is
            # running over it (fills start at `allocated` or later).
            self._staged.append((fd, record, seg.size))
        else:
            # Never a record in the file after a gap where an earlier one waits for
            # the syncer: a crash then would leave zeros followed by a valid record,
            # which recovery must call corruption, not a torn tail.
            if self._staged:
                self._write_staged()
            fill = self._fill
            if fill is not None and fill.running and seg.size + len(record) > fill.start:
                fill.wait()  # never write where zeros are still being written
            try:
                _write_all(fd, record, seg.size)
            except OSError as exc:
                self._undo_partial_write(seg, exc)
        seg.size += len(record)
        self._unsynced.add(len(self._segments) - 1)
        self._extend_runway(seg)
        return position

    def _extend_runway(self, seg: Segment) -> None:
        """Start writing zeros ahead of the last segment when its runway runs short."""
        if self._fill is not None:
            if self._fill.running:
                return
            self._settle_fill()
        if self._fill_failed:
            return
        planned = runway.plan(seg.size, max(seg.allocated, seg.size), self.segment_size)
        if planned is not None:
            self._fill = runway.Fill(self._fd(seg), planned[0], planned[1], seg.path.name)

    def _settle_fill(self) -> None:
        """Wait for zeros being written and take note of them; afterwards nobody but
        the writer touches the files."""
        fill, self._fill = self._fill, None
        if fill is None:
            return
        fill.wait()
        seg = self._segments[-1]
        if fill.error is None:
            seg.allocated = max(seg.allocated, fill.end)
        else:
            self._fill_failed = True  # no more fills on this segment: the disk is likely full
            log.warning("%s: stopped writing zeros ahead of %s: %s", self.directory, seg.path.name, fill.error)

    def _undo_partial_write(self, seg: Segment, exc: OSError) -> None:
        self._settle_fill()
        try:
            os.ftruncate(self._fd(seg), seg.size)
            seg.allocated = seg.size
        except OSError as again:
            self.failed = f"could not cut back a failed write: {again}"
        reason = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else str(exc)
        raise StorageWriteFailed(f"could not write to {seg.path.name}: {reason}; nothing was stored") from exc

    def _roll(self) -> Segment:
        self._write_staged()  # the closed segment whole before the next one exists
        self._settle_fill()
        done = self._segments[-1]
        if done.allocated > done.size:
            # A closed segment is exactly its records (recovery cuts zeros a crash
            # left here before this cut was synced); the next sync makes it durable.
            os.ftruncate(self._fd(done), done.size)
            done.allocated = done.size
            self._unsynced.add(len(self._segments) - 1)
        self._fill_failed = False
        base = done.end
        path = self.directory / segment_name(base)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        seg = Segment(base, path, 0, fd)
        self._segments.append(seg)
        self._dir_dirty = True
        return seg

    def sync(self) -> None:
        """Make every appended record durable. Safe to call from a worker thread
        while the owner thread appends: it syncs what was dirty when it started.

        A failed fsync leaves the page cache in an unknown state (fsyncgate), so the
        log marks itself failed and refuses further writes: fail-stop, then recover
        from the files on restart.
        """
        writes = self.take_writes()
        fds, directory = self.take_sync_targets()
        try:
            _write_records(writes)
            for fd in fds:
                os.fdatasync(fd)
            if directory is not None:
                _fsync_dir(directory)
        except OSError as exc:
            raise self.sync_failed(exc) from exc

    def take_sync_targets(self) -> tuple[list[int], Path | None]:
        """What `sync` must make durable now: the fds of the segments written
        since the last sync, in order, and the directory when it changed (a
        segment was created), else None. Taking them clears them: the caller
        syncs them, or calls `sync_failed`. The fds stay open as long as the
        log is."""
        dirty, self._unsynced = self._unsynced, set()
        dir_dirty, self._dir_dirty = self._dir_dirty, False
        return [self._fd(self._segments[i]) for i in sorted(dirty)], self.directory if dir_dirty else None

    def take_writes(self) -> list[tuple[int, bytes | bytearray, int]]:
        """The records `append` left to the syncer (`defer_writes`), as
        (fd, record, offset) in order; taking them clears them. The caller writes
        them before it syncs the targets taken with them, or calls `sync_failed`.
        Nothing reads them before: readers stop at the store's visible end, which
        moves past them only after that sync (`read_record` writes any still here)."""
        staged, self._staged = self._staged, []
        return staged

    def _write_staged(self) -> None:
        """Write records still waiting for the syncer here and now (before a read
        that might reach them, or a write after them); they stay unsynced."""
        try:
            _write_records(self.take_writes())
        except OSError as exc:
            raise self.sync_failed(exc) from exc

    def sync_failed(self, exc: OSError) -> StorageWriteFailed:
        """Record a failed fsync of the taken targets (the log refuses writes from
        now on) and return the error to raise."""
        self.failed = f"fsync failed: {exc}"
        return StorageWriteFailed(f"could not make the event log durable: {exc}")

    def sync_all(self) -> None:
        """fsync the last segment and the directory: after recovery, whatever a
        crashed process left in the page cache becomes durable before it is served."""
        os.fsync(self._fd(self._segments[-1]))
        _fsync_dir(self.directory)

    # -- reading -------------------------------------------------------------------

    def segment_at(self, position: int) -> Segment:
        lo, hi = 0, len(self._segments) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._segments[mid].base <= position:
                lo = mid
            else:
                hi = mid - 1
        return self._segments[lo]

    def read_record(self, position: int) -> tuple[RecordHeader, bytes]:
        """The record at `position`, checksum verified."""
        if self._staged:
            self._write_staged()
        seg = self.segment_at(position)
        fd = self._fd(seg)
        offset = position - seg.base
        head = os.pread(fd, HEADER_SIZE, offset)
        try:
            header, crc = decode_header(head)
        except RecordError as exc:
            raise StorageCorrupted(f"{seg.path.name} at offset {offset}: {exc}") from exc
        data = head + os.pread(fd, header.body_len, offset + HEADER_SIZE)
        if not checksum_ok(data, 0, header, crc):
            raise StorageCorrupted(f"{seg.path.name} at offset {offset}: checksum mismatch")
        return header, data[HEADER_SIZE:]

    def records(
        self, start: int, stop: int, chunk: int = _READ_CHUNK
    ) -> Iterator[tuple[int, RecordHeader, memoryview]]:
        """Records from position `start` (a record boundary) up to `stop` (one too),
        in order, checksums verified; corruption raises StorageCorrupted. Files are
        read `chunk` bytes at a time (more only for a larger record)."""
        if self._staged:
            self._write_staged()
        position = start
        while position < stop:
            seg = self.segment_at(position)
            fd = self._fd(seg)
            seg_stop = min(seg.size, stop - seg.base)
            for offset, header, body, problem in _scan(fd, position - seg.base, seg_stop, chunk):
                if problem is not None:
                    raise StorageCorrupted(f"{seg.path.name} at offset {offset}: {problem}")
                yield seg.base + offset, header, body
            position = seg.base + seg_stop
            if position == seg.end and seg is not self._segments[-1]:
                continue
            break

    def _fd(self, seg: Segment) -> int:
        if seg.fd < 0:
            seg.fd = os.open(seg.path, os.O_RDWR)
        return seg.fd

    def close(self) -> None:
        self._staged = []  # never synced, so never acknowledged: like a crash before the write
        self._settle_fill()
        for seg in self._segments:
            if seg.fd >= 0:
                os.close(seg.fd)
                seg.fd = -1


def _scan(
    fd: int, offset: int, stop: int, chunk: int = _READ_CHUNK
) -> Iterator[tuple[int, RecordHeader, memoryview, str | None]]:
    """Walk records in [offset, stop) of one file, reading in large chunks.

    Yields (offset, header, body, None) per good record; on the first bad one yields
    (offset, None-ish, empty, reason) and stops.
    """
    buf = b""
    buf_start = offset
    position = offset
    empty = memoryview(b"")
    while position < stop:
        rel = position - buf_start
        if len(buf) - rel < HEADER_SIZE:
            buf, buf_start, rel = _refill(fd, buf, buf_start, position, HEADER_SIZE, stop, chunk)
        try:
            header, crc = decode_header(buf, rel)
        except RecordError as exc:
            yield position, _NO_HEADER, empty, str(exc)
            return
        size = header.size
        if position + size > stop:
            yield position, header, empty, "record extends past the end of the file"
            return
        if len(buf) - rel < size:
            buf, buf_start, rel = _refill(fd, buf, buf_start, position, size, stop, chunk)
        if not checksum_ok(buf, rel, header, crc):
            yield position, header, empty, "checksum mismatch"
            return
        yield position, header, memoryview(buf)[rel + HEADER_SIZE : rel + size], None
        position += size


_NO_HEADER = RecordHeader(0, 0, 0, 0, 0, HEADER_SIZE)


def _refill(
    fd: int, buf: bytes, buf_start: int, position: int, need: int, stop: int, chunk: int
) -> tuple[bytes, int, int]:
    """Make `buf` hold at least `need` bytes from `position` (fewer only at `stop`)."""
    keep = buf[position - buf_start :]
    want = max(need, chunk) - len(keep)
    upto = min(stop, position + len(keep) + want)
    more = os.pread(fd, upto - position - len(keep), position + len(keep)) if upto > position + len(keep) else b""
    return keep + more, position, 0


def _valid_record_after(fd: int, offset: int, size: int) -> bool:
    """Is there any checksum-valid record starting after `offset`? Distinguishes a
    flipped bit in the middle (valid data follows) from a torn tail (nothing does)."""
    position = offset
    while position < size:
        chunk = os.pread(fd, min(_READ_CHUNK, size - position), position)
        at = chunk.find(_MAGIC_BYTES)
        while at >= 0:
            candidate = position + at
            head = os.pread(fd, HEADER_SIZE, candidate)
            try:
                header, crc = decode_header(head)
                if candidate + header.size <= size:
                    data = head + os.pread(fd, header.body_len, candidate + HEADER_SIZE)
                    if checksum_ok(data, 0, header, crc):
                        return True
            except RecordError:
                pass
            at = chunk.find(_MAGIC_BYTES, at + 1)
        if len(chunk) < 4:
            break
        position += len(chunk) - 3
    return False


def _list_segments(directory: Path) -> list[Segment]:
    segments = []
    for path in sorted(directory.glob("*" + SUFFIX)):
        try:
            base = int(path.name[: -len(SUFFIX)])
        except ValueError:
            raise StorageCorrupted(f"unexpected file {path} among the segments") from None
        size = path.stat().st_size
        segments.append(Segment(base, path, size, allocated=size))
    return segments


def records_size(directory: Path) -> int:
    """Bytes of records in a context's segment files, without the zeros written
    ahead of the last one: the log's length as `SegmentedLog.end` gives it. Read
    only, safe beside a running node (a record being written may not count yet)."""
    segments = _list_segments(directory)
    if not segments:
        return 0
    last = segments[-1]
    fd = os.open(last.path, os.O_RDONLY)
    try:
        end = 0
        for offset, header, _body, problem in _scan(fd, 0, last.size):
            if problem is not None:
                break
            end = offset + header.size
    finally:
        os.close(fd)
    return last.base + end


def _cut_runway_of_closed(segments: list[Segment]) -> None:
    """A segment followed by another ends where the next one starts; zeros beyond
    that are runway a crash left before the roll's cut was synced. Cut them."""
    for before, after in zip(segments, segments[1:]):
        records_end = after.base - before.base
        if before.size <= records_end or records_end < 0:
            continue
        fd = os.open(before.path, os.O_RDWR)
        try:
            if not runway.all_zero(fd, records_end, before.size):
                continue  # not runway: reported as a gap by _check_contiguous
            os.ftruncate(fd, records_end)
            os.fsync(fd)
        finally:
            os.close(fd)
        log.info("%s: cut %d bytes of zeros written ahead before a crash", before.path, before.size - records_end)
        before.size = before.allocated = records_end


def _check_contiguous(segments: list[Segment]) -> None:
    for before, after in zip(segments, segments[1:]):
        if before.end != after.base:
            raise StorageCorrupted(
                f"segment {after.path.name} does not follow {before.path.name} "
                f"(expected a segment at position {before.end}); a file is missing or cut"
            )
    if segments and segments[0].base != 0:
        raise StorageCorrupted(f"the first segment is {segments[0].path.name}, not position 0")


def _write_records(writes: list[tuple[int, bytes | bytearray, int]]) -> None:
    for fd, record, offset in writes:
        _write_all(fd, record, offset)


def _write_all(fd: int, data: bytes | bytearray, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
