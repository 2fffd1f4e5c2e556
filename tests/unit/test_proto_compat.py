"""Our Axon Server API descriptors against axonclient's, and the private pool.

axonclient ships compiled descriptors of Axon Server's API. Everything it
defines must exist in ours with the same number, type, label, type name and
oneof, and every RPC must have the same types and streaming modes. Ours may
define more (newer messages, fields, enum values, services). The only
deliberate difference is listed in WIRE_COMPATIBLE_RETURN_TYPES and checked to
be wire-compatible instead.
"""

from __future__ import annotations

import importlib
import socket
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor_pb2 import FieldDescriptorProto as FDP

MODULES = ("common", "event", "command", "query", "control", "dcb")
ROOT = Path(__file__).resolve().parents[2]

# Method -> (axonclient's output type, ours). Ours is a superset of theirs
# with the same field 1, so old clients parse our answer unchanged.
WIRE_COMPATIBLE_RETURN_TYPES = {
    ".io.axoniq.axonserver.grpc.event.EventStore/AppendEvent": (
        ".io.axoniq.axonserver.grpc.event.Confirmation",
        ".io.axoniq.axonserver.grpc.event.ConfirmationWithConsistencyMarker",
    ),
}

axonclient_protos = pytest.importorskip("axonclient.protos")


def _files(package: str) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    out = {}
    for name in MODULES:
        module = importlib.import_module(f"{package}.{name}_pb2")
        fdp = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        out[name] = fdp
    return out


