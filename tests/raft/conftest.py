"""Options for the Raft suite: `pytest tests/raft --rewrite` regenerates the
datadriven transcripts from actual output (inspect the diff before committing)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--rewrite",
        action="store_true",
        default=False,
        help="regenerate tests/raft/testdata/*.txt from actual output",
    )
    parser.addoption(
        "--sim-seeds",
        type=int,
        default=None,
        help="number of simulator seeds to run in test_sim.py (default: the suite's)",
    )


@pytest.fixture
def rewrite(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--rewrite"))
