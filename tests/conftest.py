"""Fixtures shared by the suites: real node processes on loopback."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
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


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts a tmpfs of the given size (e.g. "3m") under the test's folder, so a
    disk really fills (ENOSPC from the kernel). Needs root; where mounting is not
    allowed the test is skipped and says why. Unmounted at the end."""
    mounts: list[Path] = []

    def mount(size: str) -> Path:
        where = tmp_path / f"disk{len(mounts)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
        mounts.append(where)
        return where

    try:
        yield mount
    finally:
        for where in mounts:
            subprocess.run(["umount", "-l", str(where)], check=False)
