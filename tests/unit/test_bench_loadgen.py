"""The Go load generator's several-address append (`-addr a,b`), against a real node."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from ranvier.bench.main import Client, build_loadgen
from ranvier.testing.nodes import NodeProcess

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="needs Go for bench/loadgen")


def test_append_takes_several_addresses_and_other_modes_refuse_them(tmp_path: Path) -> None:
    client = Client([str(build_loadgen(lambda _m: None))], "go", lambda _m: None)
    node = NodeProcess(tmp_path, name="n1")
    node.start(timeout=60)
    try:
        # The same node under two spellings (client i dials address i mod 2).
        both = f"{node.grpc_address},localhost:{node.grpc_address.rsplit(':', 1)[1]}"
        r = client.run("append", both, clients=4, events_per_tx=10, seconds=0.5, warmup=0.1)
        assert "error" not in r, r
        assert r["events"] > 0 and r["errors"] == 0, r
        refused = client.run("replay", both, seconds=0.5)
        assert "takes one -addr" in refused.get("error", ""), refused
    finally:
        node.stop()


def test_the_bare_server_writes_and_syncs_every_stream_before_replying_with_a_sync_dir(tmp_path: Path) -> None:
    from ranvier.bench.main import RawServer

    client = Client([str(build_loadgen(lambda _m: None))], "go", lambda _m: None)
    raw = RawServer(sync_dir=tmp_path)
    try:
        r = client.run("raw-write-sync", raw.addr, clients=1, events_per_tx=10, seconds=0.5, warmup=0.1)
        assert "error" not in r, r
        assert r["events"] > 0 and r["errors"] == 0, r
        written = (tmp_path / "raw-sync.log").read_bytes()
        assert written.rstrip(b"\0") and written[:1] == b"\x0a"  # encoded Events: field 1 first
    finally:
        raw.stop()
    (tmp_path / "group").mkdir()
    raw = RawServer(sync_dir=tmp_path / "group")
    try:
        # Overlapping streams are group-committed on a worker thread: every one
        # is acknowledged, and what was acknowledged is in the file (each event
        # carries a 256-byte payload, warm-up events included).
        r = client.run("raw-write-sync", raw.addr, clients=8, events_per_tx=10, seconds=0.5, warmup=0.1)
        assert "error" not in r, r
        assert r["events"] > 0 and r["errors"] == 0, r
        written = (tmp_path / "group" / "raw-sync.log").read_bytes().rstrip(b"\0")
        assert len(written) >= r["events"] * 256, (len(written), r["events"])
    finally:
        raw.stop()
    plain = RawServer()
    try:
        refused = client.run("raw-write-sync", plain.addr, clients=1, events_per_tx=10, seconds=0.3, warmup=0.1)
        assert refused.get("errors", 0) > 0 or "error" in refused, refused  # no file to sync to: refused
    finally:
        plain.stop()


def _raw_server_module():  # type: ignore[no-untyped-def]
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bench" / "raw_server.py"
    spec = importlib.util.spec_from_file_location("raw_server_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_durable_references_log_syncs_a_lone_stream_at_once_and_groups_overlapping_ones(tmp_path: Path) -> None:
    sync_log = _raw_server_module().SyncLog(str(tmp_path))

    async def scenario() -> None:
        await sync_log.commit(b"lone")  # nothing else open: written and synced before it returns
        assert sync_log.syncs == 1
        sync_log.open_streams = 1  # another stream is being read: these are group-committed
        commits = [asyncio.ensure_future(sync_log.commit(b"tx%d;" % i)) for i in range(6)]
        await asyncio.sleep(0)  # all six queued, the syncing task not yet started
        commits[2].cancel()  # a client gone while it waits: its data is in the batch, the rest go on
        await asyncio.gather(*commits[:2], *commits[3:])
        sync_log.open_streams = 0

    asyncio.run(scenario())
    assert (tmp_path / "raw-sync.log").read_bytes().rstrip(b"\0") == b"lone" + b"".join(b"tx%d;" % i for i in range(6))
    # All six were queued before the syncing task took its first batch: one fdatasync.
    assert sync_log.syncs == 2
