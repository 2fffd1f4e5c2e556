"""The event-loop choice (RANVIER_EVENT_LOOP)."""

from __future__ import annotations

import asyncio
import os
import threading

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


def test_helper_threads_are_batched_by_default_and_normal_on_request() -> None:
    assert event_loop.helper_thread_policy({}) == "batch"
    assert event_loop.helper_thread_policy({"RANVIER_HELPER_THREADS": "Normal"}) == "normal"
    with pytest.raises(EventLoopChoiceError, match="RANVIER_HELPER_THREADS='idle'.*batch, normal"):
        event_loop.helper_thread_policy({"RANVIER_HELPER_THREADS": "idle"})


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
def test_grpc_poller_thread_is_batched_and_the_loop_thread_is_not() -> None:
    import grpc

    async def start_and_schedule() -> tuple[int, list[int], int]:
        server = grpc.aio.server()
        server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            assert event_loop.schedule_helper_threads({"RANVIER_HELPER_THREADS": "normal"}) == 0
            changed = event_loop.schedule_helper_threads({})
            # gRPC's poller is a Python thread while grpc.aio is in use
            pollers = [t.native_id for t in threading.enumerate() if "_poll_wrapper" in t.name and t.native_id]
            return changed, [os.sched_getscheduler(tid) for tid in pollers], os.sched_getscheduler(0)
        finally:
            await server.stop(None)
            _threads_back_to_normal()

    changed, poller_policies, loop_policy = asyncio.run(start_and_schedule())
    assert changed >= 1
    assert poller_policies and set(poller_policies) == {os.SCHED_BATCH}
    assert loop_policy == os.SCHED_OTHER


def _threads_back_to_normal() -> None:
    """This test process's other tests run with their threads as they started."""
    for tid in map(int, os.listdir("/proc/self/task")):
        try:
            if os.sched_getscheduler(tid) == os.SCHED_BATCH:
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        except OSError:
            continue
