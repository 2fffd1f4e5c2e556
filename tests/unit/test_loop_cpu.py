"""RANVIER_LOOP_CPU: the value, and which threads end up where (in a child
process, so that no thread of the test runner is confined)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ranvier import loop_cpu
from ranvier.loop_cpu import LoopCpuError

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def test_unset_or_none_leaves_the_loop_on_any_cpu() -> None:
    assert loop_cpu.loop_cpu({}) is None
    assert loop_cpu.loop_cpu({"RANVIER_LOOP_CPU": " None "}) is None
    assert loop_cpu.describe(None) == "any CPU"


@pytest.mark.skipif(not CPUS, reason="thread CPU affinity is Linux's")
def test_a_cpu_of_this_process_is_taken_and_others_are_refused_with_the_reason() -> None:
    assert loop_cpu.loop_cpu({"RANVIER_LOOP_CPU": str(CPUS[-1])}) == CPUS[-1]
    with pytest.raises(LoopCpuError, match=r"RANVIER_LOOP_CPU='4096': this process may run on CPUs"):
        loop_cpu.loop_cpu({"RANVIER_LOOP_CPU": "4096"})
    for bad in ("-1", "first", "1.5"):
        with pytest.raises(LoopCpuError, match="expected none or a CPU number"):
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
