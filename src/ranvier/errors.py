"""Ranvier's errors and the one table that maps them to Axon's codes.

Every error a client can see is a `RanvierError` carrying an `ErrorCode`. The code
says which `AXONIQ-xxxx` string, gRPC status and HTTP status the client receives;
the adapters (`grpc_api.status`, `http_api.app`) are the only places that translate
it. Code values, gRPC statuses and HTTP statuses follow Axon Server's own table, so
clients that branch on them (Axon Framework maps AXONIQ-2000 to a concurrency
exception, for example) behave as they do against Axon Server.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import grpc


@dataclass(frozen=True, slots=True)
class _Code:
    code: str
    grpc_status: grpc.StatusCode
    http_status: int


class ErrorCode(enum.Enum):
    """Axon's error codes that Ranvier produces, with their gRPC and HTTP statuses."""

    OTHER = _Code("AXONIQ-0001", grpc.StatusCode.CANCELLED, 500)
    # Axon has no code for a message that does not parse; it uses its catch-all code.
    INVALID_MESSAGE = _Code("AXONIQ-0001", grpc.StatusCode.INVALID_ARGUMENT, 400)
    AUTHENTICATION_TOKEN_MISSING = _Code("AXONIQ-1000", grpc.StatusCode.PERMISSION_DENIED, 403)
    AUTHENTICATION_INVALID_TOKEN = _Code("AXONIQ-1001", grpc.StatusCode.PERMISSION_DENIED, 403)
    UNSUPPORTED_INSTRUCTION = _Code("AXONIQ-1002", grpc.StatusCode.UNKNOWN, 400)
    INSTRUCTION_EXECUTION_ERROR = _Code("AXONIQ-1003", grpc.StatusCode.INTERNAL, 500)
    INSTRUCTION_RESULT_TIMEOUT = _Code("AXONIQ-1004", grpc.StatusCode.INTERNAL, 500)
    NO_SUCH_NODE = _Code("AXONIQ-1301", grpc.StatusCode.NOT_FOUND, 404)
    CONTEXT_NOT_FOUND = _Code("AXONIQ-1302", grpc.StatusCode.NOT_FOUND, 404)
    CONTEXT_EXISTS = _Code("AXONIQ-1304", grpc.StatusCode.ALREADY_EXISTS, 400)
    NO_AXONSERVER_FOR_CONTEXT = _Code("AXONIQ-1400", grpc.StatusCode.UNAVAILABLE, 503)
    TOO_MANY_REQUESTS = _Code("AXONIQ-1900", grpc.StatusCode.RESOURCE_EXHAUSTED, 429)
    INVALID_SEQUENCE = _Code("AXONIQ-2000", grpc.StatusCode.OUT_OF_RANGE, 409)
    PAYLOAD_TOO_LARGE = _Code("AXONIQ-2001", grpc.StatusCode.INVALID_ARGUMENT, 400)
    TOO_MANY_EVENTS = _Code("AXONIQ-2002", grpc.StatusCode.INVALID_ARGUMENT, 400)
    NO_LEADER_AVAILABLE = _Code("AXONIQ-2100", grpc.StatusCode.NOT_FOUND, 404)
    NOT_RUNNING_IN_CLUSTER = _Code("AXONIQ-2101", grpc.StatusCode.NOT_FOUND, 400)
    CANNOT_DELETE_INTERNAL_CONTEXT = _Code("AXONIQ-2304", grpc.StatusCode.PERMISSION_DENIED, 403)
    ALREADY_MEMBER_OF_CLUSTER = _Code("AXONIQ-2306", grpc.StatusCode.ALREADY_EXISTS, 406)
    INVALID_CONTEXT_NAME = _Code("AXONIQ-2308", grpc.StatusCode.INVALID_ARGUMENT, 400)
    CANNOT_REMOVE_LAST_NODE = _Code("AXONIQ-2310", grpc.StatusCode.FAILED_PRECONDITION, 406)
    INVALID_PROPERTY_VALUE = _Code("AXONIQ-2311", grpc.StatusCode.INVALID_ARGUMENT, 400)
    SAME_NODE_NAME = _Code("AXONIQ-2500", grpc.StatusCode.INVALID_ARGUMENT, 400)
    UNKNOWN_HOST = _Code("AXONIQ-2501", grpc.StatusCode.INVALID_ARGUMENT, 400)
    CANNOT_JOIN = _Code("AXONIQ-2502", grpc.StatusCode.INVALID_ARGUMENT, 400)
    INVALID_QUERY = _Code("AXONIQ-2511", grpc.StatusCode.INVALID_ARGUMENT, 400)
    EVENT_PROCESSOR_NOT_FOUND = _Code("AXONIQ-2800", grpc.StatusCode.NOT_FOUND, 404)
    NO_HANDLER_FOR_COMMAND = _Code("AXONIQ-4000", grpc.StatusCode.NOT_FOUND, 500)
    CONNECTION_TO_HANDLER_LOST = _Code("AXONIQ-4001", grpc.StatusCode.CANCELLED, 500)
    COMMAND_TIMEOUT = _Code("AXONIQ-4002", grpc.StatusCode.CANCELLED, 504)
    COMMAND_DISPATCH_ERROR = _Code("AXONIQ-4003", grpc.StatusCode.CANCELLED, 500)
    COMMAND_DUPLICATED = _Code("AXONIQ-4005", grpc.StatusCode.INVALID_ARGUMENT, 400)
    NO_HANDLER_FOR_QUERY = _Code("AXONIQ-5000", grpc.StatusCode.NOT_FOUND, 400)
    QUERY_DISPATCH_ERROR = _Code("AXONIQ-5002", grpc.StatusCode.NOT_FOUND, 400)
    QUERY_TIMEOUT = _Code("AXONIQ-5006", grpc.StatusCode.CANCELLED, 504)
    QUERY_DUPLICATED = _Code("AXONIQ-5007", grpc.StatusCode.INVALID_ARGUMENT, 400)
    NO_EVENTSTORE = _Code("AXONIQ-6000", grpc.StatusCode.NOT_FOUND, 503)
    DATAFILE_READ_ERROR = _Code("AXONIQ-9000", grpc.StatusCode.CANCELLED, 500)
    DATAFILE_WRITE_ERROR = _Code("AXONIQ-9100", grpc.StatusCode.CANCELLED, 500)
    CLIENT_DISCONNECTED = _Code("AXONIQ-6001", grpc.StatusCode.NOT_FOUND, 500)
    VALIDATION_FAILED = _Code("AXONIQ-9200", grpc.StatusCode.CANCELLED, 500)
    TRANSACTION_ROLLED_BACK = _Code("AXONIQ-9900", grpc.StatusCode.CANCELLED, 500)
    INSTRUCTION_TIMEOUT = _Code("AXONIQ-11000", grpc.StatusCode.DEADLINE_EXCEEDED, 504)
    INSTRUCTION_ACK_ONLY = _Code("AXONIQ-11001", grpc.StatusCode.UNKNOWN, 202)

    @property
    def code(self) -> str:
        return self.value.code

    @property
    def grpc_status(self) -> grpc.StatusCode:
        return self.value.grpc_status

    @property
    def http_status(self) -> int:
        return self.value.http_status


