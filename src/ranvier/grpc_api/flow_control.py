"""Axon's permit-based flow control for server-to-client streams, in one place.

A client grants permits; each message sent spends one; the sender waits when none
are left. Axon closes a stream whose client grants no new permits for a long time
(`axoniq.axonserver.new-permits-timeout`), so an abandoned tracker cannot hold
resources forever.
"""

from __future__ import annotations

import asyncio

from ranvier.aio import wait_for_event


class PermitsTimeout(Exception):
    """No new permits arrived within the timeout."""


class Permits:
    def __init__(self, initial: int = 0) -> None:
        self.available = max(0, initial)
        self._granted = asyncio.Event()
        if self.available:
            self._granted.set()

    def grant(self, permits: int) -> None:
        if permits > 0:
            self.available += permits
            self._granted.set()

    def spend(self, count: int = 1) -> None:
        self.available -= count
        if self.available <= 0:
            self.available = 0
            self._granted.clear()

    async def wait(self, timeout_s: float | None) -> None:
        """Return once a permit is available; PermitsTimeout after `timeout_s`."""
        if self.available > 0:
            return
        if not await wait_for_event(self._granted, timeout_s):
            raise PermitsTimeout()
