from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProcessingKey(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTING_KEY: _ClassVar[ProcessingKey]
    PRIORITY: _ClassVar[ProcessingKey]
    TIMEOUT: _ClassVar[ProcessingKey]
    NR_OF_RESULTS: _ClassVar[ProcessingKey]
    SERVER_SUPPORTS_STREAMING: _ClassVar[ProcessingKey]
    CLIENT_SUPPORTS_STREAMING: _ClassVar[ProcessingKey]

class TaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULED: _ClassVar[TaskStatus]
    COMPLETED: _ClassVar[TaskStatus]
    FAILED: _ClassVar[TaskStatus]
    RUNNING: _ClassVar[TaskStatus]
    CANCELLED: _ClassVar[TaskStatus]
ROUTING_KEY: ProcessingKey
PRIORITY: ProcessingKey
TIMEOUT: ProcessingKey
NR_OF_RESULTS: ProcessingKey
SERVER_SUPPORTS_STREAMING: ProcessingKey
CLIENT_SUPPORTS_STREAMING: ProcessingKey
SCHEDULED: TaskStatus
COMPLETED: TaskStatus
FAILED: TaskStatus
RUNNING: TaskStatus
CANCELLED: TaskStatus

class SerializedObject(_message.Message):
    __slots__ = ("type", "revision", "data")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    type: str
    revision: str
    data: bytes
    def __init__(self, type: _Optional[str] = ..., revision: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class MetaDataValue(_message.Message):
    __slots__ = ("text_value", "number_value", "boolean_value", "double_value", "bytes_value")
    TEXT_VALUE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOLEAN_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    BYTES_VALUE_FIELD_NUMBER: _ClassVar[int]
    text_value: str
    number_value: int
    boolean_value: bool
    double_value: float
    bytes_value: SerializedObject
    def __init__(self, text_value: _Optional[str] = ..., number_value: _Optional[int] = ..., boolean_value: _Optional[bool] = ..., double_value: _Optional[float] = ..., bytes_value: _Optional[_Union[SerializedObject, _Mapping]] = ...) -> None: ...

class ProcessingInstruction(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: ProcessingKey
    value: MetaDataValue
    def __init__(self, key: _Optional[_Union[ProcessingKey, str]] = ..., value: _Optional[_Union[MetaDataValue, _Mapping]] = ...) -> None: ...

class ErrorMessage(_message.Message):
    __slots__ = ("message", "location", "details", "error_code")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    message: str
    location: str
    details: _containers.RepeatedScalarFieldContainer[str]
    error_code: str
    def __init__(self, message: _Optional[str] = ..., location: _Optional[str] = ..., details: _Optional[_Iterable[str]] = ..., error_code: _Optional[str] = ...) -> None: ...

class FlowControl(_message.Message):
    __slots__ = ("client_id", "permits")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PERMITS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    permits: int
    def __init__(self, client_id: _Optional[str] = ..., permits: _Optional[int] = ...) -> None: ...

class InstructionAck(_message.Message):
    __slots__ = ("instruction_id", "success", "error")
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    instruction_id: str
    success: bool
    error: ErrorMessage
    def __init__(self, instruction_id: _Optional[str] = ..., success: _Optional[bool] = ..., error: _Optional[_Union[ErrorMessage, _Mapping]] = ...) -> None: ...

class InstructionResult(_message.Message):
    __slots__ = ("instruction_id", "success", "error")
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    instruction_id: str
    success: bool
    error: ErrorMessage
    def __init__(self, instruction_id: _Optional[str] = ..., success: _Optional[bool] = ..., error: _Optional[_Union[ErrorMessage, _Mapping]] = ...) -> None: ...

class Component(_message.Message):
    __slots__ = ("component",)
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    component: str
    def __init__(self, component: _Optional[str] = ...) -> None: ...

class Principal(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...
