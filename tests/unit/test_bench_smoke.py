"""`ranvier bench` plumbing: options, the table, the Python client's encoding.
No timing and no servers here: the benchmark itself is `ranvier bench`."""

from __future__ import annotations

import pytest

from ranvier._pb import event_pb2
from ranvier.bench import main as bench
from ranvier.bench import pyload


def test_defaults_are_the_issue_workloads() -> None:
    args = bench.parse_args([])
    assert args.clients == [1, 16, 64]
    assert args.events_per_tx == [1, 100]
    assert (args.fill_events, args.fill_aggregates) == (5_000_000, 500_000)
    assert args.aggregate_events == 10_000
    assert args.seconds == 10.0


def test_quick_shrinks_but_explicit_values_win() -> None:
    args = bench.parse_args(["--quick", "--fill-events", "1000", "--fill-aggregates", "10"])
    assert args.seconds == 2.0
    assert (args.fill_events, args.fill_aggregates) == (1000, 10)
    assert args.aggregate_events == 1_000


def test_bad_fill_shape_is_refused() -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(["--fill-events", "10", "--fill-aggregates", "20"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--cluster", "3", "--append-rounds", "0"])


def _results() -> bench.Results:
    write = {"events_per_s": 10_000.0, "p50_ms": 9.0, "p99_ms": 20.0}
    return bench.Results(
        meta={"date": "2026-01-01 00:00 UTC", "cores": 2, "client": "go", "event_bytes": 387},
        ceiling_write={"16,100": write, "1,1": {"events_per_s": 2_000.0, "p50_ms": 0.5, "p99_ms": 1.0}},
        ceiling_read={"events_per_s": 12_000.0, "method": "Read"},
        ceiling_read_small={"median_ms": 800.0},
        append={
            "16,100": {"events_per_s": 9_000.0, "p50_ms": 10.0, "p99_ms": 25.0, "server_cpu_pct": 105.0},
            "1,1": {"error": "UNAVAILABLE"},
        },
        load_aggregate={"events": 10_000, "median_ms": 1_000.0, "repeat": 5, "events_per_s": 10_000.0},
        fill={"events": 5_000_000, "aggregates": 500_000, "clients": 16, "events_per_s": 8_000.0,
              "seconds": 625.0},
        memory={"rss_after_fill_mib": 350.0, "stored_events": 5_000_000},
        replay={"events_per_s": 6_000.0, "events": 120_000, "last_token": 5_000_000, "reached_target": False},
    )


def test_table_has_every_row_with_ratios_and_verdicts() -> None:
    table = bench.render_table(_results())
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| workload | result | ceiling")
    body = "\n".join(lines[1:])
    assert "| append, 16 clients, 100 events/tx | 9,000 events/s" in body
    assert "| 90 % | >= 80% **met** |" in body
    assert "error: UNAVAILABLE" in body
    assert "| 50 % | >= 80% **missed** |" in body  # replay 6k of 12k
    assert "first 120,000 of 5,000,001" in body
    assert "<= 300 MiB **missed**" in body  # 350 MiB
    assert "load an aggregate of 10,000 events" in body


def test_the_event_loops_cpu_per_event_is_shown_under_the_table() -> None:
    results = _results()
    results.ceiling_write["16,100"] = dict(results.ceiling_write["16,100"], loop_cpu_pct=95.0)
    results.append["16,100"] = dict(results.append["16,100"], loop_cpu_pct=99.0)
    table = bench.render_table(results)
    # 0.99 s of CPU per second over 9,000 events/s; 0.95 over 10,000
    assert "Event-loop thread CPU per event, node / bare server: 16 x 100: 110.0 / 95.0 us (busy 99 / 95 %)." in table
    assert "Event-loop thread" not in bench.render_table(_results())  # not metered: no line


def test_a_ratio_on_the_line_shows_a_decimal() -> None:
    results = _results()
    results.append["16,100"] = dict(results.append["16,100"], events_per_s=7_970.0)  # of 10,000
    assert "| 79.7 % | >= 80% **missed** |" in bench.render_table(results)
    results.append["16,100"]["events_per_s"] = 8_030.0
    assert "| 80.3 % | >= 80% **met** |" in bench.render_table(results)


def test_a_thread_s_cpu_is_read_from_proc() -> None:
    import os

    assert bench.cpu_seconds(os.getpid(), os.getpid()) > 0
    assert bench.cpu_seconds(os.getpid(), 1 << 30) == 0.0  # no such thread


def test_python_fallback_is_labelled() -> None:
    results = _results()
    results.meta["client"] = "python"
    assert "multi-process Python fallback" in bench.render_table(results)


def test_python_client_encodes_real_axon_events() -> None:
    raw = pyload.encode_event("id-1", "agg-1", 300, b"x" * 256)
    event = event_pb2.Event.FromString(raw)
    assert (event.message_identifier, event.aggregate_identifier) == ("id-1", "agg-1")
    assert event.aggregate_sequence_number == 300
    assert event.aggregate_type == "BenchAggregate"
    assert event.payload.data == b"x" * 256
    framed = event_pb2.EventWithToken(token=5_000_000, event=event).SerializeToString()
    assert pyload.read_varint_field(framed, 1) == 5_000_000


def test_clients_spread_over_processes() -> None:
    spans = pyload._processes(64)
    assert sum(n for _, n in spans) == 64
    assert [first for first, _ in spans] == sorted({first for first, _ in spans})


def test_non_loopback_targets_are_refused() -> None:
    with pytest.raises(SystemExit):
        pyload.check_loopback("192.0.2.1:8124")
    pyload.check_loopback("127.0.0.1:8124")


def test_replay_rounds_compare_medians_and_show_the_best_bare_sample() -> None:
    node = [{"events_per_s": v, "events": 1, "last_token": 0, "reached_target": True} for v in (9_000.0, 11_000.0, 10_000.0)]
    bare = [{"events_per_s": v, "method": "Read"} for v in (12_000.0, 25_000.0, 12_500.0)]
    results = _results()
    results.replay = bench._median_sample(node)
    results.ceiling_read = bench._median_sample(bare)
    assert results.replay["events_per_s"] == 10_000.0 and results.replay["samples"] == [9_000.0, 11_000.0, 10_000.0]
    row = next(line for line in bench.render_table(results).splitlines() if "replay" in line)
    assert "median 10,000 of 9,000/11,000/10,000 events/s" in row
    assert "median 12,500 of 12,000/25,000/12,500 msgs/s" in row
    assert "best 25,000: 40 %" in row
    assert "| 80.0 % | >= 80% **met** |" in row  # on the line: one decimal


def test_an_errored_replay_round_is_what_the_row_shows() -> None:
    chosen = bench._median_sample([{"events_per_s": 5.0}, {"error": "UNAVAILABLE"}, {"events_per_s": 6.0}])
    assert chosen == {"error": "UNAVAILABLE"}


def test_the_data_disk_is_in_the_header_and_a_nearly_full_one_is_warned_of(tmp_path, monkeypatch) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    logged: list[str] = []
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(100 * 2**30, 98 * 2**30, 2 * 2**30))
    info = bench.disk_info(tmp_path, logged.append)
    assert info == {"free_gib": 2.0, "used_pct": 98.0}
    assert logged and "98 % full" in logged[0]
    results = _results()
    results.meta["disk"] = info
    assert "Data on a file system with 2 GiB free (98 % used)." in bench.render_table(results)
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(100 * 2**30, 25 * 2**30, 75 * 2**30))
    logged.clear()
    bench.disk_info(tmp_path, logged.append)
    assert logged == []


