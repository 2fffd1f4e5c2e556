"""bench/commit_path.py (`make bench-commit`) runs the node's write path and
prints its table: kept working here with a tiny load (no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "commit_path.py"


def test_commit_path_stores_every_transaction_and_prints_a_row_per_writer_count() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--clients", "1", "3", "--per-tx", "10", "--transactions", "60", "--rounds", "1"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    rows = re.findall(r"^\| (\d+) \| ([\d.]+) us \| ([\d.]+) \|", out, re.MULTILINE)
    assert [r[0] for r in rows] == ["1", "3"], out
    for _writers, us, fsyncs in rows:
        assert float(us) > 0
        assert 0 < float(fsyncs) <= 1  # group commit: never more than one fsync per transaction
    assert "fsyncs per transaction" in out
