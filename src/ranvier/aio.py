"""Small asyncio helpers shared by the runtime."""

from __future__ import annotations

import asyncio


async def wait_for_event(event: asyncio.Event, timeout_s: float | None) -> bool:
    """True once `event` is set, False when `timeout_s` passes first.

    Not `asyncio.wait_for(event.wait(), ...)`: on Python 3.11 that returns
    normally when a cancellation arrives in the same loop iteration as the event
    is set, so a loop that is being stopped goes on running (a committer's
    `close()` then waited for it forever). Here the cancellation always wins.
    """
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _pending = await asyncio.wait((waiter,), timeout=timeout_s)
    finally:
        waiter.cancel()
    return bool(done)
