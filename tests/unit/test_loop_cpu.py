"""RANVIER_LOOP_CPU: the value, and which threads end up where (in a child
process, so that no thread of the test runner is confined)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from ranvier import loop_cpu
from ranvier.loop_cpu import LoopCpuError

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def test_unset_means_follow_and_none_leaves_both_threads_to_the_scheduler() -> None:
    assert loop_cpu.loop_cpu({}) == loop_cpu.FOLLOW
    assert loop_cpu.loop_cpu({"RANVIER_LOOP_CPU": " Follow "}) == loop_cpu.FOLLOW
    assert loop_cpu.describe(loop_cpu.FOLLOW) == "any CPU, gRPC poller following it"
    assert loop_cpu.loop_cpu({"RANVIER_LOOP_CPU": " None "}) is None
    assert loop_cpu.describe(None) == "any CPU"


@pytest.mark.skipif(not CPUS, reason="thread CPU affinity is Linux's")
def test_a_cpu_of_this_process_is_taken_and_others_are_refused_with_the_reason() -> None:
    assert loop_cpu.loop_cpu({"RANVIER_LOOP_CPU": str(CPUS[-1])}) == CPUS[-1]
    with pytest.raises(LoopCpuError, match=r"RANVIER_LOOP_CPU='4096': this process may run on CPUs"):
        loop_cpu.loop_cpu({"RANVIER_LOOP_CPU": "4096"})
    for bad in ("-1", "first", "1.5"):
        with pytest.raises(LoopCpuError, match="expected follow, none or a CPU number"):
            loop_cpu.loop_cpu({"RANVIER_LOOP_CPU": bad})


_CHILD = r"""
import asyncio, json, os, threading, grpc
from ranvier import loop_cpu
from ranvier.eventstore import _syncer

def cpus(tid=0):
    return sorted(os.sched_getaffinity(tid))

async def main():
    server = grpc.aio.server()
    server.add_insecure_port("127.0.0.1:0")
    await server.start()
    done = loop_cpu.confine_loop_and_poller({"RANVIER_LOOP_CPU": os.environ["CPU"]})
    poller = [t.native_id for t in threading.enumerate() if "_poll_wrapper" in t.name][0]
    seen = {}
    def helper():
        loop_cpu.free_this_thread()
        seen["helper"] = cpus()
    t = threading.Thread(target=helper); t.start(); t.join()
    seen["executor"] = await asyncio.to_thread(cpus)
    syncer = _syncer.Syncer()  # its C thread starts here, from the confined loop thread
    fsync = []
    for _ in range(500):  # it names itself, then sets its CPUs, as it starts
        fsync = [int(x) for x in os.listdir("/proc/self/task")
                 if open(f"/proc/self/task/{x}/comm").read().strip() == "ranvier-fsync"]
        if fsync and cpus(fsync[0]) != cpus():
            break
        await asyncio.sleep(0.01)
    from ranvier.eventstore.committer import default_batch_worth_bytes
    seen.update(done=done, loop=cpus(), poller=cpus(poller), fsync=cpus(fsync[0]),
                worth=default_batch_worth_bytes())  # a committer started now sizes by the process's CPUs
    syncer.close()
    await server.stop(None)
    print(json.dumps(seen))

asyncio.run(main())
"""


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to tell confined threads from free ones")
def test_the_loop_and_the_poller_share_the_cpu_and_helpers_keep_every_cpu() -> None:
    cpu = CPUS[-1]
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60, check=True,
                         env={**os.environ, "CPU": str(cpu)})
    seen = json.loads(out.stdout)
    assert seen["done"] == f"event loop and gRPC poller on CPU {cpu}"
    assert seen["loop"] == [cpu] and seen["poller"] == [cpu]
    assert seen["helper"] == CPUS and seen["executor"] == CPUS and seen["fsync"] == CPUS
    assert seen["worth"] == 128 * 1024


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to follow")
def test_a_follower_moves_the_thread_only_when_the_cpu_changed() -> None:
    parked = threading.Event()
    thread = threading.Thread(target=parked.wait, daemon=True)
    thread.start()
    try:
        assert thread.native_id is not None
        where = [CPUS[0]]
        follower = loop_cpu.PollerFollower(thread.native_id, lambda: where[0])
        follower()
        assert os.sched_getaffinity(thread.native_id) == {CPUS[0]} and follower.moves == 1
        follower()
        assert follower.moves == 1  # same CPU: no system call
        where[0] = CPUS[-1]
        follower()
        assert os.sched_getaffinity(thread.native_id) == {CPUS[-1]} and follower.moves == 2
    finally:
        parked.set()
        thread.join()


def test_a_follower_that_cannot_move_the_thread_stops_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    follower = loop_cpu.PollerFollower(threading.get_native_id(), lambda: 4096)
    follower()  # no such CPU: sched_setaffinity refuses
    assert follower.moves == 0 and follower.cpu == -1
    assert "no longer follows the event loop" in caplog.text


_FOLLOW_CHILD = r"""
import asyncio, json, os, threading, grpc
from ranvier import grpc_wakeups, loop_cpu

def cpus(tid=0):
    return sorted(os.sched_getaffinity(tid))

async def echo(request, context):
    return request

async def main():
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "t.T", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    seen = {"wakeups": grpc_wakeups.coalesce_wakeups(os.environ),
            "done": loop_cpu.confine_loop_and_poller(os.environ)}
    poller = [t.native_id for t in threading.enumerate() if "_poll_wrapper" in t.name][0]
    every = cpus()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary("/t.T/Echo")
        for cpu in (every[0], every[-1], every[0]):
            os.sched_setaffinity(0, {cpu})  # the test moves the loop; the node never does
            for _ in range(20):
                assert await call(b"x") == b"x"
            seen.setdefault("poller", []).append(cpus(poller))
        os.sched_setaffinity(0, every)
        for _ in range(20):
            await call(b"y")
    seen["loop"] = cpus()
    started = {}
    t = threading.Thread(target=lambda: started.update(cpus=cpus())); t.start(); t.join()
    seen["thread"] = started["cpus"]
    await server.stop(None)
    print(json.dumps(seen))

asyncio.run(main())
"""


def _follow_child(**env: str) -> dict:
    """Run the child with the two switches unset unless `env` sets them."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("RANVIER_LOOP_CPU", "RANVIER_GRPC_WAKEUPS")}
    out = subprocess.run([sys.executable, "-c", _FOLLOW_CHILD], capture_output=True, text=True, timeout=60,
                         check=True, env={**inherited, **env})
    return json.loads(out.stdout)


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to follow")
def test_by_default_the_poller_follows_the_loop_from_cpu_to_cpu_and_nothing_else_is_confined() -> None:
    seen = _follow_child()
    assert seen["done"] == "any CPU, gRPC poller following it"
    assert seen["poller"] == [[CPUS[0]], [CPUS[-1]], [CPUS[0]]]
    assert seen["loop"] == CPUS and seen["thread"] == CPUS


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to follow")
def test_following_needs_the_coalescing_reader_and_is_off_with_none() -> None:
    stock = _follow_child(RANVIER_GRPC_WAKEUPS="stock", RANVIER_LOOP_CPU="follow")
    assert stock["done"] == "any CPU (following needs RANVIER_GRPC_WAKEUPS=coalesce)"
    assert all(p == CPUS for p in stock["poller"])
    off = _follow_child(RANVIER_LOOP_CPU="none")
    assert off["done"] == "any CPU (RANVIER_LOOP_CPU=none)"
    assert all(p == CPUS for p in off["poller"])
