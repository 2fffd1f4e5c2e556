"""Scripted Raft scenarios (etcd-io/raft's datadriven style).

Each tests/raft/testdata/*.txt is a script of InteractionEnv commands with the
exact expected output. If a change alters the output, run
`pytest tests/raft --rewrite` and inspect the diff; only commit the changes if
you understand what caused them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ranvier.testing.datadriven import run_file
from ranvier.testing.raftenv import InteractionEnv

TESTDATA = Path(__file__).parent / "testdata"


@pytest.mark.parametrize("path", sorted(TESTDATA.glob("*.txt")), ids=lambda p: p.stem)
def test_interaction(path: Path, rewrite: bool) -> None:
    env = InteractionEnv()
    run_file(path, env.handle, rewrite=rewrite)
