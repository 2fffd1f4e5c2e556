"""A small port of the datadriven test format used by etcd-io/raft and CockroachDB.

A file is a sequence of test cases::

    # comments and blank lines are kept on rewrite
    command arg key=value key=(v1,v2)
    optional input lines
    ----
    expected output, up to the next blank line

`run_file(path, handler, rewrite=False)` runs each case through
`handler(case) -> str` and compares the result with the expected output.
With rewrite=True the file is regenerated from the actual output instead:
inspect the diff, and only commit the changes if you understand what caused them.
Outputs may not contain blank lines (they end a case); handlers print
"<empty>" for empty output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class CmdArg:
    key: str
    vals: list[str]

    def __str__(self) -> str:
        if not self.vals:
            return self.key
        if len(self.vals) == 1:
            return f"{self.key}={self.vals[0]}"
        return f"{self.key}=({','.join(self.vals)})"


@dataclass
class ScriptCase:
    pos: str  # "file:line", for failure messages
    cmd: str
    args: list[CmdArg]
    input: str
    expected: str
    # Line span of the expected output in the file, [start, end).
    out_start: int = 0
    out_end: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def arg(self, key: str, default: str | None = None) -> str | None:
        for a in self.args:
            if a.key == key:
                return a.vals[0] if a.vals else ""
        return default

    def arg_list(self, key: str) -> list[str]:
        for a in self.args:
            if a.key == key:
                return a.vals
        return []

    def positional(self) -> list[str]:
        """Arguments without `=`, in order."""
        return [a.key for a in self.args if not a.vals]


class DataDrivenFailure(AssertionError):
    pass


def parse_args(words: list[str]) -> list[CmdArg]:
    out = []
    for w in words:
        if "=" not in w:
            out.append(CmdArg(w, []))
            continue
        key, val = w.split("=", 1)
        if val.startswith("(") and val.endswith(")"):
            vals = [v for v in val[1:-1].replace(" ", ",").split(",") if v]
        else:
            vals = [val]
        out.append(CmdArg(key, vals))
    return out


def _split_words(line: str) -> list[str]:
    """Split on spaces, but keep `key=(a, b)` together."""
    words: list[str] = []
    depth = 0
    cur = ""
    for ch in line:
        if ch == " " and depth == 0:
            if cur:
                words.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    if cur:
        words.append(cur)
    return words


def parse(path: Path) -> tuple[list[str], list[ScriptCase]]:
    lines = path.read_text().split("\n")
    cases: list[ScriptCase] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line or line.startswith("#"):
            i += 1
            continue
        start = i
        words = _split_words(line)
        i += 1
        input_lines = []
        while i < len(lines) and lines[i].strip() != "----":
            input_lines.append(lines[i])
            i += 1
        if i >= len(lines):
            raise DataDrivenFailure(f"{path}:{start + 1}: missing ---- after command")
        i += 1
        out_start = i
        while i < len(lines) and lines[i].strip() != "":
            i += 1
        cases.append(
            ScriptCase(
                pos=f"{path.name}:{start + 1}", cmd=words[0], args=parse_args(words[1:]),
                input="\n".join(input_lines), expected="\n".join(lines[out_start:i]),
                out_start=out_start, out_end=i,
            )
        )
    return lines, cases


def run_file(path: Path, handler: Callable[[ScriptCase], str], rewrite: bool = False) -> None:
    """Run every case in path; raise DataDrivenFailure on the first mismatch
    (or rewrite the file with the actual outputs)."""
    lines, cases = parse(path)
    outputs: list[str] = []
    for case in cases:
        actual = handler(case).rstrip("\n") or "<empty>"
        if "\n\n" in actual:
            raise DataDrivenFailure(f"{case.pos}: output of {case.cmd} contains a blank line")
        if not rewrite and actual != case.expected:
            raise DataDrivenFailure(
                f"{case.pos}: output of `{case.cmd}` differs\n--- expected\n{case.expected}\n"
                f"--- actual\n{actual}\n(rerun with --rewrite and inspect the diff)"
            )
        outputs.append(actual)
    if rewrite:
        _rewrite(path, lines, cases, outputs)


def _rewrite(path: Path, lines: list[str], cases: list[ScriptCase], outputs: list[str]) -> None:
    new: list[str] = []
    pos = 0
    for case, out in zip(cases, outputs):
        new.extend(lines[pos : case.out_start])
        new.extend(out.split("\n"))
        pos = case.out_end
    new.extend(lines[pos:])
    path.write_text("\n".join(new))
