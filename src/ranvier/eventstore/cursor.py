"""A forward reader of a context's global event stream, from a token on.

A cursor locates the record holding its start token once, then reads the log
sequentially in bounded chunks. It only returns published events, and keeps the
unsent rest of the last record it read (at most one transaction) for the next call,
so its memory is bounded by the transaction size limit, not by the stream.
"""

from __future__ import annotations

from collections import deque

from .records import KIND_EVENTS, split_body
from .store import ContextStore

READ_CHUNK = 64 * 1024


class EventCursor:
    def __init__(self, store: ContextStore, token: int) -> None:
        self.store = store
        self.token = max(0, token)  # the next token to return
        self._position: int | None = None  # record boundary to read from next
        self._pending: deque[tuple[int, bytes]] = deque()

    @property
    def caught_up(self) -> bool:
        return not self._pending and self.token >= self.store.visible_next_token

    def read(self, max_events: int, max_bytes: int = READ_CHUNK) -> list[tuple[int, bytes]]:
        """Up to `max_events` (token, raw event) pairs, in token order; empty when
        caught up with what is published."""
        out: list[tuple[int, bytes]] = []
        self._drain(out, max_events)
        if len(out) >= max_events or self.token >= self.store.visible_next_token:
            return out
        if self._position is None and not self._locate():
            return out
        self._read_records(out, max_events, max_bytes)
        return out

    def _drain(self, out: list[tuple[int, bytes]], max_events: int) -> None:
        while self._pending and len(out) < max_events:
            out.append(self._pending.popleft())

    def _locate(self) -> bool:
        row = self.store.record_holding(self.token)
        if row is None:
            first = self.store.first_token()
            if self.token >= first:
                return False
            self.token = first  # older events are gone; start at the oldest there is
            row = self.store.record_holding(self.token)
            if row is None:
                return False
        self._position = row[1]
        return True

    def _read_records(self, out: list[tuple[int, bytes]], max_events: int, max_bytes: int) -> None:
        assert self._position is not None
        store = self.store
        read = 0
        for position, header, body in store.log.records(self._position, store.visible_end, chunk=max_bytes):
            self._position = position + header.size
            read += header.size
            first, count = header.first_token, header.count
            if header.kind != KIND_EVENTS or first + count <= self.token:
                continue
            events = split_body(body, count)
            if first >= self.token and len(out) + count <= max_events:
                out.extend(zip(range(first, first + count), events))  # the usual case: all of it
            else:
                for offset, raw in enumerate(events):
                    token = first + offset
                    if token < self.token:
                        continue
                    if len(out) < max_events:
                        out.append((token, raw))
                    else:
                        self._pending.append((token, raw))
            self.token = first + count
            if len(out) >= max_events or read >= max_bytes:
                break
        # `self.token` counts what was read; what was handed out ends before pending.
        if self._pending:
            self.token = self._pending[-1][0] + 1
