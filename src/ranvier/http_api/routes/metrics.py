"""Metrics: `/actuator/prometheus` (text format) and `/actuator/metrics[/{name}]`
(Spring's JSON shape, which `axonserver-cli metrics` reads).

Per context: events stored, transactions committed, fsyncs (fewer than transactions
under concurrent load: group commit), records the index still has to take in, and
log bytes. Per node: connected clients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from .._request import node_of

if TYPE_CHECKING:
    from ranvier.node import Node

_CONTEXT_METRICS = {
    "events": ("ranvier.events.stored", "counter", "events stored in the context"),
    "transactions": ("ranvier.events.transactions", "counter", "append transactions committed since start"),
    "fsyncs": ("ranvier.events.fsyncs", "counter", "fsyncs of the event log since start (group commit)"),
    "unindexed_records": ("ranvier.index.lag", "gauge", "records not yet in the on-disk index"),
    "log_bytes": ("ranvier.events.log.bytes", "gauge", "bytes in the context's event log"),
}


def _samples(node: Node) -> dict[str, list[tuple[dict[str, str], int]]]:
    samples: dict[str, list[tuple[dict[str, str], int]]] = {name: [] for name, _t, _h in _CONTEXT_METRICS.values()}
    for context, store in sorted(node.stores.items()):
        for key, value in store.metrics().items():
            samples[_CONTEXT_METRICS[key][0]].append(({"context": context}, value))
    samples["ranvier.clients.connected"] = [({}, len(node.clients.clients))]
    return samples


def _prom_name(name: str) -> str:
    return name.replace(".", "_")


async def get_prometheus(request: Request) -> PlainTextResponse:
    node = node_of(request)
    kinds = {name: (kind, help_text) for name, kind, help_text in _CONTEXT_METRICS.values()}
    kinds["ranvier.clients.connected"] = ("gauge", "clients with an open control stream")
    lines: list[str] = []
    for name, values in _samples(node).items():
        kind, help_text = kinds[name]
        prom = _prom_name(name) + ("_total" if kind == "counter" else "")
        lines += [f"# HELP {prom} {help_text}", f"# TYPE {prom} {kind}"]
        for labels, value in values:
            label_text = ",".join(f'{k}="{v}"' for k, v in {"axonserver": node.name, **labels}.items())
            lines.append(f"{prom}{{{label_text}}} {value}")
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


async def get_metric_names(request: Request) -> JSONResponse:
    return JSONResponse({"names": sorted(_samples(node_of(request)))})


async def get_metric(request: Request) -> JSONResponse:
    name = request.path_params["name"]
    samples = _samples(node_of(request)).get(name)
    if samples is None:
        raise HTTPException(404, f"no metric named {name}")
    context = request.query_params.get("tag", "").removeprefix("context:")
    chosen = [v for labels, v in samples if not context or labels.get("context") == context]
    return JSONResponse({
        "name": name,
        "measurements": [{"statistic": "VALUE", "value": sum(chosen)}],
        "availableTags": [{"tag": "context", "values": sorted(l["context"] for l, _v in samples if "context" in l)}],
    })


routes = [
    Route("/actuator/prometheus", get_prometheus, methods=["GET"]),
    Route("/actuator/metrics", get_metric_names, methods=["GET"]),
    Route("/actuator/metrics/{name}", get_metric, methods=["GET"]),
]
