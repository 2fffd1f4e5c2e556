"""The event-loop choice (RANVIER_EVENT_LOOP)."""

from __future__ import annotations

import asyncio

import pytest

from ranvier import event_loop
from ranvier.event_loop import EventLoopChoiceError, loop_factory


def test_asyncio_is_chosen_on_request() -> None:
    assert loop_factory({"RANVIER_EVENT_LOOP": "asyncio"}) == ("asyncio", None)


def test_auto_prefers_uvloop_when_installed() -> None:
    uvloop = pytest.importorskip("uvloop")
    name, factory = loop_factory({})
    assert name == "uvloop" and factory is uvloop.new_event_loop


def test_an_unknown_choice_names_the_variable_and_the_choices() -> None:
    with pytest.raises(EventLoopChoiceError, match="RANVIER_EVENT_LOOP='fast'.*auto, uvloop, asyncio"):
        loop_factory({"RANVIER_EVENT_LOOP": "fast"})


def test_run_runs_the_coroutine_on_the_chosen_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.setenv("RANVIER_EVENT_LOOP", "uvloop")

    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert event_loop.run(loop_module()).startswith("uvloop")
