from ranvier._pb import common_pb2 as _common_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransformationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVE: _ClassVar[TransformationState]
    CANCELLED: _ClassVar[TransformationState]
    APPLYING: _ClassVar[TransformationState]
    APPLIED: _ClassVar[TransformationState]
ACTIVE: TransformationState
CANCELLED: TransformationState
APPLYING: TransformationState
APPLIED: TransformationState

class Event(_message.Message):
    __slots__ = ("message_identifier", "aggregate_identifier", "aggregate_sequence_number", "aggregate_type", "timestamp", "payload", "meta_data", "snapshot")
    class MetaDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.MetaDataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.MetaDataValue, _Mapping]] = ...) -> None: ...
    MESSAGE_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    META_DATA_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    message_identifier: str
    aggregate_identifier: str
    aggregate_sequence_number: int
    aggregate_type: str
    timestamp: int
    payload: _common_pb2.SerializedObject
    meta_data: _containers.MessageMap[str, _common_pb2.MetaDataValue]
    snapshot: bool
    def __init__(self, message_identifier: _Optional[str] = ..., aggregate_identifier: _Optional[str] = ..., aggregate_sequence_number: _Optional[int] = ..., aggregate_type: _Optional[str] = ..., timestamp: _Optional[int] = ..., payload: _Optional[_Union[_common_pb2.SerializedObject, _Mapping]] = ..., meta_data: _Optional[_Mapping[str, _common_pb2.MetaDataValue]] = ..., snapshot: _Optional[bool] = ...) -> None: ...

