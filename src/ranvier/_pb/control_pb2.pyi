from ranvier._pb import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpdateType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADD_COMMAND_HANDLER: _ClassVar[UpdateType]
    REMOVE_COMMAND_HANDLER: _ClassVar[UpdateType]
    ADD_QUERY_HANDLER: _ClassVar[UpdateType]
    REMOVE_QUERY_HANDLER: _ClassVar[UpdateType]
    RESET_ALL: _ClassVar[UpdateType]
ADD_COMMAND_HANDLER: UpdateType
REMOVE_COMMAND_HANDLER: UpdateType
ADD_QUERY_HANDLER: UpdateType
REMOVE_QUERY_HANDLER: UpdateType
RESET_ALL: UpdateType

class PlatformInboundInstruction(_message.Message):
    __slots__ = ("register", "event_processor_info", "heartbeat", "ack", "result", "subscribe_topology_changes", "unsubscribe_topology_changes", "instruction_id")
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    EVENT_PROCESSOR_INFO_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_TOPOLOGY_CHANGES_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_TOPOLOGY_CHANGES_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    register: ClientIdentification
    event_processor_info: EventProcessorInfo
    heartbeat: Heartbeat
    ack: _common_pb2.InstructionAck
    result: _common_pb2.InstructionResult
    subscribe_topology_changes: SubscribeTopologyChanges
    unsubscribe_topology_changes: UnsubscribeTopologyChanges
    instruction_id: str
    def __init__(self, register: _Optional[_Union[ClientIdentification, _Mapping]] = ..., event_processor_info: _Optional[_Union[EventProcessorInfo, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., ack: _Optional[_Union[_common_pb2.InstructionAck, _Mapping]] = ..., result: _Optional[_Union[_common_pb2.InstructionResult, _Mapping]] = ..., subscribe_topology_changes: _Optional[_Union[SubscribeTopologyChanges, _Mapping]] = ..., unsubscribe_topology_changes: _Optional[_Union[UnsubscribeTopologyChanges, _Mapping]] = ..., instruction_id: _Optional[str] = ...) -> None: ...

class SubscribeTopologyChanges(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UnsubscribeTopologyChanges(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PlatformOutboundInstruction(_message.Message):
    __slots__ = ("node_notification", "request_reconnect", "pause_event_processor", "start_event_processor", "release_segment", "request_event_processor_info", "split_event_processor_segment", "merge_event_processor_segment", "heartbeat", "ack", "topology_change", "instruction_id")
    NODE_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_RECONNECT_FIELD_NUMBER: _ClassVar[int]
    PAUSE_EVENT_PROCESSOR_FIELD_NUMBER: _ClassVar[int]
    START_EVENT_PROCESSOR_FIELD_NUMBER: _ClassVar[int]
    RELEASE_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_EVENT_PROCESSOR_INFO_FIELD_NUMBER: _ClassVar[int]
    SPLIT_EVENT_PROCESSOR_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    MERGE_EVENT_PROCESSOR_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGY_CHANGE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    node_notification: NodeInfo
    request_reconnect: RequestReconnect
    pause_event_processor: EventProcessorReference
    start_event_processor: EventProcessorReference
    release_segment: EventProcessorSegmentReference
    request_event_processor_info: EventProcessorReference
    split_event_processor_segment: EventProcessorSegmentReference
    merge_event_processor_segment: EventProcessorSegmentReference
    heartbeat: Heartbeat
    ack: _common_pb2.InstructionAck
    topology_change: TopologyChange
    instruction_id: str
    def __init__(self, node_notification: _Optional[_Union[NodeInfo, _Mapping]] = ..., request_reconnect: _Optional[_Union[RequestReconnect, _Mapping]] = ..., pause_event_processor: _Optional[_Union[EventProcessorReference, _Mapping]] = ..., start_event_processor: _Optional[_Union[EventProcessorReference, _Mapping]] = ..., release_segment: _Optional[_Union[EventProcessorSegmentReference, _Mapping]] = ..., request_event_processor_info: _Optional[_Union[EventProcessorReference, _Mapping]] = ..., split_event_processor_segment: _Optional[_Union[EventProcessorSegmentReference, _Mapping]] = ..., merge_event_processor_segment: _Optional[_Union[EventProcessorSegmentReference, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., ack: _Optional[_Union[_common_pb2.InstructionAck, _Mapping]] = ..., topology_change: _Optional[_Union[TopologyChange, _Mapping]] = ..., instruction_id: _Optional[str] = ...) -> None: ...

class RequestReconnect(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PlatformInfo(_message.Message):
    __slots__ = ("primary", "same_connection")
    PRIMARY_FIELD_NUMBER: _ClassVar[int]
    SAME_CONNECTION_FIELD_NUMBER: _ClassVar[int]
    primary: NodeInfo
    same_connection: bool
    def __init__(self, primary: _Optional[_Union[NodeInfo, _Mapping]] = ..., same_connection: _Optional[bool] = ...) -> None: ...

class NodeInfo(_message.Message):
    __slots__ = ("host_name", "grpc_port", "http_port", "version", "node_name")
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    GRPC_PORT_FIELD_NUMBER: _ClassVar[int]
    HTTP_PORT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    host_name: str
    grpc_port: int
    http_port: int
    version: int
    node_name: str
    def __init__(self, host_name: _Optional[str] = ..., grpc_port: _Optional[int] = ..., http_port: _Optional[int] = ..., version: _Optional[int] = ..., node_name: _Optional[str] = ...) -> None: ...

class ClientIdentification(_message.Message):
    __slots__ = ("client_id", "component_name", "tags", "version")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    component_name: str
    tags: _containers.ScalarMap[str, str]
    version: str
    def __init__(self, client_id: _Optional[str] = ..., component_name: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., version: _Optional[str] = ...) -> None: ...

class EventProcessorInfo(_message.Message):
    __slots__ = ("processor_name", "mode", "active_threads", "running", "error", "segment_status", "available_threads", "token_store_identifier", "is_streaming_processor", "load_balancing_strategy_name")
    class SegmentStatus(_message.Message):
        __slots__ = ("segment_id", "caught_up", "replaying", "one_part_of", "token_position", "error_state")
        SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
        CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
        REPLAYING_FIELD_NUMBER: _ClassVar[int]
        ONE_PART_OF_FIELD_NUMBER: _ClassVar[int]
        TOKEN_POSITION_FIELD_NUMBER: _ClassVar[int]
        ERROR_STATE_FIELD_NUMBER: _ClassVar[int]
        segment_id: int
        caught_up: bool
        replaying: bool
        one_part_of: int
        token_position: int
        error_state: str
        def __init__(self, segment_id: _Optional[int] = ..., caught_up: _Optional[bool] = ..., replaying: _Optional[bool] = ..., one_part_of: _Optional[int] = ..., token_position: _Optional[int] = ..., error_state: _Optional[str] = ...) -> None: ...
    PROCESSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_THREADS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_THREADS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_STORE_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    IS_STREAMING_PROCESSOR_FIELD_NUMBER: _ClassVar[int]
    LOAD_BALANCING_STRATEGY_NAME_FIELD_NUMBER: _ClassVar[int]
    processor_name: str
    mode: str
    active_threads: int
    running: bool
    error: bool
    segment_status: _containers.RepeatedCompositeFieldContainer[EventProcessorInfo.SegmentStatus]
    available_threads: int
    token_store_identifier: str
    is_streaming_processor: bool
    load_balancing_strategy_name: str
    def __init__(self, processor_name: _Optional[str] = ..., mode: _Optional[str] = ..., active_threads: _Optional[int] = ..., running: _Optional[bool] = ..., error: _Optional[bool] = ..., segment_status: _Optional[_Iterable[_Union[EventProcessorInfo.SegmentStatus, _Mapping]]] = ..., available_threads: _Optional[int] = ..., token_store_identifier: _Optional[str] = ..., is_streaming_processor: _Optional[bool] = ..., load_balancing_strategy_name: _Optional[str] = ...) -> None: ...

class EventProcessorReference(_message.Message):
    __slots__ = ("processor_name",)
    PROCESSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    processor_name: str
    def __init__(self, processor_name: _Optional[str] = ...) -> None: ...

class EventProcessorSegmentReference(_message.Message):
    __slots__ = ("processor_name", "segment_identifier")
    PROCESSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    processor_name: str
    segment_identifier: int
    def __init__(self, processor_name: _Optional[str] = ..., segment_identifier: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TopologyChange(_message.Message):
    __slots__ = ("update_type", "context", "client_id", "client_stream_id", "component_name", "command", "query")
    UPDATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    update_type: UpdateType
    context: str
    client_id: str
    client_stream_id: str
    component_name: str
    command: CommandSubscription
    query: QuerySubscription
    def __init__(self, update_type: _Optional[_Union[UpdateType, str]] = ..., context: _Optional[str] = ..., client_id: _Optional[str] = ..., client_stream_id: _Optional[str] = ..., component_name: _Optional[str] = ..., command: _Optional[_Union[CommandSubscription, _Mapping]] = ..., query: _Optional[_Union[QuerySubscription, _Mapping]] = ...) -> None: ...

class CommandSubscription(_message.Message):
    __slots__ = ("name", "load_factor")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOAD_FACTOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    load_factor: int
    def __init__(self, name: _Optional[str] = ..., load_factor: _Optional[int] = ...) -> None: ...

class QuerySubscription(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...
