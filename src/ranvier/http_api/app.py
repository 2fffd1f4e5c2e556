"""`create_app(node)`: the Starlette application, and the one place errors become HTTP.

Routes raise `RanvierError` (or let the store raise it); the handlers here answer as
Axon Server does: the HTTP status from the `ErrorCode` table, header
`AxonIQ-ErrorCode`, and the plain-text body `[AXONIQ-xxxx] message`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ranvier.errors import ErrorCode, RanvierError

from .routes import actuator, cluster, context, docs, events, home, messaging, metrics, public

if TYPE_CHECKING:
    from ranvier.node import Node

log = logging.getLogger(__name__)

ERROR_CODE_HEADER = "AxonIQ-ErrorCode"


def create_app(node: Node) -> Starlette:
    """The node's HTTP API; routes find the node at `request.app.state.node`."""
    routes = [*home.routes, *public.routes, *actuator.routes, *metrics.routes, *context.routes, *cluster.routes, *events.routes, *messaging.routes,
              *docs.routes]
    app = Starlette(
        routes=routes,
        exception_handlers={RanvierError: ranvier_error, Exception: unexpected_error},
    )
    app.state.node = node
    return app


def error_response(error: RanvierError) -> Response:
    return PlainTextResponse(
        error.describe(), status_code=error.code.http_status, headers={ERROR_CODE_HEADER: error.code.code}
    )


async def ranvier_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RanvierError)
    return error_response(exc)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path)
    return error_response(RanvierError(f"internal error: {type(exc).__name__}: {exc}", ErrorCode.OTHER))
