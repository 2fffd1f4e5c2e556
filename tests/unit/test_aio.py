"""`wait_for_event`: set, timeout, and a cancellation that arrives as the event is set."""

from __future__ import annotations

import asyncio

import pytest

from ranvier.aio import wait_for_event


def test_set_and_timeout() -> None:
    async def scenario() -> None:
        event = asyncio.Event()
        assert await wait_for_event(event, 0.01) is False
        asyncio.get_running_loop().call_soon(event.set)
        assert await wait_for_event(event, 30) is True
        assert await wait_for_event(event, 0) is True  # already set

    asyncio.run(scenario())


def test_a_cancellation_in_the_same_turn_as_the_event_is_not_swallowed() -> None:
    async def scenario() -> None:
        for _ in range(50):
            event = asyncio.Event()
            waiting = asyncio.ensure_future(wait_for_event(event, 30))
            await asyncio.sleep(0)  # waiting now
            event.set()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting

    asyncio.run(scenario())
