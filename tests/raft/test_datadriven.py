"""The datadriven runner itself: comparison and --rewrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from ranvier.testing.datadriven import DataDrivenFailure, ScriptCase, parse_args, run_file

SCRIPT = """# a comment
echo a b=(1,2) c=3
----
old output

echo nothing
----
<empty>
"""


def echo(case: ScriptCase) -> str:
    if case.positional() == ["nothing"]:
        return ""
    return f"{case.positional()} {case.arg_list('b')} {case.arg('c')}"


def test_mismatch_fails_and_rewrite_fixes(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(SCRIPT)
    with pytest.raises(DataDrivenFailure, match="differs"):
        run_file(path, echo)
    run_file(path, echo, rewrite=True)
    assert "['a'] ['1', '2'] 3" in path.read_text()
    assert path.read_text().startswith("# a comment\n")
    run_file(path, echo)


def test_parse_args() -> None:
    args = parse_args(["x", "k=v", "l=(1,2)"])
    assert [(a.key, a.vals) for a in args] == [("x", []), ("k", ["v"]), ("l", ["1", "2"])]
