"""The one place where errors become gRPC statuses.

`guarded` wraps every servicer method: a `RanvierError` ends the call with its
code's gRPC status, the description `[AXONIQ-xxxx] message` and the trailer
`AxonIQ-ErrorCode`, as Axon Server does; anything else is logged and reported as
AXONIQ-0001 without leaking internals.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from ranvier.errors import ErrorCode, RanvierError

from .messages import check_parsed

log = logging.getLogger(__name__)

ERROR_CODE_KEY = "axoniq-errorcode"

T = TypeVar("T")


async def abort(context: grpc.aio.ServicerContext, error: RanvierError) -> None:
    context.set_trailing_metadata(((ERROR_CODE_KEY, error.code.code),))
    await context.abort(error.code.grpc_status, error.describe())


def _unexpected(exc: BaseException) -> RanvierError:
    log.exception("unexpected error in a gRPC call", exc_info=exc)
    return RanvierError(f"internal error: {type(exc).__name__}", ErrorCode.OTHER)


def guarded(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Translate errors of a unary-response handler."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            check_parsed(request)
            return await method(self, request, context)
        except RanvierError as exc:
            await abort(context, exc)
        except (grpc.aio.AbortError, AssertionError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the edge: report, never crash the server
            await abort(context, _unexpected(exc))
        raise AssertionError("abort returns only by raising")

    return wrapper


def guarded_stream(method: Callable[..., AsyncIterator[T]]) -> Callable[..., AsyncIterator[T]]:
    """Translate errors of a streaming-response handler (an async generator)."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[T]:
        try:
            check_parsed(request)
            async for item in method(self, request, context):
                yield item
        except RanvierError as exc:
            await abort(context, exc)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - the edge
            await abort(context, _unexpected(exc))

    return wrapper
