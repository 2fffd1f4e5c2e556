"""Outbox: bounded queue, permits, priority, control messages, close."""

from __future__ import annotations

import asyncio

import pytest

from ranvier.errors import ErrorCode
from ranvier.messaging import Outbox, TooManyRequests


def ready(outbox: Outbox[str]) -> list[str]:
    return asyncio.run(asyncio.wait_for(outbox.next(), 1))


def test_data_waits_for_permits_control_does_not() -> None:
    box: Outbox[str] = Outbox(10, "handler h", "command-queue-capacity-per-client")
    box.put("c1")
    box.put_control("ack")
    assert ready(box) == ["ack"]
    box.grant(1)
    box.put("c2")
    assert ready(box) == ["c1"]
    assert len(box) == 1 and box.permits == 0


def test_queue_is_bounded_with_axoniq_1900_naming_the_property() -> None:
    box: Outbox[str] = Outbox(2, "handler h", "command-queue-capacity-per-client")
    box.put("a")
    box.put("b")
    with pytest.raises(TooManyRequests) as info:
        box.put("c")
    assert info.value.code is ErrorCode.TOO_MANY_REQUESTS
    assert "command-queue-capacity-per-client is 2" in info.value.message
    box.put_control("control is never refused")


def test_priority_then_arrival_order() -> None:
    box: Outbox[str] = Outbox(10, "h", "p")
    box.put("low-1")
    box.put("high", priority=5)
    box.put("low-2")
    box.grant(3)
    assert ready(box) == ["high", "low-1", "low-2"]


def test_then_messages_follow_their_data_message() -> None:
    box: Outbox[str] = Outbox(10, "h", "p")
    box.put("query", then=["flow-control"])
    box.grant(1)
    assert ready(box) == ["query", "flow-control"]


def test_messages_without_permit_keep_their_place() -> None:
    box: Outbox[str] = Outbox(10, "h", "p")
    box.grant(1)
    box.put("u1")
    box.put("u2")
    box.put("complete", needs_permit=False)
    assert ready(box) == ["u1"]
    box.grant(1)
    assert ready(box) == ["u2", "complete"]


def test_close_returns_unsent_once_and_ends_next() -> None:
    box: Outbox[str] = Outbox(10, "h", "p")
    box.put("a")
    box.put("b", priority=1)
    assert box.close() == ["b", "a"]
    assert box.close() == ["b", "a"]
    assert ready(box) == []


def test_finish_ends_after_queued_messages() -> None:
    box: Outbox[str] = Outbox(10, "h", "p")
    box.put("last", needs_permit=False)
    box.finish()
    assert ready(box) == ["last"]
    assert ready(box) == []