def test_append_rows_with_rounds_compare_medians() -> None:
    node = [{"events_per_s": v, "p50_ms": 10.0, "p99_ms": 20.0} for v in (8_000.0, 9_500.0, 9_000.0)]
    bare = [{"events_per_s": v, "p50_ms": 9.0, "p99_ms": 18.0} for v in (10_000.0, 9_000.0, 12_000.0)]
    results = _results()
    results.append["16,100"] = bench._median_sample(node)
    results.ceiling_write["16,100"] = bench._median_sample(bare)
    row = next(line for line in bench.render_table(results).splitlines() if "16 clients, 100" in line)
    assert "median 9,000 of 8,000/9,500/9,000 events/s" in row
    assert "median 10,000 of 10,000/9,000/12,000 events/s" in row
    assert "| 90 % | >= 80% **met** |" in row


def test_the_100_event_rows_are_shown_against_the_bare_server_with_fsync() -> None:
    results = _results()
    results.ceiling_write["1,100"] = {"events_per_s": 10_000.0, "p50_ms": 9.0, "p99_ms": 20.0}
    results.append["1,100"] = {"events_per_s": 7_000.0, "p50_ms": 13.0, "p99_ms": 25.0}
    durable = [{"events_per_s": v, "p50_ms": 10.5, "p99_ms": 22.0} for v in (8_000.0, 8_750.0, 9_000.0)]
    results.durable_write["1,100"] = bench._median_sample(durable)
    results.ceiling_write["16,100"] = {"events_per_s": 40_000.0, "p50_ms": 38.0, "p99_ms": 50.0}
    results.append["16,100"] = {"events_per_s": 31_000.0, "p50_ms": 50.0, "p99_ms": 70.0}
    results.durable_write["16,100"] = {"events_per_s": 29_000.0, "p50_ms": 53.0, "p99_ms": 75.0}
    table = bench.render_table(results)
    assert ("fdatasyncs every transaction before replying (group commit when streams overlap; the least a "
            "durable acknowledgement costs on this disk): 1 x 100: median 8,750 of 8,000/8,750/9,000 events/s, "
            "p50 10.5 ms (88 % of the ceiling); the node is 80 % of it; 16 x 100: 29,000 events/s, p50 53.0 ms "
            "(72 % of the ceiling); the node is 107 % of it.") in table
    assert "fdatasyncs every transaction" not in bench.render_table(_results())  # not measured: no line
