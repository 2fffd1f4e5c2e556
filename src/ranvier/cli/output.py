"""Tables as axonserver-cli prints them, or the server's JSON as-is (`-o json`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def render(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(f"{h:<{w}}" for h, w in zip(headers, widths)).rstrip()
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(f"{str(c):<{w}}" for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([line, rule, *body])


def emit(data: Any, output: str, rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    if output == "json":
        print(json.dumps(data, indent=2))
    else:
        print(render(rows, headers))
