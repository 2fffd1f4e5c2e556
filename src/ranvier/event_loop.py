"""The asyncio event loop a Ranvier process runs on.

Everything in Ranvier is plain asyncio; only the loop underneath is chosen here.
uvloop (libuv under the asyncio API) costs less per callback, timer and socket
event than the standard loop, and a node's main thread is where every gRPC message
is handled: on the append benchmark (64 clients x 100 events per transaction) the
node took 20-25 % more events/s on uvloop, and the full test suite ran on it
unchanged (docs/BENCHMARKS.md). It is a dependency wherever it builds (not on
Windows). `RANVIER_EVENT_LOOP` chooses: `auto` (uvloop when importable, the
default), `uvloop` (fail when missing) or `asyncio` (the standard loop).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

ENV = "RANVIER_EVENT_LOOP"
CHOICES = ("auto", "uvloop", "asyncio")


class EventLoopChoiceError(ValueError):
    pass


def loop_factory(
    environ: Mapping[str, str] = os.environ,
) -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """(name, factory) of the loop to run on; factory None means asyncio's default."""
    choice = environ.get(ENV, "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise EventLoopChoiceError(f"{ENV}={choice!r}: expected one of {', '.join(CHOICES)}")
    if choice == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError as exc:
        if choice == "uvloop":
            raise EventLoopChoiceError(f"{ENV}=uvloop but uvloop is not installed ({exc})") from exc
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the chosen loop."""
    _name, factory = loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
