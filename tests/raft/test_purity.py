"""ranvier.raft must stay pure: no I/O, clocks, threads or global randomness
(docs/RAFT.md; STYLE.md §6 rule 1). Checked on the source, so a lazy import
inside a function is caught too."""

from __future__ import annotations

import ast
from pathlib import Path

import ranvier.raft

FORBIDDEN = {
    "asyncio", "socket", "time", "os", "threading", "random", "grpc", "subprocess",
    "select", "selectors", "multiprocessing", "concurrent", "datetime", "io",
    "pathlib", "shutil", "tempfile", "logging", "signal", "ssl", "http", "urllib",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_raft_package_imports_nothing_impure() -> None:
    root = Path(ranvier.raft.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert files
    for path in files:
        for name in imported_modules(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            if top == "ranvier":
                assert name.startswith("ranvier.raft"), f"{path.name} imports {name}"
