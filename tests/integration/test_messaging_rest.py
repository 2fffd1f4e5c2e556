"""Messaging over REST and the control stream: run commands and queries, list
handlers and components, send processor instructions and reconnects, heartbeats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from ranvier._pb import control_pb2
from ranvier.testing.axon_client import AxonTestClient, wait_for
from ranvier.testing.nodes import NodeProcess


def run(node: NodeProcess, scenario: Callable[[str, httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(base_url=node.http_url, timeout=15) as http:
            await scenario(node.grpc_address, http)

    asyncio.run(asyncio.wait_for(main(), 30))


def processor(name: str, *segments: tuple[int, int]) -> control_pb2.EventProcessorInfo:
    return control_pb2.EventProcessorInfo(
        processor_name=name, mode="Tracking", running=True, active_threads=1, available_threads=1,
        is_streaming_processor=True, token_store_identifier="store",
        segment_status=[control_pb2.EventProcessorInfo.SegmentStatus(segment_id=s, one_part_of=p) for s, p in segments],
    )


def test_run_command_and_list_handlers(node: NodeProcess) -> None:
    async def scenario(address: str, http: httpx.AsyncClient) -> None:
        async with AxonTestClient(address, "rest-h", component="orders") as handler:
            await handler.command_handler("PlaceOrder", "CancelOrder")
            reply = await http.post("/v1/commands/run", json={
                "name": "PlaceOrder", "routingKey": "o-1", "payload": {"type": "PlaceOrder", "data": "{}"}})
            assert reply.status_code == 200
            assert reply.json()["errorCode"] == "" and reply.json()["payload"]["data"] == "rest-h"
            missing = (await http.post("/v1/commands/run", json={"name": "Nope"})).json()
            assert missing["errorCode"] == "AXONIQ-4000"
            rows = (await http.get("/v1/commands")).json()
            assert {"client": "rest-h", "component": "orders", "context": "default", "proxy": "node1",
                    "commands": ["CancelOrder", "PlaceOrder"]} in rows
            names = (await http.get("/v1/components/orders/commands", params={"context": "default"})).json()
            assert names == [{"name": "CancelOrder"}, {"name": "PlaceOrder"}]
            assert (await http.get("/v1/commands/count")).json() == 0
            assert (await http.post("/v1/commands/run", json={"payload": {}})).status_code == 400

    run(node, scenario)


def test_run_query_streams_responses(node: NodeProcess) -> None:
    async def scenario(address: str, http: httpx.AsyncClient) -> None:
        async with AxonTestClient(address, "rest-q", component="views") as handler:
            await handler.query_handler("AllOrders", handle=lambda _r: [b"a", b"b"])
            reply = await http.post("/v1/queries/run", json={"query": "AllOrders", "payload": {"type": "x", "data": ""}})
            events = [json.loads(line[5:]) for line in reply.text.splitlines() if line.startswith("data:")]
            assert [e["payload"]["data"] for e in events] == ["a", "b"]
            none = await http.post("/v1/queries/run", json={"query": "Nothing"})
            assert "AXONIQ-5000" in none.text
            rows = (await http.get("/v1/queries")).json()
            assert any(r["client"] == "rest-q" and r["queries"][0]["query"] == "AllOrders" for r in rows)
            listed = (await http.get("/v1/components/views/queries")).json()
            assert listed == [{"name": "AllOrders", "responseTypes": ["java.lang.String"]}]

    run(node, scenario)


def test_connected_applications_and_processor_instructions(node: NodeProcess) -> None:
    async def scenario(address: str, http: httpx.AsyncClient) -> None:
        refuse = {"value": False}

        async def answer(instruction: control_pb2.PlatformOutboundInstruction) -> bool:
            return not refuse["value"]

        async with (AxonTestClient(address, "app-1", component="billing") as one,
                    AxonTestClient(address, "app-2", component="billing") as two):
            c1, c2 = await one.control(answer), await two.control(answer)
            c1.processor_info(processor("ledger", (0, 2)))
            c2.processor_info(processor("ledger", (1, 4), (3, 4)))
            overview = (await http.get("/v1/public/overview-list")).json()
            assert {"name": "billing", "instances": 2, "contexts": ["default"], "connectedTo": ["node1"]} in overview
            instances = (await http.get("/v1/components/billing/instances")).json()
            assert [i["clientId"] for i in instances] == ["app-1", "app-2"]

            async def reported() -> bool:
                found = (await http.get("/v1/components/billing/processors")).json()
                return bool(found) and len(found[0]["instances"]) == 2
            deadline = asyncio.get_running_loop().time() + 5
            while not await reported():
                assert asyncio.get_running_loop().time() < deadline, "processor info not reported"
                await asyncio.sleep(0.01)

            base = "/v1/components/billing/processors/ledger"
            assert (await http.patch(base + "/pause", params={"context": "default"})).status_code == 200
            for stream in (c1, c2):
                assert stream.instructions[-1].pause_event_processor.processor_name == "ledger"
            assert (await http.patch(base + "/start")).status_code == 200
            assert c2.instructions[-1].WhichOneof("request") == "start_event_processor"
            assert (await http.patch(base + "/segments/split")).status_code == 200
            assert c1.instructions[-1].split_event_processor_segment.segment_identifier == 0
            assert (await http.patch(base + "/segments/merge")).status_code == 200
            assert c2.instructions[-1].merge_event_processor_segment.segment_identifier == 3
            assert (await http.patch(base + "/segments/1/move", params={"target": "app-1"})).status_code == 200
            assert c2.instructions[-1].release_segment.segment_identifier == 1

            refuse["value"] = True
            failed = await http.patch(base + "/pause")
            assert failed.status_code == 500 and failed.headers["AxonIQ-ErrorCode"] == "AXONIQ-1003"
            unknown = await http.patch("/v1/components/billing/processors/nope/pause")
            assert unknown.status_code == 404 and unknown.headers["AxonIQ-ErrorCode"] == "AXONIQ-2800"

            assert (await http.patch("/v1/instructions", params={"client": "app-2"})).status_code == 200
            await wait_for(lambda: c2.instructions[-1].WhichOneof("request") == "request_reconnect",
                           what="RequestReconnect at the client")
            assert (await http.patch("/v1/instructions", params={"client": "ghost"})).status_code == 500

    run(node, scenario)


@pytest.fixture(scope="module")
def heartbeat_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    process = NodeProcess(tmp_path_factory.mktemp("heartbeat"), properties={
        "axoniq.axonserver.heartbeat.enabled": "true",
        "axoniq.axonserver.client-heartbeat-frequency": "50",
        "axoniq.axonserver.client-heartbeat-initial-delay": "0",
        "axoniq.axonserver.client-heartbeat-timeout": "400",
        "axoniq.axonserver.client-heartbeat-check-initial-delay": "200",
        "axoniq.axonserver.client-heartbeat-check-rate": "50",
    })
    process.start()
    try:
        yield process
    finally:
        try:
            process.stop()
        finally:
            process.kill()


def test_server_heartbeats_and_silent_clients_are_disconnected(heartbeat_node: NodeProcess) -> None:
    async def scenario(address: str, http: httpx.AsyncClient) -> None:
        async with AxonTestClient(address, "beating") as alive, AxonTestClient(address, "silent") as silent:
            beating, quiet = await alive.control(), await silent.control()

            async def beat() -> None:
                while True:
                    beating.heartbeat()
                    await asyncio.sleep(0.05)

            beats = asyncio.ensure_future(beat())
            await asyncio.wait_for(quiet.ended.wait(), 10)
            assert quiet.heartbeats > 0
            assert quiet.error is not None
            assert not beating.ended.is_set() and beating.heartbeats > 0
            beats.cancel()

    run(heartbeat_node, scenario)
