"""A full disk refuses writes with a clear error and corrupts nothing.

The node's event storage sits on a small tmpfs of its own, so the disk really fills
(ENOSPC from the kernel). Mounting needs root; where that is not allowed, the test
is skipped and says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import grpc
import pytest
from axonclient.client import AxonClient, AxonEvent

from ranvier.testing.nodes import NodeProcess


def event(agg: str, seq: int) -> AxonEvent:
    return AxonEvent(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="Big",
                     payload_type="Blob", payload_data=b"z" * 20_000)


def test_full_disk_refuses_writes_keeps_data_and_recovers(tmp_path: Path, tmpfs: Callable[[str], Path]) -> None:
    small_disk = tmpfs("3m")
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 512 * 1024)
    node = NodeProcess(tmp_path, properties={"axoniq.axonserver.event.storage": str(small_disk / "events")})
    node.start()
    try:
        client = AxonClient(node.grpc_address)
        agg = str(uuid4())
        acked = 0
        with pytest.raises(grpc.RpcError) as info:
            for seq in range(1000):
                client.append_event(event(agg, seq))
                acked += 1
        assert acked > 10
        assert info.value.details().startswith("[AXONIQ-9100]")
        assert "disk is full" in info.value.details() or "index cannot be written" in info.value.details()
        # What was acknowledged is all there, and the node still serves reads.
        assert [e.aggregate_sequence_number for e in client.list_aggregate_events(agg, 0, False)] == list(range(acked))
        # Space comes back: writes resume where they stopped.
        filler.unlink()
        for seq in range(acked, acked + 3):
            _append_when_possible(client, agg, seq)
        client.close_connection()
        node.stop()
        node.start()
        client = AxonClient(node.grpc_address)
        events = client.list_aggregate_events(agg, 0, False)
        assert [e.aggregate_sequence_number for e in events] == list(range(acked + 3))
        assert client.get_last_token() == acked + 2
        client.close_connection()
    finally:
        node.kill()


def _append_when_possible(client: AxonClient, agg: str, seq: int) -> None:
    """After space is freed the index writer retries with backoff; until it has
    caught up, writes are refused with the same clear error. Wait for that condition."""
    deadline = time.monotonic() + 15
    while True:
        try:
            client.append_event(event(agg, seq))
            return
        except grpc.RpcError as exc:
            if time.monotonic() > deadline or not exc.details().startswith("[AXONIQ-9100]"):
                raise
            time.sleep(0.1)
