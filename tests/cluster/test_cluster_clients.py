"""Connected applications across a real 3-node cluster.

An application keeps its control stream on one node; the REST API of any node lists
it (overview, instances, processors, with the node it is connected to) and
instructs it: the instruction goes to the client's node over the internal port, and
the client's outcome comes back as the REST answer. A client that leaves, or whose
node dies, leaves every node's lists. Every wait is for a condition, never a fixed
sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from ranvier._pb import control_pb2
from ranvier.testing import cluster as harness
from ranvier.testing.axon_client import AxonTestClient, wait_for
from ranvier.testing.nodes import NodeProcess

pytestmark = pytest.mark.slow

PROCESSOR = "/v1/components/billing/processors/ledger"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[NodeProcess]]:
    with harness.formed_cluster(tmp_path_factory.mktemp("clients"), ["n1", "n2", "n3"]) as cluster:
        yield cluster


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout))


def ledger(*segments: tuple[int, int]) -> control_pb2.EventProcessorInfo:
    return control_pb2.EventProcessorInfo(
        processor_name="ledger", mode="Tracking", running=True, active_threads=1, available_threads=1,
        is_streaming_processor=True, token_store_identifier="store",
        segment_status=[control_pb2.EventProcessorInfo.SegmentStatus(segment_id=s, one_part_of=p) for s, p in segments])


async def instances_seen(node: NodeProcess, expected: dict[str, str], component: str = "billing",
                         timeout: float = 10) -> None:
    """Wait until `node` lists exactly these instances of `component` (client -> node)."""
    async with httpx.AsyncClient(base_url=node.http_url) as http:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = (await http.get(f"/v1/components/{component}/instances")).json()
            seen = {row["clientId"]: row["connectedTo"] for row in rows}
            if seen == expected:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{node.name} lists {seen}, not {expected}"
            await asyncio.sleep(0.02)


async def processor_instances(http: httpx.AsyncClient, expected: set[str], timeout: float = 10) -> dict[str, dict]:
    """Wait until the node lists `ledger` on exactly these clients; their rows by client id."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = (await http.get("/v1/components/billing/processors")).json()
        rows = {i["clientId"]: i for p in found if p["name"] == "ledger" for i in p["instances"]}
        if set(rows) == expected:
            return rows
        assert asyncio.get_running_loop().time() < deadline, f"ledger reported by {set(rows)}, not {expected}"
        await asyncio.sleep(0.02)


