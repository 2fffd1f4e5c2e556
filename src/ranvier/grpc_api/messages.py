"""Request decoding at the gRPC edge, so a malformed message gets a clear error.

Handlers are registered with `parser(RequestType)` as their deserializer. A request
that does not parse arrives as an `Unparsable` instead of failing inside grpcio
(which would answer a bare INTERNAL); `status.guarded` turns it into
AXONIQ-0001 / INVALID_ARGUMENT naming the message type.
"""

from __future__ import annotations

from collections.abc import Callable

from ranvier.errors import ErrorCode, InvalidArgument


class Unparsable:
    def __init__(self, type_name: str, reason: str) -> None:
        self.type_name = type_name
        self.reason = reason


def parser(request_type: type) -> Callable[[bytes], object]:
    def parse(data: bytes) -> object:
        try:
            return request_type.FromString(data)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - any decode failure is the client's
            return Unparsable(request_type.__name__, str(exc) or type(exc).__name__)

    return parse


def check_parsed(request: object) -> None:
    if isinstance(request, Unparsable):
        raise InvalidArgument(f"malformed {request.type_name} message: {request.reason}", ErrorCode.INVALID_MESSAGE)
