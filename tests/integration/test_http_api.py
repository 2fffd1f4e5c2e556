"""The node's HTTP port, driven over real HTTP against a node process.

One node serves the whole module (the `node` fixture in conftest.py). Aggregate ids
are fresh UUIDs, so tests do not depend on each other's events.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from starlette.routing import Route

from ranvier.http_api import create_app
from ranvier.testing.nodes import NodeProcess


@pytest.fixture(scope="module")
def http(node: NodeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.http_url, timeout=30) as client:
        yield client


def message(agg: str, seq: int, **extra: Any) -> dict[str, Any]:
    return {
        "messageIdentifier": str(uuid4()),
        "aggregateIdentifier": agg,
        "aggregateSequenceNumber": seq,
        "aggregateType": "Order",
        "timestamp": 1_700_000_000_000 + seq,
        "payload": {"type": "OrderPlaced", "revision": "1", "data": f'{{"n": {seq}}}'},
        "metaData": {},
        **extra,
    }


def append(http: httpx.Client, *messages: dict[str, Any], context: str | None = None) -> httpx.Response:
    headers = {"AxonIQ-Context": context} if context else {}
    return http.post("/v1/events", json={"messages": list(messages)}, headers=headers)


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return [json.loads(line[len("data:"):]) for line in response.text.splitlines() if line.startswith("data:")]


def read_aggregate(http: httpx.Client, agg: str, **params: Any) -> list[dict[str, Any]]:
    return sse_events(http.get("/v1/events", params={"aggregateId": agg, **params}))


def assert_axon_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["AxonIQ-ErrorCode"] == code
    assert response.text.startswith(f"[{code}] ")


# -- landing page, actuator, public ---------------------------------------------------


def test_landing_page_shows_node_and_contexts(http: httpx.Client, node: NodeProcess) -> None:
    response = http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert node.name in page and "default" in page
    assert 'href="/swagger-ui.html"' in page and 'href="/actuator/health"' in page
    assert http.get("/static/style.css").status_code == 200


def test_health_is_up_with_context_and_disk_components(http: httpx.Client) -> None:
    response = http.get("/actuator/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "UP"
    components = health["components"]
    assert components["localEventStore"]["components"]["default"]["status"] == "UP"
    disk = components["diskSpace"]
    assert disk["status"] == "UP" and disk["details"]["threshold"] == 256 * 1024 * 1024
    assert disk["details"]["free"] > 0


def test_actuator_info_liveness_readiness(http: httpx.Client) -> None:
    app = http.get("/actuator/info").json()["app"]
    assert app["name"] == "Ranvier" and app["version"]
    assert http.get("/actuator/health/liveness").json() == {"status": "UP"}
    assert http.get("/actuator/health/readiness").json() == {"status": "UP"}
    assert "health" in http.get("/actuator").json()["_links"]


def test_public_me_describes_this_node(http: httpx.Client, node: NodeProcess) -> None:
    me = http.get("/v1/public/me").json()
    assert me["name"] == node.name
    assert me["httpPort"] == node.http_port and me["grpcPort"] == node.grpc_port
    assert "default" in me["contextNames"] and me["initialized"] is True


def test_public_contexts_version_and_overview(http: httpx.Client) -> None:
    assert "default" in http.get("/v1/public/mycontexts").json()
    version = http.get("/v1/public/version").json()
    assert version["productName"] == "Ranvier" and version["version"]
    assert isinstance(http.get("/v1/public/overview-list").json(), list)


def test_unknown_path_is_404(http: httpx.Client) -> None:
    assert http.get("/v1/no-such-thing").status_code == 404


# -- events ---------------------------------------------------------------------------


def test_append_then_read_aggregate(http: httpx.Client) -> None:
    agg = str(uuid4())
    meta = {"text": "hello", "number": 42, "double": 1.5, "flag": True}
    sent = [message(agg, 0, metaData=meta), message(agg, 1), message(agg, 2)]
    response = append(http, *sent)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 3 and response.json()["firstToken"] >= 0

    events = read_aggregate(http, agg)
    assert [e["aggregateSequenceNumber"] for e in events] == [0, 1, 2]
    first = events[0]
    for field in ("messageIdentifier", "aggregateIdentifier", "aggregateType", "timestamp", "payload"):
        assert first[field] == sent[0][field]
    assert first["metaData"] == meta
    assert [e["aggregateSequenceNumber"] for e in read_aggregate(http, agg, initialSequence=2)] == [2]


def test_defaults_fill_message_id_and_timestamp(http: httpx.Client) -> None:
    agg = str(uuid4())
    assert append(http, {"aggregateIdentifier": agg, "aggregateType": "Order", "payload": {"type": "T"}}).status_code == 200
    [event] = read_aggregate(http, agg)
    assert event["messageIdentifier"] and event["timestamp"] > 0 and event["aggregateSequenceNumber"] == 0


def test_bad_sequence_is_409_and_stores_nothing(http: httpx.Client) -> None:
    agg = str(uuid4())
    assert append(http, message(agg, 0)).status_code == 200
    assert_axon_error(append(http, message(agg, 1), message(agg, 3)), 409, "AXONIQ-2000")
    assert_axon_error(append(http, message(agg, 0)), 409, "AXONIQ-2000")
    assert [e["aggregateSequenceNumber"] for e in read_aggregate(http, agg)] == [0]


def test_unknown_context_is_404(http: httpx.Client) -> None:
    assert_axon_error(append(http, message(str(uuid4()), 0), context="nowhere"), 404, "AXONIQ-1302")
    response = http.get("/v1/events", params={"aggregateId": "x"}, headers={"AxonIQ-Context": "nowhere"})
    assert_axon_error(response, 404, "AXONIQ-1302")


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b'{"events": []}', "messages"),
        (b'{"messages": []}', "non-empty"),
        (b'{"messages": [{"aggregateSequenceNumber": "one"}]}', "messages[0].aggregateSequenceNumber"),
        (b'{"messages": [{"payload": {"data": 5}}]}', "messages[0].payload.data"),
        (b'{"messages": [{"metaData": {"k": [1]}}]}', "messages[0].metaData.k"),
    ],
)
def test_malformed_bodies_are_400(http: httpx.Client, body: bytes, mentions: str) -> None:
    response = http.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert_axon_error(response, 400, "AXONIQ-0001")
    assert mentions in response.text


def test_bad_query_parameter_is_400(http: httpx.Client) -> None:
    response = http.get("/v1/events", params={"trackingToken": "soon"})
    assert_axon_error(response, 400, "AXONIQ-0001")
    assert "trackingToken" in response.text


def test_tracking_read_from_token(http: httpx.Client) -> None:
    agg = str(uuid4())
    first = append(http, message(agg, 0), message(agg, 1), message(agg, 2)).json()["firstToken"]
    events = sse_events(http.get("/v1/events", params={"trackingToken": first, "maxEvents": 2, "timeout": 0}))
    assert [e["token"] for e in events] == [first, first + 1]
    assert [e["aggregateIdentifier"] for e in events] == [agg, agg]


def test_tracking_read_tails_new_events(http: httpx.Client) -> None:
    agg = str(uuid4())
    next_token = append(http, message(agg, 0)).json()["firstToken"] + 1
    result: list[httpx.Response] = []
    params = {"trackingToken": next_token, "maxEvents": 1, "timeout": 30}
    reader = threading.Thread(target=lambda: result.append(http.get("/v1/events", params=params)))
    reader.start()
    assert append(http, message(agg, 1)).status_code == 200
    reader.join(30)
    assert not reader.is_alive()
    [event] = sse_events(result[0])
    assert event["token"] == next_token and event["aggregateSequenceNumber"] == 1


def test_tracking_read_ends_after_timeout(http: httpx.Client) -> None:
    started = time.monotonic()
    assert sse_events(http.get("/v1/events", params={"trackingToken": 10**12, "timeout": 0.2})) == []
    assert time.monotonic() - started < 10


def test_snapshots(http: httpx.Client) -> None:
    agg = str(uuid4())
    assert append(http, *(message(agg, i) for i in range(4))).status_code == 200
    snapshot = message(agg, 2, payload={"type": "OrderState", "revision": "1", "data": "state@2"})
    assert http.post("/v1/snapshots", json=snapshot).status_code == 200

    [stored] = http.get("/v1/snapshots", params={"aggregateId": agg}).json()
    assert stored["aggregateSequenceNumber"] == 2 and stored["payload"]["data"] == "state@2"
    assert [e["aggregateSequenceNumber"] for e in read_aggregate(http, agg)] == [2, 3]
    assert read_aggregate(http, agg)[0]["payload"]["type"] == "OrderState"
    assert [e["aggregateSequenceNumber"] for e in read_aggregate(http, agg, allowSnapshots="false")] == [0, 1, 2, 3]
    assert_axon_error(http.get("/v1/snapshots"), 400, "AXONIQ-0001")


# -- initialization -------------------------------------------------------------------


def test_init_endpoints(http: httpx.Client) -> None:
    assert http.post("/v1/context/init", params={"context": "extra"}).status_code == 200
    assert "extra" in http.get("/v1/public/mycontexts").json()
    agg = str(uuid4())
    assert append(http, message(agg, 0), context="extra").status_code == 200
    assert read_aggregate(http, agg) == []  # the default context has no such aggregate

    response = http.post("/v2/cluster/init")
    assert response.status_code == 200 and response.text == "Accepted init cluster request"
    assert_axon_error(http.post("/v1/context/init", params={"context": "9 bad"}), 400, "AXONIQ-2308")


# -- OpenAPI and Swagger UI -----------------------------------------------------------


def test_openapi_document_describes_every_route(http: httpx.Client) -> None:
    document = http.get("/v3/api-docs").json()
    assert document["openapi"].startswith("3.")
    assert http.get("/openapi.json").json() == document
    served = set()
    for route in create_app(None).routes:  # type: ignore[arg-type]
        if isinstance(route, Route) and not route.path.endswith("/") and "swagger-initializer" not in route.path:
            served.update((route.path, method.lower()) for method in route.methods or () if method != "HEAD")
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served - {("/swagger-ui", "get")} <= described


def test_swagger_ui_loads_from_this_server(http: httpx.Client) -> None:
    redirect = http.get("/swagger-ui.html")
    assert redirect.status_code == 302 and redirect.headers["location"] == "/swagger-ui/index.html"
    page = http.get("/swagger-ui/index.html")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/swagger-ui/") for a in assets)
    for asset in assets:
        response = http.get(asset)
        assert response.status_code == 200, asset
        if asset.endswith(".js"):
            assert "javascript" in response.headers["content-type"]
    initializer = http.get("/swagger-ui/swagger-initializer.js").text
    assert '"/v3/api-docs"' in initializer and "validatorUrl: null" in initializer
    assert "SwaggerUIBundle" in http.get("/swagger-ui/swagger-ui-bundle.js").text[:200_000]


# -- shutdown -------------------------------------------------------------------------


def test_node_stops_promptly_while_a_stream_is_open(fresh_node: NodeProcess) -> None:
    with httpx.Client(base_url=fresh_node.http_url, timeout=30) as client:
        with client.stream("GET", "/v1/events", params={"timeout": 3600}) as response:
            assert response.status_code == 200
            started = time.monotonic()
            fresh_node.stop(timeout=10)  # raises NodeFailed if SIGTERM is not enough
            assert time.monotonic() - started < 10