class _Index:
    def __init__(self, files: dict[str, descriptor_pb2.FileDescriptorProto]) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.methods: dict[str, descriptor_pb2.MethodDescriptorProto] = {}
        self.packages = {name: fdp.package for name, fdp in files.items()}
        for fdp in files.values():
            prefix = "." + fdp.package
            for message in fdp.message_type:
                self._walk(prefix, message)
            for enum in fdp.enum_type:
                self.enums[f"{prefix}.{enum.name}"] = enum
            for service in fdp.service:
                for method in service.method:
                    self.methods[f"{prefix}.{service.name}/{method.name}"] = method

    def _walk(self, prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = f"{prefix}.{message.name}"
        self.messages[name] = message
        for nested in message.nested_type:
            self._walk(name, nested)
        for enum in message.enum_type:
            self.enums[f"{name}.{enum.name}"] = enum


def _field_signature(message: descriptor_pb2.DescriptorProto, field: FDP) -> tuple:
    oneof = None
    if field.HasField("oneof_index") and not field.proto3_optional:
        oneof = message.oneof_decl[field.oneof_index].name
    return (
        field.number,
        FDP.Type.Name(field.type),
        FDP.Label.Name(field.label),
        field.type_name,
        oneof,
        field.proto3_optional,
    )


def _message_differences(theirs: _Index, ours: _Index, name: str) -> list[str]:
    """What in `theirs`' message `name` ours lacks or defines differently."""
    diffs = []
    a, b = theirs.messages[name], ours.messages[name]
    if a.options.map_entry != b.options.map_entry:
        diffs.append(f"{name}: map_entry {a.options.map_entry} vs ours {b.options.map_entry}")
    ours_fields = {f.name: f for f in b.field}
    ours_numbers = {f.number: f.name for f in b.field}
    for field in a.field:
        want = _field_signature(a, field)
        got_field = ours_fields.get(field.name)
        if got_field is None:
            taken = ours_numbers.get(field.number)
            diffs.append(f"{name}.{field.name}: missing in ours (number {field.number} is {taken!r})")
            continue
        got = _field_signature(b, got_field)
        if want != got:
            diffs.append(f"{name}.{field.name}: axonclient {want} vs ours {got}")
    return diffs


def _differences(theirs: _Index, ours: _Index) -> list[str]:
    diffs = []
    for name, package in theirs.packages.items():
        if ours.packages.get(name) != package:
            diffs.append(f"{name}.proto: package {package} vs ours {ours.packages.get(name)}")
    for name in sorted(theirs.messages):
        if name not in ours.messages:
            diffs.append(f"message {name}: missing in ours")
            continue
        diffs.extend(_message_differences(theirs, ours, name))
    for name in sorted(theirs.enums):
        if name not in ours.enums:
            diffs.append(f"enum {name}: missing in ours")
            continue
        want = {v.name: v.number for v in theirs.enums[name].value}
        got = {v.name: v.number for v in ours.enums[name].value}
        for value, number in want.items():
            if got.get(value) != number:
                diffs.append(f"enum {name}.{value}: axonclient {number} vs ours {got.get(value)}")
    for name in sorted(theirs.methods):
        if name not in ours.methods:
            diffs.append(f"rpc {name}: missing in ours")
            continue
        a, b = theirs.methods[name], ours.methods[name]
        want = (a.input_type, a.output_type, a.client_streaming, a.server_streaming)
        got = (b.input_type, b.output_type, b.client_streaming, b.server_streaming)
        allowed = WIRE_COMPATIBLE_RETURN_TYPES.get(name)
        if allowed and (a.output_type, b.output_type) == allowed:
            want = (a.input_type, b.output_type, a.client_streaming, a.server_streaming)
        if want != got:
            diffs.append(f"rpc {name}: axonclient {want} vs ours {got}")
    return diffs


@pytest.fixture(scope="module")
def indexes() -> tuple[_Index, _Index]:
    return _Index(_files("axonclient.protos")), _Index(_files("ranvier._pb"))


def test_ours_covers_everything_axonclient_defines(indexes: tuple[_Index, _Index]) -> None:
    theirs, ours = indexes
    diffs = _differences(theirs, ours)
    assert not diffs, "differences from axonclient:\n" + "\n".join(diffs)
    # The comparison really looked at something.
    assert len(theirs.messages) >= 90 and len(theirs.methods) >= 25


def test_allowed_return_type_changes_are_wire_compatible(indexes: tuple[_Index, _Index]) -> None:
    theirs, ours = indexes
    for method, (old, new) in WIRE_COMPATIBLE_RETURN_TYPES.items():
        assert theirs.methods[method].output_type == old
        assert ours.methods[method].output_type == new
        old_fields = {f.number: _field_signature(theirs.messages[old], f)[1:] for f in theirs.messages[old].field}
        new_fields = {f.number: _field_signature(ours.messages[new], f)[1:] for f in ours.messages[new].field}
        for number, signature in old_fields.items():
            assert new_fields.get(number) == signature, (method, number)


def test_newer_api_is_present(indexes: tuple[_Index, _Index]) -> None:
    _, ours = indexes
    for method in (
        ".io.axoniq.axonserver.grpc.event.EventScheduler/ScheduleEvent",
        ".io.axoniq.axonserver.grpc.event.EventTransformationService/TransformEvents",
        ".io.axoniq.axonserver.grpc.event.EventStore/QueryEvents",
        ".io.axoniq.axonserver.grpc.event.dcb.DcbEventStore/Append",
        ".io.axoniq.axonserver.grpc.event.dcb.DcbSnapshotStore/GetLast",
        ".io.axoniq.axonserver.grpc.event.dcb.SnapshottedDcbEventStore/Source",
        ".io.axoniq.axonserver.grpc.event.dcb.DcbEventScheduler/CancelScheduledEvent",
    ):
        assert method in ours.methods, method
    request = ours.messages[".io.axoniq.axonserver.grpc.event.GetEventsRequest"]
    assert {f.name: f.number for f in request.field}["force_read_from_leader"] == 7


def _clear_json_names(messages) -> None:  # type: ignore[no-untyped-def]
    for message in messages:
        for field in message.field:
            field.ClearField("json_name")
        _clear_json_names(message.nested_type)


def test_generated_code_matches_proto_sources(tmp_path: Path) -> None:
    """src/ranvier/_pb is what scripts/gen_proto.py makes of proto/axonserver."""
    protoc = pytest.importorskip("grpc_tools.protoc")
    include = Path(protoc.__file__).parent / "_proto"
    out = tmp_path / "set.pb"
    proto_dir = ROOT / "proto" / "axonserver"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_dir}", f"-I{include}",
         f"--descriptor_set_out={out}", *[f"{m}.proto" for m in MODULES]],
        check=True,
        cwd=proto_dir,
    )
    compiled = {f.name: f for f in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file}
    for name, generated in _files("ranvier._pb").items():
        source = compiled[f"{name}.proto"]
        source.ClearField("source_code_info")
        _clear_json_names(source.message_type)  # the Python generator drops them
        assert generated == source, f"src/ranvier/_pb/{name}_pb2.py is stale: run `make proto`"


def test_ranvier_protocols_match_their_sources(tmp_path: Path) -> None:
    """Our own protocols (proto/ranvier, e.g. the peer service) are generated too,
    into the same private pool."""
    protoc = pytest.importorskip("grpc_tools.protoc")
    include = Path(protoc.__file__).parent / "_proto"
    out = tmp_path / "set.pb"
    proto_dir = ROOT / "proto" / "ranvier"
    names = sorted(p.name for p in proto_dir.glob("*.proto"))
    assert names, "proto/ranvier has no .proto files"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_dir}", f"-I{include}",
         f"--descriptor_set_out={out}", *names],
        check=True,
        cwd=proto_dir,
    )
    from ranvier._pb import POOL

    for source in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        module = importlib.import_module(f"ranvier._pb.{source.name[:-len('.proto')]}_pb2")
        generated = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        source.ClearField("source_code_info")
        _clear_json_names(source.message_type)
        assert generated == source, f"src/ranvier/_pb/{source.name} is stale: run `make proto`"
        assert POOL.FindFileByName(source.name).package == source.package  # the private pool


# ---------------------------------------------------------------- private pool


