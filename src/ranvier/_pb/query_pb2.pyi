from ranvier._pb import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueryProviderOutbound(_message.Message):
    __slots__ = ("subscribe", "unsubscribe", "flow_control", "query_response", "query_complete", "subscription_query_response", "ack", "instruction_id")
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    FLOW_CONTROL_FIELD_NUMBER: _ClassVar[int]
    QUERY_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    QUERY_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_QUERY_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscribe: QuerySubscription
    unsubscribe: QuerySubscription
    flow_control: _common_pb2.FlowControl
    query_response: QueryResponse
    query_complete: QueryComplete
    subscription_query_response: SubscriptionQueryResponse
    ack: _common_pb2.InstructionAck
    instruction_id: str
    def __init__(self, subscribe: _Optional[_Union[QuerySubscription, _Mapping]] = ..., unsubscribe: _Optional[_Union[QuerySubscription, _Mapping]] = ..., flow_control: _Optional[_Union[_common_pb2.FlowControl, _Mapping]] = ..., query_response: _Optional[_Union[QueryResponse, _Mapping]] = ..., query_complete: _Optional[_Union[QueryComplete, _Mapping]] = ..., subscription_query_response: _Optional[_Union[SubscriptionQueryResponse, _Mapping]] = ..., ack: _Optional[_Union[_common_pb2.InstructionAck, _Mapping]] = ..., instruction_id: _Optional[str] = ...) -> None: ...

class QueryProviderInbound(_message.Message):
    __slots__ = ("ack", "query", "subscription_query_request", "query_cancel", "query_flow_control", "instruction_id")
    ACK_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_QUERY_REQUEST_FIELD_NUMBER: _ClassVar[int]
    QUERY_CANCEL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FLOW_CONTROL_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    ack: _common_pb2.InstructionAck
    query: QueryRequest
    subscription_query_request: SubscriptionQueryRequest
    query_cancel: QueryReference
    query_flow_control: QueryFlowControl
    instruction_id: str
    def __init__(self, ack: _Optional[_Union[_common_pb2.InstructionAck, _Mapping]] = ..., query: _Optional[_Union[QueryRequest, _Mapping]] = ..., subscription_query_request: _Optional[_Union[SubscriptionQueryRequest, _Mapping]] = ..., query_cancel: _Optional[_Union[QueryReference, _Mapping]] = ..., query_flow_control: _Optional[_Union[QueryFlowControl, _Mapping]] = ..., instruction_id: _Optional[str] = ...) -> None: ...

class QueryReference(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class QueryComplete(_message.Message):
    __slots__ = ("message_id", "request_id")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    request_id: str
    def __init__(self, message_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class QueryFlowControl(_message.Message):
    __slots__ = ("query_reference", "permits")
    QUERY_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PERMITS_FIELD_NUMBER: _ClassVar[int]
    query_reference: QueryReference
    permits: int
    def __init__(self, query_reference: _Optional[_Union[QueryReference, _Mapping]] = ..., permits: _Optional[int] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("message_identifier", "query", "timestamp", "payload", "meta_data", "response_type", "processing_instructions", "client_id", "component_name")
    class MetaDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.MetaDataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.MetaDataValue, _Mapping]] = ...) -> None: ...
    MESSAGE_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    META_DATA_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    message_identifier: str
    query: str
    timestamp: int
    payload: _common_pb2.SerializedObject
    meta_data: _containers.MessageMap[str, _common_pb2.MetaDataValue]
    response_type: _common_pb2.SerializedObject
    processing_instructions: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProcessingInstruction]
    client_id: str
    component_name: str
    def __init__(self, message_identifier: _Optional[str] = ..., query: _Optional[str] = ..., timestamp: _Optional[int] = ..., payload: _Optional[_Union[_common_pb2.SerializedObject, _Mapping]] = ..., meta_data: _Optional[_Mapping[str, _common_pb2.MetaDataValue]] = ..., response_type: _Optional[_Union[_common_pb2.SerializedObject, _Mapping]] = ..., processing_instructions: _Optional[_Iterable[_Union[_common_pb2.ProcessingInstruction, _Mapping]]] = ..., client_id: _Optional[str] = ..., component_name: _Optional[str] = ...) -> None: ...

class QueryResponse(_message.Message):
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

