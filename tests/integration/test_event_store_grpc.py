"""The EventStore and PlatformService gRPC APIs, driven by real Axon clients.

`axonclient` (PyPI) is the client where it has a call; for the calls it lacks, the
tests use the stubs compiled into that same package, never our own protobuf code.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from uuid import uuid4

import grpc
import pytest
from axonclient.client import AxonClient, AxonEvent
from axonclient.exceptions import OutOfRangeError
from axonclient.protos import control_pb2, control_pb2_grpc, event_pb2, event_pb2_grpc
from axonclient.protos.event_pb2 import Event

from ranvier.testing.nodes import NodeProcess


def domain_event(agg: str, seq: int, payload_type: str = "OrderPlaced", data: bytes = b"{}") -> AxonEvent:
    return AxonEvent(
        message_identifier=str(uuid4()),
        aggregate_identifier=agg,
        aggregate_sequence_number=seq,
        aggregate_type="Order",
        payload_type=payload_type,
        payload_revision="1",
        payload_data=data,
    )


@pytest.fixture(scope="module")
def client(node: NodeProcess) -> Iterator[AxonClient]:
    c = AxonClient(node.grpc_address)
    yield c
    c.close_connection()


@pytest.fixture(scope="module")
def stub(node: NodeProcess) -> Iterator[event_pb2_grpc.EventStoreStub]:
    channel = grpc.insecure_channel(node.grpc_address)
    yield event_pb2_grpc.EventStoreStub(channel)
    channel.close()


def test_append_and_list_aggregate_events(client: AxonClient) -> None:
    agg = str(uuid4())
    assert client.list_aggregate_events(agg, 0, False) == []
    client.append_event(domain_event(agg, 0))
    with pytest.raises(OutOfRangeError, match="Invalid sequence number"):
        client.append_event(domain_event(agg, 0))
    client.append_event([domain_event(agg, 1), domain_event(agg, 2)])
    events = client.list_aggregate_events(agg, 0, False)
    assert [e.aggregate_sequence_number for e in events] == [0, 1, 2]
    assert client.list_aggregate_events(agg, 2, False)[0].aggregate_sequence_number == 2


def test_sequence_error_carries_axon_code_status_and_text(stub: event_pb2_grpc.EventStoreStub) -> None:
    agg = str(uuid4())
    raw = Event(aggregate_identifier=agg, aggregate_sequence_number=3, aggregate_type="Order")
    with pytest.raises(grpc.RpcError) as info:
        stub.AppendEvent(iter([raw]))
    error = info.value
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert error.details() == f"[AXONIQ-2000] Invalid sequence number 3 for aggregate {agg}, expected 0"
    assert ("axoniq-errorcode", "AXONIQ-2000") in error.trailing_metadata()


def test_failed_transaction_stores_nothing(client: AxonClient, stub: event_pb2_grpc.EventStoreStub) -> None:
    a, b = str(uuid4()), str(uuid4())
    before = client.get_last_token()
    with pytest.raises(OutOfRangeError):
        client.append_event([domain_event(a, 0), domain_event(b, 5)])
    assert client.get_last_token() == before
    assert client.list_aggregate_events(a, 0, False) == []


def test_cancelled_stream_stores_nothing(node: NodeProcess, client: AxonClient) -> None:
    # grpc.aio ends a cancelled request stream like a completed one; the server has
    # to tell them apart. Ten rounds, because the race it guards against is timing.
    for _ in range(10):
        agg = str(uuid4())
        channel = grpc.insecure_channel(node.grpc_address)
        stub = event_pb2_grpc.EventStoreStub(channel)
        sent = threading.Event()
        release = threading.Event()

        def requests() -> Iterator[Event]:
            yield domain_event(agg, 0).to_grpc()
            sent.set()
            release.wait(10)

        call = stub.AppendEvent.future(requests())
        assert sent.wait(10)
        call.cancel()
        release.set()
        assert call.cancelled()
        channel.close()
        assert client.list_aggregate_events(agg, 0, False) == []
        assert stub_highest(node, agg) == -1


def stub_highest(node: NodeProcess, agg: str) -> int:
    with grpc.insecure_channel(node.grpc_address) as channel:
        response = event_pb2_grpc.EventStoreStub(channel).ReadHighestSequenceNr(
            event_pb2.ReadHighestSequenceNrRequest(aggregate_id=agg)
        )
        return int(response.to_sequence_nr)


def test_snapshots_and_loading_from_the_latest(client: AxonClient, stub: event_pb2_grpc.EventStoreStub) -> None:
    agg = str(uuid4())
    client.append_event([domain_event(agg, i) for i in range(5)])
    with pytest.raises(grpc.RpcError) as info:
        client.append_snapshot(
            AxonEvent(aggregate_identifier=agg, aggregate_sequence_number=9, aggregate_type="Order", snapshot=True)
        )
    assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert info.value.details() == (
        f"[AXONIQ-2000] Invalid sequence number while storing snapshot. Highest aggregate {agg} "
        "sequence number: 4, snapshot sequence 9."
    )
    for seq in (1, 3):
        client.append_snapshot(
            AxonEvent(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="Order",
                      payload_type="OrderSnapshot", snapshot=True)
        )
    snapshots = client.list_snapshot_events(agg)
    assert [s.aggregate_sequence_number for s in snapshots] == [3, 1]  # newest first
    assert [s.aggregate_sequence_number for s in client.list_snapshot_events(agg, max_results=1)] == [3]
    loaded = client.list_aggregate_events(agg, 0, True)
    assert [(e.aggregate_sequence_number, e.payload_type) for e in loaded] == [
        (3, "OrderSnapshot"), (4, "OrderPlaced"),
    ]
    # max_sequence bounds the read (newer field, via the raw stub).
    request = event_pb2.GetAggregateEventsRequest(aggregate_id=agg, initial_sequence=1, allow_snapshots=False)
    request_bytes = request.SerializeToString() + _field_varint(4, 2)  # max_sequence = 2
    channel_stub = stub.ListAggregateEvents
    raw = list(channel_stub(event_pb2.GetAggregateEventsRequest.FromString(request_bytes)))
    assert [e.aggregate_sequence_number for e in raw] == [1, 2]


def _field_varint(number: int, value: int) -> bytes:
    return bytes([number << 3, value])


def test_read_highest_sequence_and_tokens(node: NodeProcess, client: AxonClient, stub: event_pb2_grpc.EventStoreStub) -> None:
    agg = str(uuid4())
    assert stub_highest(node, agg) == -1
    client.append_event([domain_event(agg, 0), domain_event(agg, 1)])
    assert stub_highest(node, agg) == 1
    last = client.get_last_token()
    assert last >= 1
    assert client.get_first_token() == 0
    now_ms = int(time.time() * 1000)
    at = stub.GetTokenAt(event_pb2.GetTokenAtRequest(instant=now_ms + 3_600_000)).token
    assert at == last + 1


def test_list_events_with_axonclient(client: AxonClient) -> None:
    next_token = client.get_last_token() + 1
    assert client.list_events(tracking_token=next_token, number_of_permits=10) == []
    agg = str(uuid4())
    client.append_event([domain_event(agg, 0), domain_event(agg, 1)])
    listed = client.list_events(tracking_token=next_token, number_of_permits=10)
    assert [token for token, _ in listed] == [next_token, next_token + 1]
    assert all(e.aggregate_identifier == agg for _, e in listed)


class Tracker:
    """A ListEvents stream whose requests the test controls."""

    def __init__(self, stub: event_pb2_grpc.EventStoreStub, first: event_pb2.GetEventsRequest) -> None:
        self.requests: queue.Queue[event_pb2.GetEventsRequest | None] = queue.Queue()
        self.requests.put(first)
        self.received: queue.Queue[event_pb2.EventWithToken] = queue.Queue()
        self.call = stub.ListEvents(iter(self.requests.get, None))
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            for message in self.call:
                self.received.put(message)
        except grpc.RpcError:
            pass

    def take(self, n: int, timeout: float = 10) -> list[int]:
        return [self.received.get(timeout=timeout).token for _ in range(n)]

    def nothing_more(self) -> bool:
        # No fixed sleep: the server has been given a chance by a round trip first.
        return self.received.empty()

    def close(self) -> None:
        self.requests.put(None)
        self.thread.join(10)


def test_list_events_honours_permits_and_tails(client: AxonClient, stub: event_pb2_grpc.EventStoreStub) -> None:
    start = client.get_last_token() + 1
    agg = str(uuid4())
    client.append_event([domain_event(agg, i) for i in range(5)])
    tracker = Tracker(stub, event_pb2.GetEventsRequest(tracking_token=start, number_of_permits=3))
    assert tracker.take(3) == [start, start + 1, start + 2]
    client.get_last_token()  # a round trip; the tracker must still hold back
    assert tracker.nothing_more()
    tracker.requests.put(event_pb2.GetEventsRequest(number_of_permits=10))
    assert tracker.take(2) == [start + 3, start + 4]
    # Tailing: a new append reaches the open stream without polling.
    client.append_event([domain_event(agg, 5)])
    assert tracker.take(1) == [start + 5]
    tracker.close()


def test_list_events_skips_blacklisted_payload_types(client: AxonClient, stub: event_pb2_grpc.EventStoreStub) -> None:
    start = client.get_last_token() + 1
    agg = str(uuid4())
    client.append_event([domain_event(agg, 0, "Noise"), domain_event(agg, 1, "Wanted"), domain_event(agg, 2, "Noise")])
    blacklist = [event_pb2.PayloadDescription(type="Noise", revision="1")]
    tracker = Tracker(stub, event_pb2.GetEventsRequest(tracking_token=start, number_of_permits=100, blacklist=blacklist))
    assert tracker.take(1) == [start + 1]
    client.append_event([domain_event(agg, 3, "Wanted")])
    assert tracker.take(1) == [start + 3]
    tracker.close()


def test_unknown_context_gets_axon_code(node: NodeProcess) -> None:
    with grpc.insecure_channel(node.grpc_address) as channel:
        stub = event_pb2_grpc.EventStoreStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.GetLastToken(event_pb2.GetLastTokenRequest(), metadata=[("axoniq-context", "nope")])
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details().startswith("[AXONIQ-1302]")


def test_malformed_event_is_refused_and_stores_nothing(node: NodeProcess, client: AxonClient) -> None:
    before = client.get_last_token()
    with grpc.insecure_channel(node.grpc_address) as channel:
        append = channel.stream_unary(
            "/io.axoniq.axonserver.grpc.event.EventStore/AppendEvent",
            request_serializer=lambda b: b, response_deserializer=lambda b: b,
        )
        with pytest.raises(grpc.RpcError) as info:
            append(iter([domain_event(str(uuid4()), 0).to_grpc().SerializeToString(), b"\xff\xff\xff"]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith("[AXONIQ-")
    assert client.get_last_token() == before


def test_oversized_message_gets_a_clear_error(node: NodeProcess, client: AxonClient) -> None:
    big = domain_event(str(uuid4()), 0, data=b"x" * (5 * 1024 * 1024))
    with pytest.raises(grpc.RpcError) as info:
        client.event_store_stub.AppendEvent(iter([big.to_grpc()]))
    assert info.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
    # The node still serves.
    agg = str(uuid4())
    client.append_event(domain_event(agg, 0))
    assert len(client.list_aggregate_events(agg, 0, False)) == 1


def test_platform_service_answers_and_acknowledges(node: NodeProcess) -> None:
    with grpc.insecure_channel(node.grpc_address) as channel:
        stub = control_pb2_grpc.PlatformServiceStub(channel)
        info = stub.GetPlatformServer(control_pb2.ClientIdentification(client_id="c1", component_name="test"))
        assert info.same_connection
        assert info.primary.grpc_port == node.grpc_port
        assert info.primary.node_name == "node1"
        outbound: queue.Queue[control_pb2.PlatformInboundInstruction | None] = queue.Queue()
        outbound.put(control_pb2.PlatformInboundInstruction(
            register=control_pb2.ClientIdentification(client_id="c1", component_name="test"), instruction_id="r1"))
        outbound.put(control_pb2.PlatformInboundInstruction(heartbeat=control_pb2.Heartbeat(), instruction_id="h1"))
        stream = stub.OpenStream(iter(outbound.get, None))
        acks = [next(stream).ack.instruction_id for _ in range(2)]
        assert acks == ["r1", "h1"]
        outbound.put(None)
        assert list(stream) == []
