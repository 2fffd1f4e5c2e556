"""`/actuator/health` when something is wrong, on a stand-in node (in-process)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from ranvier.http_api import create_app
from ranvier.http_api.routes import actuator


def get(node: Any, path: str) -> httpx.Response:
    """One request through the app in-process (no sockets)."""

    async def request() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(node))
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            return await client.get(path)

    return asyncio.run(request())


def broken_node(tmp_path: Path) -> Any:
    return SimpleNamespace(
        name="n1",
        hostname="127.0.0.1",
        grpc_port=8124,
        context_names=["broken"],
        failed_contexts={"broken": "checksum mismatch in 00000000000000000000.events at offset 4096"},
        stores={},
        initialized=True,
        settings=SimpleNamespace(event_storage=tmp_path),
    )


def test_failed_context_is_down_with_its_reason(tmp_path: Path) -> None:
    node = broken_node(tmp_path)
    response = get(node, "/actuator/health")
    assert response.status_code == 503
    health = response.json()
    assert health["status"] == "DOWN"
    broken = health["components"]["localEventStore"]["components"]["broken"]
    assert broken["status"] == "DOWN" and "checksum mismatch" in broken["details"]["error"]
    assert "DOWN: checksum mismatch" in get(node, "/").text


def test_low_disk_space_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = broken_node(tmp_path)
    node.failed_contexts, node.context_names = {}, []
    monkeypatch.setattr(actuator.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1, 1))
    response = get(node, "/actuator/health")
    assert response.status_code == 503
    assert response.json()["components"]["diskSpace"]["status"] == "DOWN"
