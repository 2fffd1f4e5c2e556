from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Entry(_message.Message):
    __slots__ = ("term", "index", "data", "type")
    TERM_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    term: int
    index: int
    data: bytes
    type: int
    def __init__(self, term: _Optional[int] = ..., index: _Optional[int] = ..., data: _Optional[bytes] = ..., type: _Optional[int] = ...) -> None: ...

class ConfState(_message.Message):
    __slots__ = ("voters", "learners")
    VOTERS_FIELD_NUMBER: _ClassVar[int]
    LEARNERS_FIELD_NUMBER: _ClassVar[int]
    voters: _containers.RepeatedScalarFieldContainer[int]
    learners: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, voters: _Optional[_Iterable[int]] = ..., learners: _Optional[_Iterable[int]] = ...) -> None: ...

class SnapshotMetadata(_message.Message):
    __slots__ = ("index", "term", "conf_state")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    CONF_STATE_FIELD_NUMBER: _ClassVar[int]
    index: int
    term: int
    conf_state: ConfState
    def __init__(self, index: _Optional[int] = ..., term: _Optional[int] = ..., conf_state: _Optional[_Union[ConfState, _Mapping]] = ...) -> None: ...

class RaftMessage(_message.Message):
    __slots__ = ("type", "to", "from_node", "term", "log_term", "index", "entries", "commit", "reject", "reject_hint", "context", "snapshot", "offset", "chunk", "done")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LOG_TERM_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    REJECT_HINT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    type: int
    to: int
    from_node: int
    term: int
    log_term: int
    index: int
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    commit: int
    reject: bool
    reject_hint: int
    context: bytes
    snapshot: SnapshotMetadata
    offset: int
    chunk: bytes
    done: bool
    def __init__(self, type: _Optional[int] = ..., to: _Optional[int] = ..., from_node: _Optional[int] = ..., term: _Optional[int] = ..., log_term: _Optional[int] = ..., index: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., commit: _Optional[int] = ..., reject: _Optional[bool] = ..., reject_hint: _Optional[int] = ..., context: _Optional[bytes] = ..., snapshot: _Optional[_Union[SnapshotMetadata, _Mapping]] = ..., offset: _Optional[int] = ..., chunk: _Optional[bytes] = ..., done: _Optional[bool] = ...) -> None: ...

class GroupMessages(_message.Message):
    __slots__ = ("group", "messages")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    group: str
    messages: _containers.RepeatedCompositeFieldContainer[RaftMessage]
    def __init__(self, group: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[RaftMessage, _Mapping]]] = ...) -> None: ...

class Sender(_message.Message):
    __slots__ = ("name", "incarnation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    incarnation: str
    def __init__(self, name: _Optional[str] = ..., incarnation: _Optional[str] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("from_node", "to_node", "groups", "sender")
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    TO_NODE_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    from_node: int
    to_node: int
    groups: _containers.RepeatedCompositeFieldContainer[GroupMessages]
    sender: Sender
    def __init__(self, from_node: _Optional[int] = ..., to_node: _Optional[int] = ..., groups: _Optional[_Iterable[_Union[GroupMessages, _Mapping]]] = ..., sender: _Optional[_Union[Sender, _Mapping]] = ...) -> None: ...

class StreamSummary(_message.Message):
    __slots__ = ("batches", "messages")
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    batches: int
    messages: int
    def __init__(self, batches: _Optional[int] = ..., messages: _Optional[int] = ...) -> None: ...

class PeerError(_message.Message):
    __slots__ = ("code", "message", "code_name", "leader_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_NAME_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    code_name: str
    leader_id: int
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., code_name: _Optional[str] = ..., leader_id: _Optional[int] = ...) -> None: ...

class ForwardRequest(_message.Message):
    __slots__ = ("group", "data", "from_node", "sender")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    group: str
    data: bytes
    from_node: int
    sender: Sender
    def __init__(self, group: _Optional[str] = ..., data: _Optional[bytes] = ..., from_node: _Optional[int] = ..., sender: _Optional[_Union[Sender, _Mapping]] = ...) -> None: ...

class ForwardResponse(_message.Message):
    __slots__ = ("result", "error")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    result: bytes
    error: PeerError
    def __init__(self, result: _Optional[bytes] = ..., error: _Optional[_Union[PeerError, _Mapping]] = ...) -> None: ...

class ForwardBatchRequest(_message.Message):
    __slots__ = ("group", "data", "from_node", "sender")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    group: str
    data: _containers.RepeatedScalarFieldContainer[bytes]
    from_node: int
    sender: Sender
    def __init__(self, group: _Optional[str] = ..., data: _Optional[_Iterable[bytes]] = ..., from_node: _Optional[int] = ..., sender: _Optional[_Union[Sender, _Mapping]] = ...) -> None: ...

class ForwardBatchResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[ForwardResponse]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[ForwardResponse, _Mapping]]] = ...) -> None: ...

class FetchLogRequest(_message.Message):
    __slots__ = ("context", "from_position", "to_position", "max_chunk_bytes", "sender")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    context: str
    from_position: int
    to_position: int
    max_chunk_bytes: int
    sender: Sender
    def __init__(self, context: _Optional[str] = ..., from_position: _Optional[int] = ..., to_position: _Optional[int] = ..., max_chunk_bytes: _Optional[int] = ..., sender: _Optional[_Union[Sender, _Mapping]] = ...) -> None: ...

