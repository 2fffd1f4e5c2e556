from ranvier._pb import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CommandProviderOutbound(_message.Message):
    __slots__ = ("subscribe", "unsubscribe", "flow_control", "command_response", "ack", "instruction_id")
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    FLOW_CONTROL_FIELD_NUMBER: _ClassVar[int]
    COMMAND_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscribe: CommandSubscription
    unsubscribe: CommandSubscription
    flow_control: _common_pb2.FlowControl
    command_response: CommandResponse
    ack: _common_pb2.InstructionAck
    instruction_id: str
    def __init__(self, subscribe: _Optional[_Union[CommandSubscription, _Mapping]] = ..., unsubscribe: _Optional[_Union[CommandSubscription, _Mapping]] = ..., flow_control: _Optional[_Union[_common_pb2.FlowControl, _Mapping]] = ..., command_response: _Optional[_Union[CommandResponse, _Mapping]] = ..., ack: _Optional[_Union[_common_pb2.InstructionAck, _Mapping]] = ..., instruction_id: _Optional[str] = ...) -> None: ...

class CommandProviderInbound(_message.Message):
    __slots__ = ("ack", "command", "instruction_id")
    ACK_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    ack: _common_pb2.InstructionAck
    command: Command
    instruction_id: str
    def __init__(self, ack: _Optional[_Union[_common_pb2.InstructionAck, _Mapping]] = ..., command: _Optional[_Union[Command, _Mapping]] = ..., instruction_id: _Optional[str] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ("message_identifier", "name", "timestamp", "payload", "meta_data", "processing_instructions", "client_id", "component_name")
    class MetaDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.MetaDataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.MetaDataValue, _Mapping]] = ...) -> None: ...
    MESSAGE_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    META_DATA_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    message_identifier: str
    name: str
    timestamp: int
    payload: _common_pb2.SerializedObject
    meta_data: _containers.MessageMap[str, _common_pb2.MetaDataValue]
    processing_instructions: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProcessingInstruction]
    client_id: str
    component_name: str
    def __init__(self, message_identifier: _Optional[str] = ..., name: _Optional[str] = ..., timestamp: _Optional[int] = ..., payload: _Optional[_Union[_common_pb2.SerializedObject, _Mapping]] = ..., meta_data: _Optional[_Mapping[str, _common_pb2.MetaDataValue]] = ..., processing_instructions: _Optional[_Iterable[_Union[_common_pb2.ProcessingInstruction, _Mapping]]] = ..., client_id: _Optional[str] = ..., component_name: _Optional[str] = ...) -> None: ...

class CommandResponse(_message.Message):
    __slots__ = ("message_identifier", "error_code", "error_message", "payload", "meta_data", "processing_instructions", "request_identifier")
    class MetaDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.MetaDataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.MetaDataValue, _Mapping]] = ...) -> None: ...
    MESSAGE_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    META_DATA_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    message_identifier: str
    error_code: str
    error_message: _common_pb2.ErrorMessage
    payload: _common_pb2.SerializedObject
    meta_data: _containers.MessageMap[str, _common_pb2.MetaDataValue]
    processing_instructions: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProcessingInstruction]
    request_identifier: str
    def __init__(self, message_identifier: _Optional[str] = ..., error_code: _Optional[str] = ..., error_message: _Optional[_Union[_common_pb2.ErrorMessage, _Mapping]] = ..., payload: _Optional[_Union[_common_pb2.SerializedObject, _Mapping]] = ..., meta_data: _Optional[_Mapping[str, _common_pb2.MetaDataValue]] = ..., processing_instructions: _Optional[_Iterable[_Union[_common_pb2.ProcessingInstruction, _Mapping]]] = ..., request_identifier: _Optional[str] = ...) -> None: ...

class CommandSubscription(_message.Message):
    __slots__ = ("message_id", "command", "component_name", "client_id", "load_factor")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LOAD_FACTOR_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    command: str
    component_name: str
    client_id: str
    load_factor: int
    def __init__(self, message_id: _Optional[str] = ..., command: _Optional[str] = ..., component_name: _Optional[str] = ..., client_id: _Optional[str] = ..., load_factor: _Optional[int] = ...) -> None: ...