class SubscriptionQuery(_message.Message):
    __slots__ = ("subscription_identifier", "number_of_permits", "query_request", "update_response_type")
    SUBSCRIPTION_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_OF_PERMITS_FIELD_NUMBER: _ClassVar[int]
    QUERY_REQUEST_FIELD_NUMBER: _ClassVar[int]
    UPDATE_RESPONSE_TYPE_FIELD_NUMBER: _ClassVar[int]
    subscription_identifier: str
    number_of_permits: int
    query_request: QueryRequest
    update_response_type: _common_pb2.SerializedObject
    def __init__(self, subscription_identifier: _Optional[str] = ..., number_of_permits: _Optional[int] = ..., query_request: _Optional[_Union[QueryRequest, _Mapping]] = ..., update_response_type: _Optional[_Union[_common_pb2.SerializedObject, _Mapping]] = ...) -> None: ...

class QueryUpdate(_message.Message):
    __slots__ = ("message_identifier", "payload", "meta_data", "client_id", "component_name", "error_code", "error_message")
    class MetaDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.MetaDataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.MetaDataValue, _Mapping]] = ...) -> None: ...
    MESSAGE_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    META_DATA_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message_identifier: str
    payload: _common_pb2.SerializedObject
    meta_data: _containers.MessageMap[str, _common_pb2.MetaDataValue]
    client_id: str
    component_name: str
    error_code: str
    error_message: _common_pb2.ErrorMessage
    def __init__(self, message_identifier: _Optional[str] = ..., payload: _Optional[_Union[_common_pb2.SerializedObject, _Mapping]] = ..., meta_data: _Optional[_Mapping[str, _common_pb2.MetaDataValue]] = ..., client_id: _Optional[str] = ..., component_name: _Optional[str] = ..., error_code: _Optional[str] = ..., error_message: _Optional[_Union[_common_pb2.ErrorMessage, _Mapping]] = ...) -> None: ...

class QueryUpdateComplete(_message.Message):
    __slots__ = ("client_id", "component_name")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    component_name: str
    def __init__(self, client_id: _Optional[str] = ..., component_name: _Optional[str] = ...) -> None: ...

class QueryUpdateCompleteExceptionally(_message.Message):
    __slots__ = ("client_id", "component_name", "error_code", "error_message")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    component_name: str
    error_code: str
    error_message: _common_pb2.ErrorMessage
    def __init__(self, client_id: _Optional[str] = ..., component_name: _Optional[str] = ..., error_code: _Optional[str] = ..., error_message: _Optional[_Union[_common_pb2.ErrorMessage, _Mapping]] = ...) -> None: ...

class SubscriptionQueryRequest(_message.Message):
    __slots__ = ("subscribe", "unsubscribe", "get_initial_result", "flow_control")
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    GET_INITIAL_RESULT_FIELD_NUMBER: _ClassVar[int]
    FLOW_CONTROL_FIELD_NUMBER: _ClassVar[int]
    subscribe: SubscriptionQuery
    unsubscribe: SubscriptionQuery
    get_initial_result: SubscriptionQuery
    flow_control: SubscriptionQuery
    def __init__(self, subscribe: _Optional[_Union[SubscriptionQuery, _Mapping]] = ..., unsubscribe: _Optional[_Union[SubscriptionQuery, _Mapping]] = ..., get_initial_result: _Optional[_Union[SubscriptionQuery, _Mapping]] = ..., flow_control: _Optional[_Union[SubscriptionQuery, _Mapping]] = ...) -> None: ...

class SubscriptionQueryResponse(_message.Message):
    __slots__ = ("message_identifier", "subscription_identifier", "initial_result", "update", "complete", "complete_exceptionally")
    MESSAGE_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    INITIAL_RESULT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_EXCEPTIONALLY_FIELD_NUMBER: _ClassVar[int]
    message_identifier: str
    subscription_identifier: str
    initial_result: QueryResponse
    update: QueryUpdate
    complete: QueryUpdateComplete
    complete_exceptionally: QueryUpdateCompleteExceptionally
    def __init__(self, message_identifier: _Optional[str] = ..., subscription_identifier: _Optional[str] = ..., initial_result: _Optional[_Union[QueryResponse, _Mapping]] = ..., update: _Optional[_Union[QueryUpdate, _Mapping]] = ..., complete: _Optional[_Union[QueryUpdateComplete, _Mapping]] = ..., complete_exceptionally: _Optional[_Union[QueryUpdateCompleteExceptionally, _Mapping]] = ...) -> None: ...

class QuerySubscription(_message.Message):
    __slots__ = ("message_id", "query", "result_name", "component_name", "client_id", "nr_of_handlers")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    RESULT_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    NR_OF_HANDLERS_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    query: str
    result_name: str
    component_name: str
    client_id: str
    nr_of_handlers: int
    def __init__(self, message_id: _Optional[str] = ..., query: _Optional[str] = ..., result_name: _Optional[str] = ..., component_name: _Optional[str] = ..., client_id: _Optional[str] = ..., nr_of_handlers: _Optional[int] = ...) -> None: ...
