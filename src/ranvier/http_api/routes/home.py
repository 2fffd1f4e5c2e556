"""`GET /`: a small landing page (node, version, contexts with event counts, links)."""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ranvier import __version__

from .._request import node_of
from .actuator import context_problem

if TYPE_CHECKING:
    from ranvier.node import Node

STATIC = Path(__file__).resolve().parent.parent / "static"
_PAGE = Template((STATIC / "index.html").read_text(encoding="utf-8"))


async def index(request: Request) -> HTMLResponse:
    node = node_of(request)
    rows = []
    for name in sorted({*node.context_names, *node.failed_contexts}):
        rows.append(_row(name, *_context_state(node, name)))
    if not rows:
        rows.append('        <tr><td colspan="3">No contexts yet: this node is not initialized.</td></tr>')
    page = _PAGE.substitute(
        name=html.escape(node.name),
        version=html.escape(__version__),
        host=html.escape(node.hostname),
        grpc_port=node.grpc_port,
        contexts="\n".join(rows),
    )
    return HTMLResponse(page)


def _context_state(node: Node, name: str) -> tuple[str, str]:
    problem = context_problem(node, name)
    if problem is not None:
        return f"DOWN: {problem}", ""
    return "UP", str(node.stores[name].last_token() + 1)


def _row(name: str, status: str, events: str) -> str:
    css = "up" if status == "UP" else "down"
    return (
        f'        <tr><td>{html.escape(name)}</td><td class="{css}">{html.escape(status)}</td>'
        f'<td class="num">{events}</td></tr>'
    )


routes = [
    Route("/", index, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
]
