"""The Python stand-in for bench/loadgen, used by `ranvier bench` only when Go
is missing. Same flags (single dash), same modes, same JSON lines.

One Python client process tops out near 10-15k gRPC messages/s, so appends and
fills spread their clients over several processes (threads within each, one
channel per client); a replay is one stream and so one process. Results from
this client understate the node and `ranvier bench` labels them so.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import multiprocessing
import os
import socket
import struct
import sys
import threading
import time
import uuid
from typing import Any

import grpc

from ranvier.eventstore.codec import encode_varint

EVENT_STORE = "/io.axoniq.axonserver.grpc.event.EventStore/"
RAW = "/ranvier.bench.Raw/"
PAYLOAD_TYPE = b"io.ranvier.bench.BenchPayload"
AGG_TYPE = b"BenchAggregate"


def _identity(data: bytes) -> bytes:
    return data


# -- protobuf by hand (mirrors bench/loadgen/event.go) ----------------------------------------


def _field_bytes(number: int, data: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(data)) + data


def _field_varint(number: int, value: int) -> bytes:
    return encode_varint(number << 3) + encode_varint(value) if value else b""


def encode_event(message_id: str, aggregate_id: str, seq: int, payload: bytes) -> bytes:
    sub = _field_bytes(1, PAYLOAD_TYPE) + _field_bytes(2, b"1") + _field_bytes(3, payload)
    return (_field_bytes(1, message_id.encode()) + _field_bytes(2, aggregate_id.encode()) + _field_varint(3, seq)
            + _field_bytes(4, AGG_TYPE) + _field_varint(5, int(time.time() * 1000)) + _field_bytes(6, sub))


def read_varint_field(msg: bytes, number: int) -> int:
    """Top-level varint field `number` (0 if absent); enough for tokens and flags."""
    i = 0
    while i < len(msg):
        key, i = _read_varint(msg, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(msg, i)
            if num == number:
                return value
        elif wire == 2:
            length, i = _read_varint(msg, i)
            i += length
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return 0


def _read_varint(msg: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = msg[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def sample_sizes(payload: int) -> tuple[int, int]:
    event = len(encode_event(str(uuid.uuid4()), "bench-00000000-0001-000001", 5, b"a" * payload))
    return event, 1 + len(encode_varint(5_000_000)) + 1 + len(encode_varint(event)) + event


# -- plumbing --------------------------------------------------------------------------------


def check_loopback(addr: str) -> None:
    host = addr.rsplit(":", 1)[0].strip("[]")
    infos = socket.getaddrinfo(host, None)
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_loopback:
            raise SystemExit(f"refusing non-loopback target {addr}: the benchmark only runs against this machine")


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def metadata(o: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    return (("axoniq-context", o.context),)


def percentiles(lat: list[float]) -> dict[str, float]:
    if not lat:
        return {"p50_ms": 0.0, "p99_ms": 0.0}
    lat.sort()
    pick = lambda p: lat[int(p * (len(lat) - 1) + 0.5)] * 1000  # noqa: E731
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": lat[-1] * 1000}


def send_tx(channel: grpc.Channel, method: str, events: list[bytes], md: Any, axon: bool) -> None:
    call = channel.stream_unary(method, request_serializer=_identity, response_deserializer=_identity)
    reply = call(iter(events), metadata=md)
    if axon and not read_varint_field(reply, 1):
        raise RuntimeError("Confirmation.success is false")


# -- append / raw-write / fill: several processes of client threads --------------------------


def _append_worker(o: argparse.Namespace, first: int, count: int, method: str, axon: bool, t_from: float,
                   t_to: float, queue: Any) -> None:
    out: dict[str, Any] = {"txs": 0, "events": 0, "errors": 0, "lat": [], "first_error": ""}
    lock = threading.Lock()
    run_id = uuid.uuid4().hex[:8]
    payload = b"a" * o.payload

    def client(c: int) -> None:
        channel = grpc.insecure_channel(o.addr)
        md = metadata(o)
        agg_n, seq = 0, 0
        agg = f"bench-{run_id}-{c:04d}-{agg_n:06d}"
        lat: list[float] = []
        txs = errors = 0
        error = ""
        while True:
            if seq >= o.aggregate_events:
                agg_n, seq = agg_n + 1, 0
                agg = f"bench-{run_id}-{c:04d}-{agg_n:06d}"
            events = [encode_event(str(uuid.uuid4()), agg, seq + i, payload) for i in range(o.events_per_tx)]
            t0 = time.time()
            if t0 >= t_to:
                break
            try:
                send_tx(channel, method, events, md, axon)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors += 1
                error = error or str(exc)
                agg_n, seq = agg_n + 1, 0
                agg = f"bench-{run_id}-{c:04d}-{agg_n:06d}"
                if errors > 100:
                    break
                continue
            t1 = time.time()
            seq += o.events_per_tx
            if t0 >= t_from and t1 <= t_to:
                txs += 1
                lat.append(t1 - t0)
        channel.close()
        with lock:
            out["txs"] += txs
            out["events"] += txs * o.events_per_tx
            out["errors"] += errors
            out["lat"].extend(lat)
            out["first_error"] = out["first_error"] or error

    threads = [threading.Thread(target=client, args=(first + i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(out)


def _processes(clients: int) -> list[tuple[int, int]]:
    procs = min(clients, max(2, (os.cpu_count() or 1) * 2))
    base, extra = divmod(clients, procs)
    spans, first = [], 0
    for p in range(procs):
        n = base + (p < extra)
        spans.append((first, n))
        first += n
    return spans


def run_append(o: argparse.Namespace, method: str, axon: bool) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    t_from = time.time() + 1.0 + o.warmup  # time for the processes to start
    t_to = t_from + o.seconds
    cpu0 = time.process_time()
    procs = [ctx.Process(target=_append_worker, args=(o, first, n, method, axon, t_from, t_to, queue))
             for first, n in _processes(o.clients)]
    for p in procs:
        p.start()
    parts = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    lat = [x for part in parts for x in part["lat"]]
    txs = sum(p["txs"] for p in parts)
    events = sum(p["events"] for p in parts)
    errors = sum(p["errors"] for p in parts)
    record = {"mode": o.mode, "label": o.label, "clients": o.clients, "events_per_tx": o.events_per_tx,
              "payload_bytes": o.payload, "seconds": o.seconds, "txs": txs, "events": events, "errors": errors,
              "events_per_s": events / o.seconds, "tx_per_s": txs / o.seconds, "client": "python",
              "client_cpu_s": time.process_time() - cpu0, **percentiles(lat)}
    first_error = next((p["first_error"] for p in parts if p["first_error"]), "")
    if first_error:
        record["first_error"] = first_error
    emit(record)


def _fill_worker(o: argparse.Namespace, first: int, count: int, queue: Any, progress: Any) -> None:
    run_id = o.run_id
    payload = b"a" * o.payload
    base, extra = divmod(o.events, o.aggregates)
    result: dict[str, Any] = {"events": 0, "txs": 0, "lat": [], "error": ""}
    lock = threading.Lock()

    def client(c: int) -> None:
        channel = grpc.insecure_channel(o.addr)
        md = metadata(o)
        batch: list[bytes] = []
        lat: list[float] = []

        def flush() -> None:
            t0 = time.time()
            send_tx(channel, EVENT_STORE + "AppendEvent", batch, md, True)
            lat.append(time.time() - t0)
            with progress.get_lock():
                progress.value += len(batch)
            batch.clear()

        try:
            for a in range(c, o.aggregates, o.clients):
                agg = f"fill-{run_id}-{a:07d}"
                for s in range(base + (a < extra)):
                    batch.append(encode_event(str(uuid.uuid4()), agg, s, payload))
                    if len(batch) == o.events_per_tx:
                        flush()
            if batch:
                flush()
        except Exception as exc:  # noqa: BLE001 - reported
            with lock:
                result["error"] = result["error"] or str(exc)
        with lock:
            result["txs"] += len(lat)
            result["lat"].extend(lat)
        channel.close()

    threads = [threading.Thread(target=client, args=(first + i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(result)


def run_fill(o: argparse.Namespace) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue, progress = ctx.Queue(), ctx.Value("q", 0)
    o.run_id = uuid.uuid4().hex[:8]
    start = time.time()
    procs = [ctx.Process(target=_fill_worker, args=(o, first, n, queue, progress))
             for first, n in _processes(o.clients)]
    for p in procs:
        p.start()
    parts: list[dict[str, Any]] = []
    next_report = start + o.progress
    while len(parts) < len(procs):
        try:
            parts.append(queue.get(timeout=0.5))
        except Exception:  # noqa: BLE001 - queue.Empty
            pass
        if time.time() >= next_report:
            next_report += o.progress
            elapsed = time.time() - start
            emit({"mode": "fill-progress", "events": progress.value, "seconds": elapsed,
                  "events_per_s": progress.value / elapsed})
    for p in procs:
        p.join()
    elapsed = time.time() - start
    lat = [x for part in parts for x in part["lat"]]
    record = {"mode": "fill", "label": o.label, "clients": o.clients, "events_per_tx": o.events_per_tx,
              "aggregates": o.aggregates, "payload_bytes": o.payload, "events": progress.value,
              "txs": sum(p["txs"] for p in parts), "seconds": elapsed, "events_per_s": progress.value / elapsed,
              "client": "python", **percentiles(lat)}
    error = next((p["error"] for p in parts if p["error"]), "")
    if error:
        record["error"] = f"fill failed after {progress.value} events: {error}"
    emit(record)


# -- reads: one stream, one process ----------------------------------------------------------


def run_replay(o: argparse.Namespace) -> None:
    channel = grpc.insecure_channel(o.addr)
    md = metadata(o)
    last = read_varint_field(channel.unary_unary(EVENT_STORE + "GetLastToken", _identity, _identity)(b"", metadata=md), 1)
    target = last if not o.max_events else min(last, o.max_events - 1)
    half = max(1, o.permits // 2)
    grants = threading.Semaphore(0)
    done = threading.Event()

    def requests() -> Any:
        yield _field_varint(2, o.permits) + _field_bytes(3, b"bench-py")
        while not done.is_set():
            if grants.acquire(timeout=0.2):
                yield _field_varint(2, half)

    start = time.time()
    deadline = start + o.seconds
    call = channel.stream_stream(EVENT_STORE + "ListEvents", _identity, _identity)(requests(), metadata=md)
    n = size = since = 0
    token = -1
    for msg in call:
        n += 1
        size += len(msg)
        token = read_varint_field(msg, 1)
        if token >= target or (n % 1024 == 0 and time.time() > deadline):
            break
        since += 1
        if since >= half:
            since = 0
            grants.release()
    elapsed = time.time() - start
    done.set()
    call.cancel()
    emit({"mode": "replay", "label": o.label, "events": n, "bytes": size, "last_token": last, "final_token": token,
          "reached_target": token >= target, "permits": o.permits, "seconds": elapsed, "events_per_s": n / elapsed,
          "client": "python"})


def _timed_reads(o: argparse.Namespace, open_stream: Any) -> dict[str, Any]:
    times: list[float] = []
    n = size = 0
    for _ in range(o.repeat):
        start = time.time()
        for msg in open_stream():
            n += 1
            size += len(msg)
        times.append(time.time() - start)
    ms = sorted(t * 1000 for t in times)
    return {"min_ms": ms[0], "median_ms": ms[len(ms) // 2], "max_ms": ms[-1], "bytes": size,
            "events_per_s": n / sum(times), "msgs_per_s": n / sum(times), "events": n // o.repeat}


def run_raw_read(o: argparse.Namespace) -> None:
    channel = grpc.insecure_channel(o.addr)
    method = "ReadWrite" if o.label == "ReadWrite" else "Read"
    _, size = sample_sizes(o.payload)
    request = struct.pack("<QQ", o.events, size)
    stream = channel.unary_stream(RAW + method, _identity, _identity)
    record = _timed_reads(o, lambda: stream(request))
    emit({"mode": "raw-read", "label": o.label, "method": method, "message_bytes": size, "repeat": o.repeat,
          "client": "python", **record})


def run_load_aggregate(o: argparse.Namespace) -> None:
    channel = grpc.insecure_channel(o.addr)
    md = metadata(o)
    agg = o.aggregate
    if not agg:
        agg = f"load-{uuid.uuid4().hex[:8]}"
        payload = b"a" * o.payload
        per_tx = max(1, o.events_per_tx)
        for seq in range(0, o.aggregate_events, per_tx):
            batch = [encode_event(str(uuid.uuid4()), agg, s, payload)
                     for s in range(seq, min(seq + per_tx, o.aggregate_events))]
            send_tx(channel, EVENT_STORE + "AppendEvent", batch, md, True)
    request = _field_bytes(1, agg.encode())
    stream = channel.unary_stream(EVENT_STORE + "ListAggregateEvents", _identity, _identity)
    record = _timed_reads(o, lambda: stream(request, metadata=md))
    emit({"mode": "load-aggregate", "label": o.label, "aggregate": agg, "repeat": o.repeat, "client": "python",
          **record})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ranvier.bench.pyload", description=__doc__.splitlines()[0])
    p.add_argument("-mode", required=True)
    p.add_argument("-addr", default="127.0.0.1:8124")
    p.add_argument("-context", default="default")
    p.add_argument("-clients", type=int, default=1)
    p.add_argument("-events-per-tx", dest="events_per_tx", type=int, default=1)
    p.add_argument("-seconds", type=float, default=10)
    p.add_argument("-warmup", type=float, default=1)
    p.add_argument("-payload", type=int, default=256)
    p.add_argument("-events", type=int, default=1_000_000)
    p.add_argument("-aggregates", type=int, default=100_000)
    p.add_argument("-aggregate-events", dest="aggregate_events", type=int, default=1000)
    p.add_argument("-permits", type=int, default=10_000)
    p.add_argument("-aggregate", default="")
    p.add_argument("-repeat", type=int, default=5)
    p.add_argument("-max-events", dest="max_events", type=int, default=0)
    p.add_argument("-progress", type=float, default=5)
    p.add_argument("-label", default="")
    o = p.parse_args(argv)
    if o.mode == "sizes":
        event, with_token = sample_sizes(o.payload)
        emit({"mode": "sizes", "payload_bytes": o.payload, "event_bytes": event, "event_with_token_bytes": with_token})
        return 0
    check_loopback(o.addr)
    try:
        if o.mode == "append":
            run_append(o, EVENT_STORE + "AppendEvent", True)
        elif o.mode == "raw-write":
            run_append(o, RAW + "Write", False)
        elif o.mode == "raw-write-sync":
            run_append(o, RAW + "WriteSync", False)
        elif o.mode == "fill":
            run_fill(o)
        elif o.mode == "replay":
            run_replay(o)
        elif o.mode == "raw-read":
            run_raw_read(o)
        elif o.mode == "load-aggregate":
            run_load_aggregate(o)
        else:
            raise SystemExit(f"unknown -mode {o.mode!r}")
    except grpc.RpcError as exc:
        emit({"mode": o.mode, "error": f"{exc.code()}: {exc.details()}"})  # type: ignore[attr-defined]
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
