"""Autocluster on real processes: three nodes configured with `autocluster.first` and
`autocluster.contexts`, started in an arbitrary order, form one cluster by
themselves; a restart does not re-apply the configuration; and `/actuator/health`
reports a context's lost quorum on the node that survives."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from ranvier.cluster.autocluster import parse_first, plan_for
from ranvier.testing.cluster import FAST_RAFT, get_json, group_status, wait_until
from ranvier.testing.nodes import NodeProcess

NAMES = ["n1", "n2", "n3"]


def health(node: NodeProcess) -> dict[str, object]:
    try:
        return get_json(node.http_url + "/actuator/health")  # type: ignore[return-value]
    except urllib.error.HTTPError as exc:  # 503 when not UP, with the same body
        return json.loads(exc.read())  # type: ignore[no-any-return]


def members(node: NodeProcess) -> dict[str, list[str]]:
    return {c["context"]: sorted(c["nodes"]) for c in get_json(node.http_url + "/v1/public/context")}  # type: ignore[union-attr]


def test_first_names_host_and_port() -> None:
    assert parse_first("node1") == ("node1", 8224)
    assert parse_first("node1.example.com:8225") == ("node1.example.com", 8225)
    assert plan_for("node1", ("_admin", "default", "default"), "node1", 8224).founder
    assert plan_for("node1", (), "node1.example.com", 8224).founder
    assert not plan_for("node1:8225", (), "node1", 8224).founder
    assert not plan_for("localhost", ("_admin",), "node2", 8224).founder
    assert plan_for("n1", ("_admin", "default", "orders", "default"), "n2", 8224).contexts == ("default", "orders")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[NodeProcess]]:
    tmp = tmp_path_factory.mktemp("autocluster")
    nodes = [NodeProcess(tmp, name=name, standalone=False) for name in NAMES]
    first = f"127.0.0.1:{nodes[0].internal_port}"
    for node in nodes:
        node.properties.update({
            **FAST_RAFT,
            "axoniq.axonserver.internal-hostname": "127.0.0.1",
            "axoniq.axonserver.replication.log-storage-folder": str(tmp / node.name / "log"),
            "axoniq.axonserver.autocluster.first": first,
            "axoniq.axonserver.autocluster.contexts": "_admin,default,orders",
        })
    try:
        # The joining nodes first: they retry until the first node is up and initialised.
        for node in (nodes[1], nodes[2], nodes[0]):
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.kill()


def test_nodes_form_one_cluster_from_configuration(cluster: list[NodeProcess]) -> None:
    def formed() -> bool:
        return all(group_status(n, g).get("voters") == NAMES and not group_status(n, g).get("learners")
                   for n in cluster for g in ("_admin", "default", "orders"))

    try:
        wait_until(formed, 45, "_admin, default and orders with three voters on every node")
    except AssertionError:
        for n in cluster:
            print(n.name, n.log_tail(20))
        raise
    assert members(cluster[2]) == {"default": NAMES, "orders": NAMES}
    assert {n["name"] for n in get_json(cluster[1].http_url + "/v1/public")} == set(NAMES)  # type: ignore[union-attr]
    for node in cluster:
        me = get_json(node.http_url + "/v1/public/me")
        assert me["initialized"] is True  # type: ignore[index]
        assert health(node)["status"] == "UP"
        groups = health(node)["components"]["raft"]["components"]  # type: ignore[index]
        assert sorted(groups) == ["_admin", "default", "orders"]


def test_restart_does_not_reapply_the_configuration(cluster: list[NodeProcess]) -> None:
    n1, n2, n3 = cluster
    # An operator takes n3 out of `orders`; a restart of n3 must not put it back.
    request = urllib.request.Request(n1.http_url + "/v1/context/orders/n3", method="DELETE")
    urllib.request.urlopen(request, timeout=10).close()
    wait_until(lambda: members(n1)["orders"] == ["n1", "n2"] and "orders" not in get_json(n3.http_url + "/v1/public/me")["contextNames"],  # type: ignore[index]
               what="n3 removed from orders")
    for node in (n3, n1):  # a joining node and the first node
        node.restart()
        wait_until(lambda n=node: "configuration not re-applied" in n.log_path.read_text(), what=f"{node.name} restarted")
        wait_until(lambda n=node: group_status(n, "default").get("leader") is not None, what=f"{node.name} rejoined")
    assert members(n2) == {"default": NAMES, "orders": ["n1", "n2"]}
    assert "autocluster: done" not in n3.log_tail(200).split("configuration not re-applied")[-1]


def test_health_reports_a_lost_quorum(cluster: list[NodeProcess]) -> None:
    n1, n2, n3 = cluster
    wait_until(lambda: health(n3)["status"] == "UP", what="healthy cluster")
    n1.kill()
    n2.kill()

    def down() -> bool:
        groups = health(n3)["components"]["raft"]["components"]  # type: ignore[index]
        return all(groups[g]["status"] == "DOWN" for g in ("_admin", "default"))  # type: ignore[index]

    try:
        wait_until(down, 15, "_admin and default DOWN on the survivor")
    except AssertionError:
        print(json.dumps(health(n3)["components"]["raft"], indent=1))
        print(get_json(n3.http_url + "/internal/raft/status"))
        print(n3.log_tail(30))
        raise
    body = health(n3)
    assert body["status"] == "DOWN"
    groups = body["components"]["raft"]["components"]  # type: ignore[index]
    for name in ("_admin", "default"):
        error = groups[name]["details"]["error"]
        assert "no leader" in error or "quorum lost" in error, error
        assert "1 of 3 voters reachable" in error, error
