"""Pure helpers of `ranvier bench --cluster`: percentiles, summaries, table rendering."""

from __future__ import annotations

import pytest

from ranvier.bench.cluster import (
    append_rows,
    catchup_rows,
    failover_rows,
    markdown_table,
    percentile,
    ratio,
    render_cluster,
    summarize,
)


def test_percentile_is_nearest_rank_like_the_loadgen() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 0.5) == 51.0  # index round(0.5 * 99) = 50
    assert percentile(values, 0.99) == 99.0  # index round(0.99 * 99) = 98
    assert percentile(values, 1.0) == 100.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0  # sorts first
    assert percentile([7.0], 0.99) == 7.0


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_summarize() -> None:
    assert summarize([]) == {"n": 0}
    s = summarize([1.0, 2.0, 4.0, 1.0])
    assert s["n"] == 4 and s["max"] == 4.0 and s["min"] == 1.0 and s["mean"] == 2.0
    assert s["p50"] == 2.0 and s["p99"] == 4.0


def test_ratio() -> None:
    assert ratio(50.0, 100.0) == 0.5
    assert ratio(None, 100.0) is None
    assert ratio(10.0, 0.0) is None


def test_markdown_table_escapes_pipes() -> None:
    text = markdown_table(["a", "b"], [["x|y", "1"]])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| x/y | 1 |"]


def _append(rate: float, cpu: float = 100.0) -> dict[str, float]:
    return {"events_per_s": rate, "p50_ms": 1.0, "p99_ms": 2.0, "server_cpu_pct": cpu}


def test_append_rows_ratio_and_target() -> None:
    results = {
        "single": {"16,100": _append(20_000), "1,1": _append(400)},
        "leader": {"1,1": _append(200), "16,100": _append(9_000)},
        "follower": {"16,100": _append(4_500)},
        "spread": {"16,100": _append(10_000)},
        "replay": {"leader": {"events_per_s": 5_000.0}},
        "single_replay": {"events_per_s": 10_000.0},
    }
    rows = append_rows(results)
    assert rows[0][0] == "append 1 client x 1 event/tx, to the leader"
    assert rows[0][3] == "50 %" and rows[0][4] == "-"  # no target for unbatched appends
    assert rows[1][3] == "45 %" and "**missed**" in rows[1][4]
    assert rows[2][0].endswith("to a follower (forwarded)")
    assert rows[2][3] == "22 %" and rows[2][4] == "50 % of the leader row"
    assert rows[3][0].endswith("clients spread over all nodes")
    assert rows[3][3] == "50 %" and rows[3][4] == "111 % of the leader row"
    assert rows[4][0] == "ListEvents replay from token 0, on the leader" and rows[4][3] == "50 %"


def test_append_rows_with_an_error() -> None:
    rows = append_rows({"single": {"1,100": _append(100)}, "leader": {"1,100": {"error": "boom"}}})
    assert rows[0][1] == "error: boom" and rows[0][3] == "-"


def test_failover_and_catchup_rows() -> None:
    assert "no successful kill" in failover_rows({"summary": {"n": 0}})[0][1]
    row = failover_rows({"summary": summarize([1.0, 1.5, 3.0]), "raft": "default", "failed": 0, "timeout_s": 30})[0]
    assert "3 kills" in row[0] and "p99 3.00 s" in row[1] and "**missed**" in row[2]
    row = catchup_rows({"events": 1_000_000, "log_bytes": 400e6, "seconds": 4.0, "mb_per_s": 100.0,
                        "events_per_s": 250_000.0, "note": "n"})[0]
    assert "1,000,000 events" in row[0] and "100.0 MB/s" in row[1] and "**met**" in row[2]
    assert catchup_rows({}) == []
    assert catchup_rows({"error": "x"})[0][1] == "error: x"


def test_render_cluster_has_both_tables() -> None:
    text = render_cluster({
        "meta": {"nodes": 3, "raft": "default", "client": "go"},
        "single": {"1,100": _append(100)}, "leader": {"1,100": _append(60)},
        "failover": {"summary": summarize([1.0]), "raft": "default", "failed": 0, "timeout_s": 30},
    })
    assert "| workload | 3 nodes | 1 node (standalone) |" in text
    assert "| measure | result | target | note |" in text
    assert "60 %" in text


def test_a_median_row_shows_every_round() -> None:
    results = {"single": {"16,100": {**_append(40_000), "samples": [50_000.0, 40_000.0, 30_000.0]}},
               "leader": {"16,100": {**_append(21_000), "samples": [20_000.0, 21_000.0, 25_000.0]}}}
    row = append_rows(results)[0]
    assert row[1].startswith("21,000 events/s (median of 20,000 / 21,000 / 25,000)")
    assert row[3] == "52 %" and "**met**" in row[4]