class LogChunk(_message.Message):
    __slots__ = ("position", "data", "crc32")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CRC32_FIELD_NUMBER: _ClassVar[int]
    position: int
    data: bytes
    crc32: int
    def __init__(self, position: _Optional[int] = ..., data: _Optional[bytes] = ..., crc32: _Optional[int] = ...) -> None: ...

class RelayDown(_message.Message):
    __slots__ = ("stream_id", "command", "query", "client_instruction", "then")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CLIENT_INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    THEN_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    command: bytes
    query: bytes
    client_instruction: ClientInstruction
    then: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, stream_id: _Optional[str] = ..., command: _Optional[bytes] = ..., query: _Optional[bytes] = ..., client_instruction: _Optional[_Union[ClientInstruction, _Mapping]] = ..., then: _Optional[_Iterable[bytes]] = ...) -> None: ...

class RelayDownBatch(_message.Message):
    __slots__ = ("from_node", "items")
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    from_node: int
    items: _containers.RepeatedCompositeFieldContainer[RelayDown]
    def __init__(self, from_node: _Optional[int] = ..., items: _Optional[_Iterable[_Union[RelayDown, _Mapping]]] = ...) -> None: ...

class CommandSubscription(_message.Message):
    __slots__ = ("name", "load_factor")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOAD_FACTOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    load_factor: int
    def __init__(self, name: _Optional[str] = ..., load_factor: _Optional[int] = ...) -> None: ...

class QuerySubscription(_message.Message):
    __slots__ = ("name", "result_names")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESULT_NAMES_FIELD_NUMBER: _ClassVar[int]
    name: str
    result_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., result_names: _Optional[_Iterable[str]] = ...) -> None: ...

class HandlerState(_message.Message):
    __slots__ = ("stream_id", "context", "client_id", "component_name", "query_stream", "commands", "queries", "gone", "unsent_commands")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    QUERY_STREAM_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    GONE_FIELD_NUMBER: _ClassVar[int]
    UNSENT_COMMANDS_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    context: str
    client_id: str
    component_name: str
    query_stream: bool
    commands: _containers.RepeatedCompositeFieldContainer[CommandSubscription]
    queries: _containers.RepeatedCompositeFieldContainer[QuerySubscription]
    gone: bool
    unsent_commands: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stream_id: _Optional[str] = ..., context: _Optional[str] = ..., client_id: _Optional[str] = ..., component_name: _Optional[str] = ..., query_stream: _Optional[bool] = ..., commands: _Optional[_Iterable[_Union[CommandSubscription, _Mapping]]] = ..., queries: _Optional[_Iterable[_Union[QuerySubscription, _Mapping]]] = ..., gone: _Optional[bool] = ..., unsent_commands: _Optional[_Iterable[str]] = ...) -> None: ...

class RelayUp(_message.Message):
    __slots__ = ("stream_id", "handler", "command_response", "query_outbound", "client", "instruction_outcome")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    COMMAND_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    QUERY_OUTBOUND_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    handler: HandlerState
    command_response: bytes
    query_outbound: bytes
    client: ClientState
    instruction_outcome: InstructionOutcome
    def __init__(self, stream_id: _Optional[str] = ..., handler: _Optional[_Union[HandlerState, _Mapping]] = ..., command_response: _Optional[bytes] = ..., query_outbound: _Optional[bytes] = ..., client: _Optional[_Union[ClientState, _Mapping]] = ..., instruction_outcome: _Optional[_Union[InstructionOutcome, _Mapping]] = ...) -> None: ...

class RelayUpBatch(_message.Message):
    __slots__ = ("from_node", "items")
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    from_node: int
    items: _containers.RepeatedCompositeFieldContainer[RelayUp]
    def __init__(self, from_node: _Optional[int] = ..., items: _Optional[_Iterable[_Union[RelayUp, _Mapping]]] = ...) -> None: ...

class ClientState(_message.Message):
    __slots__ = ("context", "client_id", "component_name", "version", "tags", "processors", "node_name", "gone")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PROCESSORS_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    GONE_FIELD_NUMBER: _ClassVar[int]
    context: str
    client_id: str
    component_name: str
    version: str
    tags: _containers.ScalarMap[str, str]
    processors: _containers.RepeatedScalarFieldContainer[bytes]
    node_name: str
    gone: bool
    def __init__(self, context: _Optional[str] = ..., client_id: _Optional[str] = ..., component_name: _Optional[str] = ..., version: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., processors: _Optional[_Iterable[bytes]] = ..., node_name: _Optional[str] = ..., gone: _Optional[bool] = ...) -> None: ...

class ClientInstruction(_message.Message):
    __slots__ = ("request_id", "instruction", "await_result", "timeout_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    AWAIT_RESULT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    instruction: bytes
    await_result: bool
    timeout_ms: int
    def __init__(self, request_id: _Optional[int] = ..., instruction: _Optional[bytes] = ..., await_result: _Optional[bool] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class InstructionOutcome(_message.Message):
    __slots__ = ("request_id", "error")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    error: PeerError
    def __init__(self, request_id: _Optional[int] = ..., error: _Optional[_Union[PeerError, _Mapping]] = ...) -> None: ...
