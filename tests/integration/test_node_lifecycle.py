"""A node process as an operator meets it: bad configuration, corrupt files, restarts,
abandoned event streams."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from uuid import uuid4

import grpc
import pytest
from axonclient.client import AxonClient, AxonEvent
from axonclient.exceptions import OutOfRangeError
from axonclient.protos import event_pb2, event_pb2_grpc

from ranvier.testing.nodes import NodeProcess


def test_bad_property_value_stops_start_up_naming_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ranvier", "server", "--axoniq.axonserver.port=eighty"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert done.returncode == 78
    assert "axoniq.axonserver.port" in done.stderr
    assert "eighty" in done.stderr


def test_bad_value_in_properties_file_names_property_and_file(tmp_path: Path) -> None:
    (tmp_path / "axonserver.properties").write_text("axoniq.axonserver.event.segment-size=lots\n")
    done = subprocess.run(
        [sys.executable, "-m", "ranvier", "server"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 78
    assert "axoniq.axonserver.event.segment-size" in done.stderr
    assert "axonserver.properties" in done.stderr


def event(agg: str, seq: int) -> AxonEvent:
    return AxonEvent(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="T",
                     payload_type="P", payload_data=b"payload-" * 20)


def http_json(url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RANVIER_HELPER_THREADS", "turbo"), ("RANVIER_NATIVE", "fast"), ("RANVIER_LOOP_CPU", "4096")],
)
def test_a_bad_runtime_choice_stops_start_up_naming_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ranvier", "server"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, variable: value},
    )
    assert done.returncode == 78
    assert f"{variable}={value!r}" in done.stderr


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
def test_a_ready_node_runs_its_helper_threads_batched_and_its_loop_normal(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path)
    node.start()
    try:
        assert node.process is not None
        pid = node.process.pid
        policies = {}
        for tid in map(int, os.listdir(f"/proc/{pid}/task")):
            try:
                policies[tid] = os.sched_getscheduler(tid)
            except ProcessLookupError:
                continue  # a short-lived thread ended meanwhile
        assert policies.pop(pid) == os.SCHED_OTHER  # the main thread runs the event loop
        assert os.SCHED_BATCH in policies.values()  # gRPC's poller among them
    finally:
        node.stop()


def _cpus_allowed(pid: int, tid: int) -> str:
    for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no Cpus_allowed_list")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="thread CPU affinity is Linux's")
def test_a_node_with_a_loop_cpu_keeps_its_loop_there_and_its_fsync_thread_free(tmp_path: Path) -> None:
    cpu = min(os.sched_getaffinity(0))
    node = NodeProcess(tmp_path, env={**os.environ, "RANVIER_LOOP_CPU": str(cpu)})
    node.start()
    try:
        agg = str(uuid4())
        client = AxonClient(node.grpc_address)
        for seq in range(50):  # appends (fsyncs) and reads work as ever
            client.append_event(event(agg, seq))
        assert [e.aggregate_sequence_number for e in client.list_aggregate_events(agg, 0, False)] == list(range(50))
        client.close_connection()
        assert node.process is not None
        pid = node.process.pid
        assert _cpus_allowed(pid, pid) == str(cpu)  # the main thread runs the event loop
        names = {tid: Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
                 for tid in map(int, os.listdir(f"/proc/{pid}/task"))}
        fsync = [tid for tid, name in names.items() if name == "ranvier-fsync"]
        assert fsync and all(_cpus_allowed(pid, tid) == _cpus_allowed(os.getpid(), os.getpid()) for tid in fsync)
        assert f"event loop CPU: event loop and gRPC poller on CPU {cpu}" in node.log_path.read_text()
    finally:
        node.stop()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 if hasattr(os, "sched_getaffinity") else True,
                    reason="following needs two CPUs")
def test_by_default_only_the_grpc_poller_is_placed_and_it_sits_where_the_loop_ran(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RANVIER_LOOP_CPU", "RANVIER_GRPC_WAKEUPS")}
    node = NodeProcess(tmp_path, env=env)
    node.start()
    try:
        agg = str(uuid4())
        client = AxonClient(node.grpc_address)
        for seq in range(50):
            client.append_event(event(agg, seq))
        assert [e.aggregate_sequence_number for e in client.list_aggregate_events(agg, 0, False)] == list(range(50))
        client.close_connection()
        assert node.process is not None
        pid = node.process.pid
        every = _cpus_allowed(os.getpid(), os.getpid())
        placed = {tid: _cpus_allowed(pid, tid) for tid in map(int, os.listdir(f"/proc/{pid}/task"))}
        assert placed.pop(pid) == every  # the event loop stays the scheduler's to place
        single = [cpus for cpus in placed.values() if cpus != every]
        assert len(single) == 1 and single[0].isdigit()  # the poller, on one CPU: where the loop last woke
        assert "event loop CPU: any CPU, gRPC poller following it" in node.log_path.read_text()
    finally:
        node.stop()


def test_corrupt_context_is_refused_with_a_reason_not_dropped(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path)
    node.start()
    agg = str(uuid4())
    client = AxonClient(node.grpc_address)
    for seq in range(10):
        client.append_event(event(agg, seq))
    client.close_connection()
    node.stop()
    segment = sorted((node.data_dir / "default").glob("*.rlog"))[0]
    data = bytearray(segment.read_bytes())
    data[100] ^= 0x40  # inside the first record, with nine good records after it
    segment.write_bytes(bytes(data))
    for index_file in (node.data_dir / "default").glob("index.sqlite3*"):
        index_file.unlink()  # make the node re-read the whole log
    node.start()
    try:
        with grpc.insecure_channel(node.grpc_address) as channel:
            with pytest.raises(grpc.RpcError) as info:
                event_pb2_grpc.EventStoreStub(channel).GetLastToken(event_pb2.GetLastTokenRequest())
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert info.value.details().startswith("[AXONIQ-6000]")
        assert "corrupt" in info.value.details() and segment.name in info.value.details()
        status, health = http_json(node.http_url + "/actuator/health")
        assert status == 503 and health["status"] == "DOWN"
        assert segment.read_bytes() == bytes(data)  # nothing was cut or repaired
    finally:
        node.kill()


def test_tracker_without_new_permits_is_closed(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path, properties={"axoniq.axonserver.new-permits-timeout": "300"})
    node.start()
    try:
        client = AxonClient(node.grpc_address)
        client.append_event([event(str(uuid4()), 0)])
        with grpc.insecure_channel(node.grpc_address) as channel:
            requests: queue.Queue[event_pb2.GetEventsRequest | None] = queue.Queue()
            requests.put(event_pb2.GetEventsRequest(tracking_token=0, number_of_permits=1))
            stream = event_pb2_grpc.EventStoreStub(channel).ListEvents(iter(requests.get, None), timeout=30)
            assert next(stream).token == 0
            with pytest.raises(grpc.RpcError) as info:
                next(stream)  # no more permits: the server closes the stream after the timeout
            assert "permits" in info.value.details()
            requests.put(None)
        client.close_connection()
    finally:
        node.kill()


def test_restart_keeps_everything_and_continues_tokens(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path)
    node.start()
    try:
        agg = str(uuid4())
        client = AxonClient(node.grpc_address)
        client.append_event([event(agg, 0), event(agg, 1)])
        client.close_connection()
        assert node.stop() == 0
        node.start()
        client = AxonClient(node.grpc_address)
        client.append_event([event(agg, 2)])
        assert [e.aggregate_sequence_number for e in client.list_aggregate_events(agg, 0, False)] == [0, 1, 2]
        assert client.get_last_token() == 2
        client.close_connection()
    finally:
        node.kill()


def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    """Group commit: under concurrent load there are fewer fsyncs than transactions."""
    import threading

    node = NodeProcess(tmp_path)
    node.start()
    try:
        def append_many() -> None:
            client = AxonClient(node.grpc_address)
            agg = str(uuid4())
            for seq in range(40):
                client.append_event(event(agg, seq))
            client.close_connection()

        threads = [threading.Thread(target=append_many) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with urllib.request.urlopen(node.http_url + "/actuator/prometheus", timeout=5) as response:
            text = response.read().decode()
        values = {
            line.split("{")[0]: int(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith("ranvier_events_") and 'context="default"' in line
        }
        assert values["ranvier_events_transactions_total"] == 16 * 40
        assert values["ranvier_events_stored_total"] == 16 * 40
        assert values["ranvier_events_fsyncs_total"] < values["ranvier_events_transactions_total"]
        status, body = http_json(node.http_url + "/actuator/metrics/ranvier.events.stored?tag=context:default")
        assert status == 200 and body["measurements"][0]["value"] == 640
    finally:
        node.kill()


@pytest.mark.parametrize("choice", ["python", "native"])
def test_a_node_checks_stores_and_replays_with_either_store_code(tmp_path: Path, choice: str) -> None:
    # The C code is the default wherever it is built, so the Python code would
    # otherwise only be exercised by unit tests; and each must do the whole job.
    from ranvier.eventstore import native

    if choice == "native" and native.load({"RANVIER_NATIVE": "auto"}) is None:
        pytest.skip("C extension not built")
    node = NodeProcess(tmp_path, env={**os.environ, "RANVIER_NATIVE": choice})
    node.start()
    try:
        agg = str(uuid4())
        client = AxonClient(node.grpc_address)
        client.append_event([event(agg, 0), event(agg, 1)])
        with pytest.raises(OutOfRangeError) as info:
            client.append_event([event(agg, 1)])
        assert f"[AXONIQ-2000] Invalid sequence number 1 for aggregate {agg}, expected 2" in str(info.value)
        assert [e.aggregate_sequence_number for e in client.list_aggregate_events(agg, 0, False)] == [0, 1]
        with grpc.insecure_channel(node.grpc_address) as channel:
            requests: queue.Queue[event_pb2.GetEventsRequest | None] = queue.Queue()
            requests.put(event_pb2.GetEventsRequest(tracking_token=0, number_of_permits=10))
            stream = event_pb2_grpc.EventStoreStub(channel).ListEvents(iter(requests.get, None), timeout=30)
            assert [(m.token, m.event.aggregate_sequence_number) for m in (next(stream), next(stream))] == [
                (0, 0), (1, 1)
            ]
            requests.put(None)
        client.close_connection()
        expected = "C" if choice == "native" else "Python"
        assert f"per-event store work in {expected}" in node.log_path.read_text()
    finally:
        node.kill()
