from ranvier._pb import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Event(_message.Message):
    __slots__ = ("identifier", "timestamp", "name", "version", "payload", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    identifier: str
    timestamp: int
    name: str
    version: str
    payload: bytes
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, identifier: _Optional[str] = ..., timestamp: _Optional[int] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., payload: _Optional[bytes] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Tag(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    value: bytes
    def __init__(self, key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class TaggedEvent(_message.Message):
    __slots__ = ("event", "tag")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    event: Event
    tag: _containers.RepeatedCompositeFieldContainer[Tag]
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., tag: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ...) -> None: ...

class SequencedEvent(_message.Message):
    __slots__ = ("sequence", "event")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    event: Event
    def __init__(self, sequence: _Optional[int] = ..., event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class ConsistencyCondition(_message.Message):
    __slots__ = ("consistency_marker", "criterion")
    CONSISTENCY_MARKER_FIELD_NUMBER: _ClassVar[int]
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    consistency_marker: int
    criterion: _containers.RepeatedCompositeFieldContainer[Criterion]
    def __init__(self, consistency_marker: _Optional[int] = ..., criterion: _Optional[_Iterable[_Union[Criterion, _Mapping]]] = ...) -> None: ...

class Criterion(_message.Message):
    __slots__ = ("tags_and_names",)
    TAGS_AND_NAMES_FIELD_NUMBER: _ClassVar[int]
    tags_and_names: TagsAndNamesCriterion
    def __init__(self, tags_and_names: _Optional[_Union[TagsAndNamesCriterion, _Mapping]] = ...) -> None: ...

class TagsAndNamesCriterion(_message.Message):
    __slots__ = ("name", "tag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    name: _containers.RepeatedScalarFieldContainer[str]
    tag: _containers.RepeatedCompositeFieldContainer[Tag]
    def __init__(self, name: _Optional[_Iterable[str]] = ..., tag: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ...) -> None: ...

class AppendEventsRequest(_message.Message):
    __slots__ = ("condition", "event")
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    condition: ConsistencyCondition
    event: _containers.RepeatedCompositeFieldContainer[TaggedEvent]
    def __init__(self, condition: _Optional[_Union[ConsistencyCondition, _Mapping]] = ..., event: _Optional[_Iterable[_Union[TaggedEvent, _Mapping]]] = ...) -> None: ...

class AppendEventsResponse(_message.Message):
    __slots__ = ("sequence_of_the_first_event", "transaction_size", "consistency_marker")
    SEQUENCE_OF_THE_FIRST_EVENT_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_MARKER_FIELD_NUMBER: _ClassVar[int]
    sequence_of_the_first_event: int
    transaction_size: int
    consistency_marker: int
    def __init__(self, sequence_of_the_first_event: _Optional[int] = ..., transaction_size: _Optional[int] = ..., consistency_marker: _Optional[int] = ...) -> None: ...

class SourceEventsRequest(_message.Message):
    __slots__ = ("from_sequence", "criterion")
    FROM_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    from_sequence: int
    criterion: _containers.RepeatedCompositeFieldContainer[Criterion]
    def __init__(self, from_sequence: _Optional[int] = ..., criterion: _Optional[_Iterable[_Union[Criterion, _Mapping]]] = ...) -> None: ...

class SourceEventsResponse(_message.Message):
    __slots__ = ("event", "consistency_marker")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_MARKER_FIELD_NUMBER: _ClassVar[int]
    event: SequencedEvent
    consistency_marker: int
    def __init__(self, event: _Optional[_Union[SequencedEvent, _Mapping]] = ..., consistency_marker: _Optional[int] = ...) -> None: ...

class SnapshottedSourceRequest(_message.Message):
    __slots__ = ("snapshot_key", "criterion")
    SNAPSHOT_KEY_FIELD_NUMBER: _ClassVar[int]
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    snapshot_key: bytes
    criterion: _containers.RepeatedCompositeFieldContainer[Criterion]
    def __init__(self, snapshot_key: _Optional[bytes] = ..., criterion: _Optional[_Iterable[_Union[Criterion, _Mapping]]] = ...) -> None: ...

class SnapshottedSourceEventsResponse(_message.Message):
    __slots__ = ("snapshot", "event", "consistency_marker")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_MARKER_FIELD_NUMBER: _ClassVar[int]
    snapshot: Snapshot
    event: SequencedEvent
    consistency_marker: int
    def __init__(self, snapshot: _Optional[_Union[Snapshot, _Mapping]] = ..., event: _Optional[_Union[SequencedEvent, _Mapping]] = ..., consistency_marker: _Optional[int] = ...) -> None: ...

class StreamEventsRequest(_message.Message):
    __slots__ = ("from_sequence", "criterion")
    FROM_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    from_sequence: int
    criterion: _containers.RepeatedCompositeFieldContainer[Criterion]
    def __init__(self, from_sequence: _Optional[int] = ..., criterion: _Optional[_Iterable[_Union[Criterion, _Mapping]]] = ...) -> None: ...

class StreamEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: SequencedEvent
    def __init__(self, event: _Optional[_Union[SequencedEvent, _Mapping]] = ...) -> None: ...

class GetHeadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetHeadResponse(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class GetTailRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTailResponse(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class GetSequenceAtRequest(_message.Message):
    __slots__ = ("timestamp",)
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    def __init__(self, timestamp: _Optional[int] = ...) -> None: ...

class GetSequenceAtResponse(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class AddTagsRequest(_message.Message):
    __slots__ = ("sequence", "tag")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    tag: _containers.RepeatedCompositeFieldContainer[Tag]
    def __init__(self, sequence: _Optional[int] = ..., tag: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ...) -> None: ...

class AddTagsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RemoveTagsRequest(_message.Message):
    __slots__ = ("sequence", "tag")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    tag: _containers.RepeatedCompositeFieldContainer[Tag]
    def __init__(self, sequence: _Optional[int] = ..., tag: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ...) -> None: ...

class RemoveTagsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTagsRequest(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class GetTagsResponse(_message.Message):
    __slots__ = ("tag",)
    TAG_FIELD_NUMBER: _ClassVar[int]
    tag: _containers.RepeatedCompositeFieldContainer[Tag]
    def __init__(self, tag: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("name", "version", "payload", "timestamp", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    payload: bytes
    timestamp: int
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., payload: _Optional[bytes] = ..., timestamp: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AddSnapshotRequest(_message.Message):
    __slots__ = ("key", "sequence", "prune", "snapshot")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PRUNE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    sequence: int
    prune: bool
    snapshot: Snapshot
    def __init__(self, key: _Optional[bytes] = ..., sequence: _Optional[int] = ..., prune: _Optional[bool] = ..., snapshot: _Optional[_Union[Snapshot, _Mapping]] = ...) -> None: ...

class AddSnapshotResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteSnapshotsRequest(_message.Message):
    __slots__ = ("key", "to_sequence")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TO_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    to_sequence: int
    def __init__(self, key: _Optional[bytes] = ..., to_sequence: _Optional[int] = ...) -> None: ...

class DeleteSnapshotsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSnapshotsRequest(_message.Message):
    __slots__ = ("key", "from_sequence", "to_sequence")
    KEY_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TO_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    from_sequence: int
    to_sequence: int
    def __init__(self, key: _Optional[bytes] = ..., from_sequence: _Optional[int] = ..., to_sequence: _Optional[int] = ...) -> None: ...

class ListSnapshotsResponse(_message.Message):
    __slots__ = ("key", "sequence", "snapshot")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    sequence: int
    snapshot: Snapshot
    def __init__(self, key: _Optional[bytes] = ..., sequence: _Optional[int] = ..., snapshot: _Optional[_Union[Snapshot, _Mapping]] = ...) -> None: ...

class GetLastSnapshotRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    def __init__(self, key: _Optional[bytes] = ...) -> None: ...

class GetLastSnapshotResponse(_message.Message):
    __slots__ = ("key", "sequence", "snapshot")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    sequence: int
    snapshot: Snapshot
    def __init__(self, key: _Optional[bytes] = ..., sequence: _Optional[int] = ..., snapshot: _Optional[_Union[Snapshot, _Mapping]] = ...) -> None: ...

class ScheduleEventRequest(_message.Message):
    __slots__ = ("instant", "event")
    INSTANT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    instant: int
    event: Event
    def __init__(self, instant: _Optional[int] = ..., event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class RescheduleEventRequest(_message.Message):
    __slots__ = ("token", "instant", "event")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    INSTANT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    token: str
    instant: int
    event: Event
    def __init__(self, token: _Optional[str] = ..., instant: _Optional[int] = ..., event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class CancelScheduledEventRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class ScheduleToken(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...