class EventWithToken(_message.Message):
    __slots__ = ("token", "event")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    token: int
    event: Event
    def __init__(self, token: _Optional[int] = ..., event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class PayloadDescription(_message.Message):
    __slots__ = ("type", "revision")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    type: str
    revision: str
    def __init__(self, type: _Optional[str] = ..., revision: _Optional[str] = ...) -> None: ...

class Confirmation(_message.Message):
    __slots__ = ("success",)
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    def __init__(self, success: _Optional[bool] = ...) -> None: ...

class ConfirmationWithConsistencyMarker(_message.Message):
    __slots__ = ("success", "consistency_marker")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_MARKER_FIELD_NUMBER: _ClassVar[int]
    success: bool
    consistency_marker: ConsistencyMarker
    def __init__(self, success: _Optional[bool] = ..., consistency_marker: _Optional[_Union[ConsistencyMarker, _Mapping]] = ...) -> None: ...

class ConsistencyMarker(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: int
    def __init__(self, token: _Optional[int] = ...) -> None: ...

class GetAggregateEventsRequest(_message.Message):
    __slots__ = ("aggregate_id", "initial_sequence", "allow_snapshots", "max_sequence", "min_token")
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    INITIAL_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    MIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    aggregate_id: str
    initial_sequence: int
    allow_snapshots: bool
    max_sequence: int
    min_token: int
    def __init__(self, aggregate_id: _Optional[str] = ..., initial_sequence: _Optional[int] = ..., allow_snapshots: _Optional[bool] = ..., max_sequence: _Optional[int] = ..., min_token: _Optional[int] = ...) -> None: ...

class GetAggregateSnapshotsRequest(_message.Message):
    __slots__ = ("aggregate_id", "initial_sequence", "max_sequence", "max_results")
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    INITIAL_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    aggregate_id: str
    initial_sequence: int
    max_sequence: int
    max_results: int
    def __init__(self, aggregate_id: _Optional[str] = ..., initial_sequence: _Optional[int] = ..., max_sequence: _Optional[int] = ..., max_results: _Optional[int] = ...) -> None: ...

class GetEventsRequest(_message.Message):
    __slots__ = ("tracking_token", "number_of_permits", "client_id", "component_name", "processor", "blacklist", "force_read_from_leader")
    TRACKING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NUMBER_OF_PERMITS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    PROCESSOR_FIELD_NUMBER: _ClassVar[int]
    BLACKLIST_FIELD_NUMBER: _ClassVar[int]
    FORCE_READ_FROM_LEADER_FIELD_NUMBER: _ClassVar[int]
    tracking_token: int
    number_of_permits: int
    client_id: str
    component_name: str
    processor: str
    blacklist: _containers.RepeatedCompositeFieldContainer[PayloadDescription]
    force_read_from_leader: bool
    def __init__(self, tracking_token: _Optional[int] = ..., number_of_permits: _Optional[int] = ..., client_id: _Optional[str] = ..., component_name: _Optional[str] = ..., processor: _Optional[str] = ..., blacklist: _Optional[_Iterable[_Union[PayloadDescription, _Mapping]]] = ..., force_read_from_leader: _Optional[bool] = ...) -> None: ...

class ReadHighestSequenceNrRequest(_message.Message):
    __slots__ = ("aggregate_id", "from_sequence_nr")
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQUENCE_NR_FIELD_NUMBER: _ClassVar[int]
    aggregate_id: str
    from_sequence_nr: int
    def __init__(self, aggregate_id: _Optional[str] = ..., from_sequence_nr: _Optional[int] = ...) -> None: ...

class ReadHighestSequenceNrResponse(_message.Message):
    __slots__ = ("to_sequence_nr",)
    TO_SEQUENCE_NR_FIELD_NUMBER: _ClassVar[int]
    to_sequence_nr: int
    def __init__(self, to_sequence_nr: _Optional[int] = ...) -> None: ...

class GetFirstTokenRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetLastTokenRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTokenAtRequest(_message.Message):
    __slots__ = ("instant",)
    INSTANT_FIELD_NUMBER: _ClassVar[int]
    instant: int
    def __init__(self, instant: _Optional[int] = ...) -> None: ...

class TrackingToken(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: int
    def __init__(self, token: _Optional[int] = ...) -> None: ...

class QueryEventsRequest(_message.Message):
    __slots__ = ("query", "number_of_permits", "live_events", "force_read_from_leader", "query_snapshots", "context_name")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    NUMBER_OF_PERMITS_FIELD_NUMBER: _ClassVar[int]
    LIVE_EVENTS_FIELD_NUMBER: _ClassVar[int]
    FORCE_READ_FROM_LEADER_FIELD_NUMBER: _ClassVar[int]
    QUERY_SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_NAME_FIELD_NUMBER: _ClassVar[int]
    query: str
    number_of_permits: int
    live_events: bool
    force_read_from_leader: bool
    query_snapshots: bool
    context_name: str
    def __init__(self, query: _Optional[str] = ..., number_of_permits: _Optional[int] = ..., live_events: _Optional[bool] = ..., force_read_from_leader: _Optional[bool] = ..., query_snapshots: _Optional[bool] = ..., context_name: _Optional[str] = ...) -> None: ...

class QueryEventsResponse(_message.Message):
    __slots__ = ("columns", "row", "files_completed")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    FILES_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    columns: ColumnsResponse
    row: RowResponse
    files_completed: Confirmation
    def __init__(self, columns: _Optional[_Union[ColumnsResponse, _Mapping]] = ..., row: _Optional[_Union[RowResponse, _Mapping]] = ..., files_completed: _Optional[_Union[Confirmation, _Mapping]] = ...) -> None: ...

class ColumnsResponse(_message.Message):
    __slots__ = ("column",)
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    column: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, column: _Optional[_Iterable[str]] = ...) -> None: ...

class RowResponse(_message.Message):
    __slots__ = ("id_values", "sort_values", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: QueryValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[QueryValue, _Mapping]] = ...) -> None: ...
    ID_VALUES_FIELD_NUMBER: _ClassVar[int]
    SORT_VALUES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    id_values: _containers.RepeatedCompositeFieldContainer[QueryValue]
    sort_values: _containers.RepeatedCompositeFieldContainer[QueryValue]
    values: _containers.MessageMap[str, QueryValue]
    def __init__(self, id_values: _Optional[_Iterable[_Union[QueryValue, _Mapping]]] = ..., sort_values: _Optional[_Iterable[_Union[QueryValue, _Mapping]]] = ..., values: _Optional[_Mapping[str, QueryValue]] = ...) -> None: ...

class QueryValue(_message.Message):
    __slots__ = ("text_value", "number_value", "boolean_value", "double_value")
    TEXT_VALUE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOLEAN_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    text_value: str
    number_value: int
    boolean_value: bool
    double_value: float
    def __init__(self, text_value: _Optional[str] = ..., number_value: _Optional[int] = ..., boolean_value: _Optional[bool] = ..., double_value: _Optional[float] = ...) -> None: ...

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

class TransformationId(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Transformation(_message.Message):
    __slots__ = ("transformationId", "state", "sequence", "context", "description", "applied_at", "apply_requester", "version")
    TRANSFORMATIONID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLY_REQUESTER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    transformationId: TransformationId
    state: TransformationState
    sequence: int
    context: str
    description: str
    applied_at: int
    apply_requester: str
    version: int
    def __init__(self, transformationId: _Optional[_Union[TransformationId, _Mapping]] = ..., state: _Optional[_Union[TransformationState, str]] = ..., sequence: _Optional[int] = ..., context: _Optional[str] = ..., description: _Optional[str] = ..., applied_at: _Optional[int] = ..., apply_requester: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class StartTransformationRequest(_message.Message):
    __slots__ = ("description",)
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    description: str
    def __init__(self, description: _Optional[str] = ...) -> None: ...

class TransformRequest(_message.Message):
    __slots__ = ("transformation_id", "sequence", "replace_event", "delete_event")
    TRANSFORMATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    REPLACE_EVENT_FIELD_NUMBER: _ClassVar[int]
    DELETE_EVENT_FIELD_NUMBER: _ClassVar[int]
    transformation_id: TransformationId
    sequence: int
    replace_event: TransformedEvent
    delete_event: DeletedEvent
    def __init__(self, transformation_id: _Optional[_Union[TransformationId, _Mapping]] = ..., sequence: _Optional[int] = ..., replace_event: _Optional[_Union[TransformedEvent, _Mapping]] = ..., delete_event: _Optional[_Union[DeletedEvent, _Mapping]] = ...) -> None: ...

class TransformedEvent(_message.Message):
    __slots__ = ("token", "event")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    token: int
    event: Event
    def __init__(self, token: _Optional[int] = ..., event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class DeletedEvent(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: int
    def __init__(self, token: _Optional[int] = ...) -> None: ...

class TransformRequestAck(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class ApplyTransformationRequest(_message.Message):
    __slots__ = ("transformation_id", "last_sequence")
    TRANSFORMATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    transformation_id: TransformationId
    last_sequence: int
    def __init__(self, transformation_id: _Optional[_Union[TransformationId, _Mapping]] = ..., last_sequence: _Optional[int] = ...) -> None: ...

class CompactionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
