"""gRPC request metadata Axon clients send."""

from __future__ import annotations

import grpc

DEFAULT_CONTEXT = "default"
_CONTEXT_KEYS = ("axoniq-context", "context")  # the second is the pre-4.x name


def context_name(context: grpc.aio.ServicerContext) -> str:
    """The context a call addresses: the `AxonIQ-Context` header, else `default`."""
    for key, value in context.invocation_metadata() or ():
        if key in _CONTEXT_KEYS and value:
            return str(value)
    return DEFAULT_CONTEXT


def client_id(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "axoniq-clientid":
            return str(value)
    return ""
