"""`ranvier bench --pin`: parsing CPU lists and pinning processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ranvier.bench import main as bench
from ranvier.bench.placement import Placement, parse_pin, pin_process, pinned_start

FOUR = frozenset({0, 1, 2, 3})


def test_lists_and_ranges() -> None:
    assert parse_pin("0:1", FOUR) == Placement(frozenset({0}), frozenset({1}))
    assert parse_pin("0,2-3:1", FOUR) == Placement(frozenset({0, 2, 3}), frozenset({1}))
    assert parse_pin("0:1", FOUR).describe() == "servers on CPU 0, load generator on CPU 1"


@pytest.mark.parametrize("text, message", [
    ("0", "SERVER_CPUS:CLIENT_CPUS"),
    ("0:x", "bad CPU list"),
    ("3-1:0", "bad CPU range"),
    ("0:7", "cannot use"),
    ("0-1:1", "to both"),
])
def test_bad_pins_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pin(text, FOUR)


def test_bad_pin_stops_the_bench_and_cluster_is_refused() -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(["--pin", "0"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--cluster", "3", "--pin", "0:1"])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_children_and_running_processes_are_pinned() -> None:
    first, second = sorted(os.sched_getaffinity(0))[:2]
    code = "import os, threading, time; threading.Thread(target=time.sleep, args=(5,)).start(); " \
           "print(sorted(os.sched_getaffinity(0)), flush=True); time.sleep(5)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             preexec_fn=pinned_start(frozenset({first})))
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == f"[{first}]"
        assert pin_process(child.pid, frozenset({second})) >= 2  # the main thread and the sleeper
        for task in os.listdir(f"/proc/{child.pid}/task"):
            assert os.sched_getaffinity(int(task)) == {second}
    finally:
        child.kill()
        child.wait()
