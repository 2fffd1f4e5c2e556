"""The OpenAPI 3 document of the HTTP API, served at `/v3/api-docs` and `/openapi.json`.

Built here rather than generated from the routes, so each operation carries Axon's
parameter names and defaults; `tests/integration/test_http_api.py` checks that
every route the app serves is described.
"""

from __future__ import annotations

from typing import Any

from ranvier import __version__

Json = dict[str, Any]

_ERROR = {
    "description": "An Axon error: header `AxonIQ-ErrorCode`, body `[AXONIQ-xxxx] message`",
    "headers": {"AxonIQ-ErrorCode": {"schema": {"type": "string", "example": "AXONIQ-2000"}}},
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
_CONTEXT_HEADER = {
    "name": "AxonIQ-Context",
    "in": "header",
    "required": False,
    "description": "The context (default `default`)",
    "schema": {"type": "string", "default": "default"},
}


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Json, description: str = "OK") -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema_type: str, description: str, default: Any = None, required: bool = False) -> Json:
    schema: Json = {"type": schema_type}
    if default is not None:
        schema["default"] = default
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _op(tag: str, summary: str, responses: Json, **extra: Any) -> Json:
    return {"tags": [tag], "summary": summary, "responses": responses, **extra}


_SCHEMAS: Json = {
    "SerializedObject": {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "revision": {"type": "string"},
            "data": {"type": "string", "description": "The payload; its UTF-8 bytes are stored"},
        },
    },
    "Event": {
        "type": "object",
        "properties": {
            "messageIdentifier": {"type": "string", "description": "Default: a random UUID"},
            "aggregateIdentifier": {"type": "string"},
            "aggregateSequenceNumber": {"type": "integer", "format": "int64", "default": 0},
            "aggregateType": {"type": "string", "description": "Non-empty for domain events"},
            "timestamp": {"type": "integer", "format": "int64", "description": "ms since the epoch; default now"},
            "payload": _ref("SerializedObject"),
            "metaData": {
                "type": "object",
                "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
            },
        },
    },
    "EventWithToken": {
        "allOf": [_ref("Event"), {"type": "object", "properties": {"token": {"type": "integer", "format": "int64"}}}]
    },
    "Events": {
        "type": "object",
        "required": ["messages"],
        "properties": {"messages": {"type": "array", "minItems": 1, "items": _ref("Event")}},
    },
    "AppendResult": {
        "type": "object",
        "properties": {
            "firstToken": {"type": "integer", "format": "int64"},
            "count": {"type": "integer"},
        },
    },
    "Health": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["UP", "DOWN", "OUT_OF_SERVICE"]},
            "components": {"type": "object", "additionalProperties": {"type": "object"}},
        },
    },
}