def test_private_pool_coexists_with_axonclient() -> None:
    from axonclient.protos import event_pb2 as their_event

    from ranvier._pb import POOL
    from ranvier._pb import event_pb2 as our_event

    assert our_event.Event.DESCRIPTOR.file.pool is POOL
    assert POOL is not descriptor_pool.Default()
    assert their_event.Event.DESCRIPTOR.full_name == our_event.Event.DESCRIPTOR.full_name
    assert our_event.Event is not their_event.Event


def _sample_event(module):  # type: ignore[no-untyped-def]
    event = module.Event(
        message_identifier="4f1c",
        aggregate_identifier="order-1",
        aggregate_sequence_number=41,
        aggregate_type="Order",
        timestamp=1_700_000_000_123,
        snapshot=True,
    )
    event.payload.type = "com.example.OrderPlaced"
    event.payload.revision = "2"
    event.payload.data = bytes(range(256))
    event.meta_data["text"].text_value = "héllo"
    event.meta_data["number"].number_value = -(2**62)
    event.meta_data["flag"].boolean_value = True
    event.meta_data["double"].double_value = 2.5
    event.meta_data["bytes"].bytes_value.type = "blob"
    event.meta_data["bytes"].bytes_value.data = b"\x00\xff"
    return event


def _event_fields(event) -> dict:  # type: ignore[no-untyped-def]
    return {
        "message_identifier": event.message_identifier,
        "aggregate_identifier": event.aggregate_identifier,
        "aggregate_sequence_number": event.aggregate_sequence_number,
        "aggregate_type": event.aggregate_type,
        "timestamp": event.timestamp,
        "snapshot": event.snapshot,
        "payload": (event.payload.type, event.payload.revision, event.payload.data),
        "meta_data": {k: v.SerializeToString(deterministic=True) for k, v in event.meta_data.items()},
    }


def test_event_round_trips_between_ours_and_axonclient() -> None:
    from axonclient.protos import event_pb2 as their_event

    from ranvier._pb import event_pb2 as our_event

    ours = _sample_event(our_event)
    theirs = _sample_event(their_event)
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)

    parsed_by_them = their_event.Event.FromString(ours.SerializeToString())
    assert _event_fields(parsed_by_them) == _event_fields(ours)
    parsed_by_us = our_event.Event.FromString(theirs.SerializeToString())
    assert _event_fields(parsed_by_us) == _event_fields(theirs)
    assert our_event.Event.FromString(parsed_by_them.SerializeToString()) == ours

    with_token = our_event.EventWithToken(token=7, event=ours)
    assert their_event.EventWithToken.FromString(with_token.SerializeToString()).token == 7

    confirmation = our_event.ConfirmationWithConsistencyMarker(success=True)
    confirmation.consistency_marker.token = 99
    assert their_event.Confirmation.FromString(confirmation.SerializeToString()).success is True


def test_grpc_modules_import_and_register() -> None:
    from ranvier._pb import (
        command_pb2_grpc,
        control_pb2_grpc,
        dcb_pb2_grpc,
        event_pb2_grpc,
        query_pb2_grpc,
    )

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    try:
        for module, services in (
            (event_pb2_grpc, ("EventStore", "EventScheduler", "EventTransformationService")),
            (command_pb2_grpc, ("CommandService",)),
            (query_pb2_grpc, ("QueryService",)),
            (control_pb2_grpc, ("PlatformService",)),
            (dcb_pb2_grpc, ("DcbEventStore", "DcbSnapshotStore", "SnapshottedDcbEventStore", "DcbEventScheduler")),
        ):
            for service in services:
                servicer = getattr(module, f"{service}Servicer")()
                getattr(module, f"add_{service}Servicer_to_server")(servicer, server)
                assert getattr(module, f"{service}Stub")
    finally:
        server.stop(None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_axonclient_stub_talks_to_our_servicer() -> None:
    from axonclient.protos import event_pb2 as their_event
    from axonclient.protos import event_pb2_grpc as their_grpc

    from ranvier._pb import event_pb2 as our_event
    from ranvier._pb import event_pb2_grpc as our_grpc

    seen = []

    class Store(our_grpc.EventStoreServicer):
        def AppendEvent(self, request_iterator, context):  # type: ignore[no-untyped-def]
            seen.extend(request_iterator)
            reply = our_event.ConfirmationWithConsistencyMarker(success=True)
            reply.consistency_marker.token = len(seen) - 1
            return reply

        def GetLastToken(self, request, context):  # type: ignore[no-untyped-def]
            return our_event.TrackingToken(token=len(seen) - 1)

    port = _free_port()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    our_grpc.add_EventStoreServicer_to_server(Store(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = their_grpc.EventStoreStub(channel)
            events = [_sample_event(their_event), their_event.Event(message_identifier="second")]
            confirmation = stub.AppendEvent(iter(events), timeout=10)
            assert confirmation.success is True
            assert stub.GetLastToken(their_event.GetLastTokenRequest(), timeout=10).token == 1
    finally:
        server.stop(None)
    assert [e.message_identifier for e in seen] == ["4f1c", "second"]
    assert _event_fields(seen[0]) == _event_fields(_sample_event(our_event))

