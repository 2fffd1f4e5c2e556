"""Time for messaging timeouts, injectable so tests never sleep.

Routers only ask for "call this in N seconds" and "cancel that". `LoopClock` uses the
running asyncio loop; `ManualClock` fires timers when a test advances it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer: ...


class LoopClock:
    """The running event loop's clock."""

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay_s), callback)


class _ManualTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only when `advance` is called; due timers fire in order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, _ManualTimer, Callable[[], None]]] = []
        self._seq = itertools.count()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        timer = _ManualTimer()
        heapq.heappush(self._timers, (self.now + max(0.0, delay_s), next(self._seq), timer, callback))
        return timer

    def advance(self, seconds: float) -> None:
        until = self.now + seconds
        while self._timers and self._timers[0][0] <= until:
            due, _seq, timer, callback = heapq.heappop(self._timers)
            self.now = due
            if not timer.cancelled:
                callback()
        self.now = until

    @property
    def pending(self) -> int:
        return sum(1 for *_rest, timer, _cb in self._timers if not timer.cancelled)