_SSE = {
    "description": "Server-Sent Events; each `data:` line is one event as JSON",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


def _paths() -> Json:
    ok = {"200": {"description": "OK"}}
    return {
        "/": {"get": _op("dashboard", "Landing page", {"200": {"description": "HTML page"}})},
        "/actuator": {"get": _op("actuator", "Actuator links", {"200": _json({"type": "object"})})},
        "/actuator/health": {"get": _op(
            "actuator", "Node health (Spring format; 503 when not UP)",
            {"200": _json(_ref("Health")), "503": _json(_ref("Health"), "Not UP")},
        )},
        "/actuator/health/liveness": {"get": _op("actuator", "Liveness", {"200": _json(_ref("Health"))})},
        "/actuator/health/readiness": {"get": _op(
            "actuator", "Readiness: UP once the node serves contexts",
            {"200": _json(_ref("Health")), "503": _json(_ref("Health"), "Not initialized")},
        )},
        "/actuator/info": {"get": _op("actuator", "Application name and version", {"200": _json({"type": "object"})})},
        "/actuator/prometheus": {"get": _op(
            "actuator", "Metrics in Prometheus text format",
            {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        )},
        "/actuator/metrics": {"get": _op("actuator", "Metric names", {"200": _json({"type": "object"})})},
        "/actuator/metrics/{name}": {"get": {
            **_op("actuator", "One metric (tag=context:<name> to pick a context)", {"200": _json({"type": "object"})}),
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "tag", "in": "query", "required": False, "schema": {"type": "string"}},
            ],
        }},
        "/v1/public": {"get": _op(
            "public", "The cluster's nodes", {"200": _json({"type": "array", "items": {"type": "object"}})}
        )},
        "/v1/public/context": {"get": _op(
            "public", "Contexts with leader and members", {"200": _json({"type": "array", "items": {"type": "object"}})}
        )},
        "/v1/public/me": {"get": _op("public", "This node", {"200": _json({"type": "object"})})},
        "/v1/public/mycontexts": {"get": _op(
            "public", "Contexts stored on this node", {"200": _json({"type": "array", "items": {"type": "string"}})}
        )},
        "/v1/public/version": {"get": _op("public", "Product name and version", {"200": _json({"type": "object"})})},
        "/v1/public/overview-list": {"get": _op(
            "public", "Connected applications, on every node of the cluster",
            {"200": _json({"type": "array", "items": {"type": "object"}})},
            parameters=[_query("for-context", "string", "Only applications in this context")],
        )},
        "/v1/context/init": {"post": _op(
            "cluster", "Initialize this node to serve a context (init-cluster)", {**ok, "400": _ERROR},
            parameters=[_query("context", "string", "The context to create", "default")],
        )},
        "/v1/cluster": {
            "post": _op("cluster", "register-node: join the cluster of the node named in the body (send to the new node)",
                        {"202": {"description": "Accepted"}, "400": _ERROR},
                        requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
                            "internalHostName": {"type": "string"}, "internalGrpcPort": {"type": "integer"},
                            "context": {"type": "string"}, "noContexts": {"type": "boolean"}}}}}}),
            "get": _op("cluster", "The cluster's nodes", {"200": _json({"type": "array", "items": {"type": "object"}})}),
        },
        "/v1/cluster/{node}": {"delete": _op(
            "cluster", "unregister-node", {**ok, "404": _ERROR},
            parameters=[{"name": "node", "in": "path", "required": True, "schema": {"type": "string"}}],
        )},
        "/v1/context": {"post": _op(
            "cluster", "register-context: create a context on the given nodes",
            {"202": {"description": "Accepted"}, "400": _ERROR},
            requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
                "context": {"type": "string"}, "nodes": {"type": "array", "items": {"type": "string"}},
                "roles": {"type": "array", "items": {"type": "object"}}}}}}},
        )},
        "/v1/context/{context}": {"delete": _op(
            "cluster", "delete-context", {"202": {"description": "Accepted"}, "404": _ERROR},
            parameters=[{"name": "context", "in": "path", "required": True, "schema": {"type": "string"}},
                        _query("preserveEventStore", "boolean", "Keep the event store files", False)],
        )},
        "/v1/context/{context}/{node}": {
            "post": _op("cluster", "add-node-to-context", {"202": _json({"type": "object"}), "404": _ERROR},
                        parameters=[{"name": "context", "in": "path", "required": True, "schema": {"type": "string"}},
                                    {"name": "node", "in": "path", "required": True, "schema": {"type": "string"}},
                                    _query("role", "string", "PRIMARY (default)")]),
            "delete": _op("cluster", "delete-node-from-context", {"202": {"description": "Accepted"}, "404": _ERROR},
                          parameters=[{"name": "context", "in": "path", "required": True, "schema": {"type": "string"}},
                                      {"name": "node", "in": "path", "required": True, "schema": {"type": "string"}},
                                      _query("preserveEventStore", "boolean", "Keep the event store files", False)]),
        },
        "/internal/raft/status": {"get": _op(
            "cluster", "Per replication group: role, term, commit and applied index, follower match and lag",
            {"200": _json({"type": "array", "items": {"type": "object"}})},
        )},
        "/internal/context/{group}/stepdown": {
            method: _op("cluster", "Leader step-down: hand leadership of the group to a follower", {**ok},
                        parameters=[{"name": "group", "in": "path", "required": True, "schema": {"type": "string"}}])
            for method in ("get", "post")
        },
        "/v2/cluster/init": {"post": _op(
            "cluster", "Initialize this node with the `default` context",
            {"200": {"description": "Accepted", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        )},
        "/v1/events": {
            "get": _op(
                "events", "Read an aggregate's events, or the event stream from a token", {"200": _SSE, "404": _ERROR},
                parameters=[
                    _CONTEXT_HEADER,
                    _query("aggregateId", "string", "Read this aggregate; without it, read the stream"),
                    _query("initialSequence", "integer", "Aggregate reads: first sequence number", 0),
                    _query("maxSequence", "integer", "Aggregate reads: last sequence number (<0: no bound)", -1),
                    _query("allowSnapshots", "boolean", "Aggregate reads: start at the latest snapshot", True),
                    _query("trackingToken", "integer", "Stream reads: first token", 0),
                    _query("timeout", "number", "Stream reads: seconds to wait for new events", 3600),
                    _query("maxEvents", "integer", "Stream reads: events to send at most", 10000),
                ],
            ),
            "post": _op(
                "events", "Append events in one transaction",
                {"200": _json(_ref("AppendResult")), "400": _ERROR, "404": _ERROR, "409": _ERROR},
                parameters=[_CONTEXT_HEADER],
                requestBody={"required": True, "content": {"application/json": {"schema": _ref("Events")}}},
            ),
        },
        "/v1/snapshots": {
            "get": _op(
                "events", "An aggregate's snapshots, newest first",
                {"200": _json({"type": "array", "items": _ref("Event")}), "400": _ERROR, "404": _ERROR},
                parameters=[
                    _CONTEXT_HEADER,
                    _query("aggregateId", "string", "The aggregate", required=True),
                    _query("initialSequence", "integer", "Lowest sequence number", 0),
                    _query("maxSequence", "integer", "Highest sequence number (<0: no bound)", -1),
                    _query("maxResults", "integer", "Snapshots to return at most (<=0: all)", 1),
                ],
            ),
            "post": _snapshot_post(),
        },
        "/v1/snapshot": {"post": {**_snapshot_post(), "deprecated": True}},
        "/v3/api-docs": {"get": _op("docs", "This OpenAPI document", {"200": _json({"type": "object"})})},
        "/openapi.json": {"get": _op("docs", "This OpenAPI document", {"200": _json({"type": "object"})})},
        "/swagger-ui.html": {"get": _op("docs", "Swagger UI (redirect)", {"302": {"description": "Redirect"}})},
        "/swagger-ui/index.html": {"get": _op("docs", "Swagger UI", {"200": {"description": "HTML page"}})},
        **_messaging_paths(),
    }


def _messaging_paths() -> Json:
    """Handlers, command and query runs, components and processor instructions."""
    array = _json({"type": "array", "items": {"type": "object"}})
    ctx = _query("context", "string", "The context", "default")
    component = {"name": "component", "in": "path", "required": True, "schema": {"type": "string"}}
    processor = {"name": "processor", "in": "path", "required": True, "schema": {"type": "string"}}
    instructed = {
        "200": {"description": "Every client reported success"},
        "202": _ERROR | {"description": "AXONIQ-11001: a client acknowledged but sent no result"},
        "404": _ERROR, "500": _ERROR, "504": _ERROR,
    }
    processor_params = [component, processor, ctx, _query("tokenStoreIdentifier", "string", "Accepted, not used")]

    def instruction(summary: str, extra: list[Json] | None = None) -> Json:
        return {"patch": _op("processors", summary, instructed, parameters=processor_params + (extra or []))}

    def listing(summary: str) -> Json:
        return {"get": _op("components", summary, {"200": array}, parameters=[component, ctx])}

    base = "/v1/components/{component}/processors/{processor}"
    return {
        "/v1/commands": {"get": _op("commands", "Command handlers and their commands", {"200": array})},
        "/v1/commands/queues": {"get": _op("commands", "Commands queued per handler", {"200": array})},
        "/v1/commands/count": {"get": _op("commands", "Commands in flight", {"200": _json({"type": "integer"})})},
        "/v1/commands/run": {"post": _op(
            "commands", "Dispatch a command and wait for its response (errors are in errorCode)",
            {"200": _json({"type": "object"}), "400": _ERROR, "404": _ERROR, "429": _ERROR},
            parameters=[_CONTEXT_HEADER],
            requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": {
                "messageIdentifier": {"type": "string"}, "name": {"type": "string"},
                "routingKey": {"type": "string"}, "timestamp": {"type": "integer"},
                "payload": _ref("SerializedObject"), "metaData": {"type": "object"}}}}}},
        )},
        "/v1/queries": {"get": _op("queries", "Query handlers and their queries", {"200": array})},
        "/v1/queries/run": {"post": _op(
            "queries", "Dispatch a query; responses as Server-Sent Events",
            {"200": _SSE, "400": _ERROR, "404": _ERROR, "429": _ERROR},
            parameters=[_CONTEXT_HEADER],
            requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": {
                "messageIdentifier": {"type": "string"}, "query": {"type": "string"},
                "payload": _ref("SerializedObject"), "metaData": {"type": "object"},
                "nrOfResults": {"type": "integer", "default": -1}, "timeout": {"type": "integer", "default": 15000}}}}}},
        )},
        "/v1/components/{component}/commands": listing("Commands the component handles"),
        "/v1/components/{component}/queries": listing("Queries the component handles"),
        "/v1/components/{component}/instances": listing("Connected instances of the component, on every node"),
        "/v1/components/{component}/processors": listing("Event processors the component's instances report"),
        base + "/pause": instruction("Pause the processor on every instance"),
        base + "/start": instruction("Start the processor on every instance"),
        base + "/segments/split": instruction("Split the largest segment"),
        base + "/segments/merge": instruction("Merge the smallest segment with its sibling"),
        base + "/segments/{segment}/move": instruction("Release a segment so another instance claims it", [
            {"name": "segment", "in": "path", "required": True, "schema": {"type": "integer"}},
            _query("target", "string", "Client id that should claim the segment", required=True),
        ]),
        "/v1/instructions": {"patch": _op(
            "clients", "Send RequestReconnect to a client", {"200": {"description": "Sent"}, "500": _ERROR},
            parameters=[_query("client", "string", "The client id", required=True)],
        )},
    }


def _snapshot_post() -> Json:
    return _op(
        "events", "Store a snapshot", {**{"200": _json({"type": "object"})}, "400": _ERROR, "404": _ERROR},
        parameters=[_CONTEXT_HEADER],
        requestBody={"required": True, "content": {"application/json": {"schema": _ref("Event")}}},
    )


def build_document() -> Json:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Ranvier HTTP API",
            "version": __version__,
            "description": "Axon Server-compatible REST endpoints of a Ranvier node.",
            "license": {"name": "Apache-2.0"},
        },
        "paths": _paths(),
        "components": {"schemas": _SCHEMAS},
    }
