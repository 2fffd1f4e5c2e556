"""`ranvier bench messaging`: options, the table, and a tiny real run on one node.
Nothing here asserts on a rate or a latency: the benchmark measures, tests don't."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from ranvier.bench import messaging

AXONIQ_4000 = "handler never became reachable within 10 s (200 probes); last error: AXONIQ-4000: No Handler"


def test_defaults_are_the_issue_shapes() -> None:
    args = messaging.parse_args([])
    assert args.dispatchers == [1, 16, 64]
    assert args.kinds == ["command", "query"]
    assert args.setups == ["single", "forwarded"]
    assert args.seconds == 10.0


def test_many_dispatchers_share_several_connections() -> None:
    assert [messaging.connections(n, 4) for n in (1, 4, 5, 16, 64)] == [1, 1, 2, 4, 16]


def _ok(rate: float) -> dict[str, Any]:
    return {"round_trips": int(rate * 10), "round_trips_per_s": rate, "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0,
            "server_cpu_pct": 90.0}


def test_table_reports_an_unreachable_handler_as_a_failed_row() -> None:
    results = {
        "meta": {"date": "2026-01-01 00:00 UTC"}, "kinds": ["command"], "dispatchers": [16],
        "setups": ["single", "forwarded"],
        "baseline": {"command,16": _ok(3000.0)},
        "single": {"command,16": {**_ok(1500.0), "errors": 2, "first_error": "AXONIQ-4002: timeout"}},
        "forwarded": {"command,16": {"error": AXONIQ_4000}},
    }
    body = [line for line in messaging.render_table(results).splitlines() if line.startswith("| commands")]
    assert len(body) == 2
    single, forwarded = (line.split(" | ") for line in body)
    assert single[0] == "| commands, 16 dispatchers, one node"
    assert (single[1], single[4], single[6]) == ("1,500", "2 (first: AXONIQ-4002: timeout)", "50 %")
    assert forwarded[0] == "| commands, 16 dispatchers, forwarded n1 -> n2"
    assert (forwarded[1], forwarded[2], forwarded[6]) == ("n/a", "-", "-")
    assert "AXONIQ-4000" in forwarded[4]


@pytest.mark.skipif(shutil.which("go") is None, reason="needs Go for bench/loadgen")
def test_single_node_smoke_run() -> None:
    args = messaging.parse_args(["--seconds", "0.3", "--warmup", "0.1", "--dispatchers", "1", "4",
                                 "--setups", "single"])
    results = messaging.run(args, lambda _message: None)
    rows = messaging.rows(results)
    assert [row[0] for row in rows] == [
        "commands, 1 dispatcher, one node", "commands, 4 dispatchers, one node",
        "queries, 1 dispatcher, one node", "queries, 4 dispatchers, one node",
    ]
    for row in rows:
        assert row[4] == "0", row  # errors
        assert row[1] != "n/a", row
    assert set(results["baseline"]) == {"command,1", "command,4", "query,1", "query,4"}
    assert all(not b.get("errors") and "error" not in b for b in results["baseline"].values())