_BY_NAME = {c.name: c for c in ErrorCode}
_BY_CODE: dict[str, ErrorCode] = {}
for _c in ErrorCode:  # first wins: AXONIQ-0001 is OTHER before INVALID_MESSAGE
    _BY_CODE.setdefault(_c.code, _c)


def code_for(code: str, code_name: str = "") -> ErrorCode:
    """The ErrorCode for an AXONIQ string received from another node (the member
    name decides between codes that share a string); OTHER when unknown."""
    by_name = _BY_NAME.get(code_name)
    if by_name is not None and by_name.code == code:
        return by_name
    return _BY_CODE.get(code, ErrorCode.OTHER)

class RanvierError(Exception):
    """An error a client may see: an `ErrorCode` and a sentence for a human.

    `str(error)` is the message without the code; `describe()` adds Axon's
    `[AXONIQ-xxxx] ` prefix, which is what goes on the wire.
    """

    code: ErrorCode = ErrorCode.OTHER

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def describe(self) -> str:
        return f"[{self.code.code}] {self.message}"


class InvalidSequence(RanvierError):
    """An aggregate's sequence numbers have a gap or a duplicate (Axon's AXONIQ-2000)."""

    code = ErrorCode.INVALID_SEQUENCE


class ContextNotFound(RanvierError):
    """The request names a context this node does not know."""

    code = ErrorCode.CONTEXT_NOT_FOUND


class InvalidArgument(RanvierError):
    """A request is malformed or oversized; nothing was stored."""

    code = ErrorCode.PAYLOAD_TOO_LARGE


class StorageCorrupted(RanvierError):
    """Stored data failed its checksum before the tail; the context refuses to serve.

    Raised at open when a record that is followed by valid records does not match its
    checksum, or a file is missing from the middle of the log. Ranvier never drops
    such data to carry on: an operator decides (restore, or re-replicate in a cluster).
    """

    code = ErrorCode.VALIDATION_FAILED


class StorageWriteFailed(RanvierError):
    """A write or fsync failed (disk full, I/O error); the transaction is not stored."""

    code = ErrorCode.DATAFILE_WRITE_ERROR


class StorageUnavailable(RanvierError):
    """The context's store is closed or failed earlier and serves no requests."""

    code = ErrorCode.NO_EVENTSTORE


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the property."""
