"""Reading requests: the node, the context header, query parameters and JSON bodies.

Every malformed input becomes a `RanvierError` with code AXONIQ-0001 and status 400
naming the parameter, so routes never format error responses themselves.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request

from ranvier.errors import ErrorCode, RanvierError

if TYPE_CHECKING:
    from ranvier.node import Node

CONTEXT_HEADER = "AxonIQ-Context"
DEFAULT_CONTEXT = "default"


def bad_request(message: str) -> RanvierError:
    return RanvierError(message, ErrorCode.INVALID_MESSAGE)


def node_of(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def server_stopping(node: Node) -> bool:
    """True once the node is stopping.

    uvicorn waits for open responses before it stops, so long-lived streams check
    this and end themselves (the node also bounds the wait with uvicorn's graceful
    shutdown timeout).
    """
    return bool(getattr(node, "stopping", False))


def context_of(request: Request) -> str:
    """The context a data request is for: header `AxonIQ-Context`, else `default`."""
    return request.headers.get(CONTEXT_HEADER) or DEFAULT_CONTEXT


def str_param(request: Request, name: str, default: str | None = None) -> str:
    value = request.query_params.get(name, default)
    if value is None or value == "":
        raise bad_request(f"query parameter {name} is required")
    return value


def int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"query parameter {name} must be an integer, not {value!r}") from None


def float_param(request: Request, name: str, default: float) -> float:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        result = float(value)
    except ValueError:
        result = float("nan")
    if result != result or result in (float("inf"), float("-inf")):
        raise bad_request(f"query parameter {name} must be a number, not {value!r}")
    return result


def bool_param(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise bad_request(f"query parameter {name} must be true or false, not {value!r}")


async def json_body(request: Request) -> object:
    body = await request.body()
    if not body.strip():
        raise bad_request("the request body is empty; expected JSON")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}") from None
