"""Fixtures shared by the suites: real node processes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ranvier.testing.nodes import NodeProcess


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """One standalone node per test module, stopped politely at the end."""
    process = NodeProcess(tmp_path_factory.mktemp("node"))
    process.start()
    try:
        yield process
    finally:
        try:
            process.stop()
        finally:
            process.kill()


@pytest.fixture
def fresh_node(tmp_path: Path) -> Iterator[NodeProcess]:
    """A node of the test's own, for tests that kill or restart it."""
    process = NodeProcess(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.kill()