def test_an_application_on_another_node_is_listed_and_instructed(nodes: list[NodeProcess]) -> None:
    n1, n2, n3 = nodes

    async def scenario() -> None:
        refuse = {"value": False}

        async def answer(_instruction: control_pb2.PlatformOutboundInstruction) -> bool:
            return not refuse["value"]

        async with (AxonTestClient(n1.grpc_address, "app-1", component="billing") as one,
                    AxonTestClient(n2.grpc_address, "app-2", component="billing") as two,
                    httpx.AsyncClient(base_url=n1.http_url) as http):
            c1, c2 = await one.control(answer), await two.control(answer)
            c1.processor_info(ledger((0, 2)))
            c2.processor_info(ledger((1, 4), (3, 4)))
            for node in nodes:
                await instances_seen(node, {"app-1": "n1", "app-2": "n2"})
            overview = (await http.get("/v1/public/overview-list")).json()
            assert {"name": "billing", "instances": 2, "contexts": ["default"],
                    "connectedTo": ["n1", "n2"]} in overview
            rows = await processor_instances(http, {"app-1", "app-2"})
            assert [s["segmentId"] for s in rows["app-2"]["segments"]] == [1, 3]

            # Instructions from n1's REST reach the client on n2, and its answer comes back.
            assert (await http.patch(PROCESSOR + "/pause")).status_code == 200
            for stream in (c1, c2):
                assert stream.instructions[-1].pause_event_processor.processor_name == "ledger"
            assert (await http.patch(PROCESSOR + "/segments/merge")).status_code == 200
            assert c2.instructions[-1].merge_event_processor_segment.segment_identifier == 3
            assert (await http.patch(PROCESSOR + "/segments/1/move", params={"target": "app-1"})).status_code == 200
            assert c2.instructions[-1].release_segment.segment_identifier == 1
            async with httpx.AsyncClient(base_url=n3.http_url) as other:  # any node, not only n1
                assert (await other.patch(PROCESSOR + "/start")).status_code == 200
                assert c2.instructions[-1].WhichOneof("request") == "start_event_processor"
            refuse["value"] = True
            failed = await http.patch(PROCESSOR + "/pause")
            assert failed.status_code == 500 and failed.headers["AxonIQ-ErrorCode"] == "AXONIQ-1003"
            assert "refused by test client" in failed.text

            assert (await http.patch("/v1/instructions", params={"client": "app-2"})).status_code == 200
            await wait_for(lambda: c2.instructions[-1].WhichOneof("request") == "request_reconnect",
                           what="RequestReconnect at the client on n2")

            # A client that leaves leaves every node's lists.
            await two.close()
            for node in nodes:
                await instances_seen(node, {"app-1": "n1"})
            overview = (await http.get("/v1/public/overview-list")).json()
            assert {"name": "billing", "instances": 1, "contexts": ["default"], "connectedTo": ["n1"]} in overview
            await processor_instances(http, {"app-1"})
        for node in nodes:
            await instances_seen(node, {})

    run(scenario)


def test_processor_changes_reach_the_other_nodes(nodes: list[NodeProcess]) -> None:
    n1, n2, _n3 = nodes

    async def scenario() -> None:
        async with (AxonTestClient(n2.grpc_address, "app-3", component="billing") as app,
                    httpx.AsyncClient(base_url=n1.http_url) as http):
            control = await app.control()
            control.processor_info(ledger((0, 1)))
            rows = await processor_instances(http, {"app-3"})
            assert rows["app-3"]["running"] is True
            for _ in range(5):  # a burst of reports: the latest one is what n1 shows
                control.processor_info(ledger((0, 2), (1, 2)))
            paused = ledger((0, 2), (1, 2))
            paused.running = False
            control.processor_info(paused)
            deadline = asyncio.get_running_loop().time() + 10
            while (await processor_instances(http, {"app-3"}))["app-3"]["running"]:
                assert asyncio.get_running_loop().time() < deadline, "n1 never saw the processor stop"
                await asyncio.sleep(0.02)
            rows = await processor_instances(http, {"app-3"})
            assert [s["segmentId"] for s in rows["app-3"]["segments"]] == [0, 1]

    run(scenario)


def test_a_killed_nodes_applications_leave_the_lists(nodes: list[NodeProcess]) -> None:
    """Last in the module: it kills n2."""
    n1, n2, n3 = nodes

    async def scenario() -> None:
        async with (AxonTestClient(n2.grpc_address, "doomed", component="billing") as doomed,
                    AxonTestClient(n3.grpc_address, "kept", component="billing") as kept,
                    httpx.AsyncClient(base_url=n1.http_url) as http):
            (await doomed.control()).processor_info(ledger((0, 1)))
            await kept.control()
            await instances_seen(n1, {"doomed": "n2", "kept": "n3"})
            await processor_instances(http, {"doomed"})
            n2.kill()
            await instances_seen(n1, {"kept": "n3"})
            await instances_seen(n3, {"kept": "n3"})
            await processor_instances(http, set())
            gone = await http.patch(PROCESSOR + "/pause")
            assert gone.status_code == 404 and gone.headers["AxonIQ-ErrorCode"] == "AXONIQ-2800"
            overview = (await http.get("/v1/public/overview-list")).json()
            assert {"name": "billing", "instances": 1, "contexts": ["default"], "connectedTo": ["n3"]} in overview

    run(scenario)
