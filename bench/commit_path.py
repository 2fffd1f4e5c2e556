"""The node's commit path in one process, without gRPC: CPU per event on the loop.

`ranvier bench` compares whole servers and its rounds spread by 10-25 % on a
shared 2-vCPU VM, so changes worth a few per cent of the loop thread's time
drown in it. This drives the part of the write path that is ours alone: the
same `ContextEventStore`, `LocalCommitter` (group commit, the fsync thread) and
`ContextStore` (sequence check, record framing and checksum, log, index) a node
runs, on a fresh data directory with real files and fsync, with N concurrent
writers that each append transactions of E prebuilt 256-byte-payload Events (the load generator's) to
an aggregate of their own (a new one every 10 transactions, as the load
generator does). It reports the loop thread's CPU seconds per event
(`time.thread_time`) and the fsyncs per transaction, and, for the same events,
the per-transaction cost of the C pieces measured apart.

usage: python bench/commit_path.py [--clients 1 16 64] [--per-tx 100]
                                   [--transactions 3000] [--rounds 3]
Events are built before the clock starts (~400 bytes each, held in memory).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
import zlib
from pathlib import Path

from ranvier.bench.pyload import encode_event  # the load generator's events, byte for byte
from ranvier.event_loop import loop_factory
from ranvier.eventstore import native
from ranvier.eventstore.committer import LocalCommitter
from ranvier.eventstore.service import ContextEventStore
from ranvier.eventstore.store import ContextStore, StoreOptions

PAYLOAD = os.urandom(256)
TX_PER_AGGREGATE = 10


def transactions(clients: int, per_tx: int, count: int) -> list[list[list[bytes]]]:
    """Per client, its transactions in order: aggregate `c-k` gets 10 of them."""
    out: list[list[list[bytes]]] = [[] for _ in range(clients)]
    for t in range(count):
        c, n = t % clients, t // clients
        aggregate, first = f"bench-{c:04d}-{n // TX_PER_AGGREGATE:06d}", (n % TX_PER_AGGREGATE) * per_tx
        out[c].append([encode_event(f"{aggregate}-{s}", aggregate, s, PAYLOAD) for s in range(first, first + per_tx)])
    return out


async def run_once(clients: int, per_tx: int, count: int) -> tuple[float, float]:
    """Loop CPU us per event, and fsyncs per transaction."""
    work = transactions(clients, per_tx, count)
    directory = Path(tempfile.mkdtemp(prefix="ranvier-commit-"))
    loop = asyncio.get_running_loop()
    store = ContextStore.open("default", directory, StoreOptions(), loop.call_soon_threadsafe)
    committer = LocalCommitter(store)
    service = ContextEventStore(store, committer, 8 << 20)

    async def writer(mine: list[list[bytes]]) -> None:
        for events in mine:
            with service.receiving():
                await asyncio.sleep(0)  # others' transactions are "arriving" meanwhile, as in a node
            await service.append_events(events, sum(map(len, events)))

    try:
        cpu0 = time.thread_time()
        await asyncio.gather(*(writer(mine) for mine in work))
        cpu = time.thread_time() - cpu0
        if store.next_token != count * per_tx:  # every transaction acknowledged is stored
            raise RuntimeError(f"stored {store.next_token} events, expected {count * per_tx}")
        return cpu / (count * per_tx) * 1e6, committer.batches / count
    finally:
        await committer.close()
        store.close()
        shutil.rmtree(directory, ignore_errors=True)


def pieces(per_tx: int) -> dict[str, float]:
    """us per transaction of the C work the commit does on the loop thread."""
    events = transactions(1, per_tx, 1)[0][0]
    rounds = 2000

    def clock(fn) -> float:  # type: ignore[no-untyped-def]
        t0 = time.thread_time()
        for _ in range(rounds):
            fn()
        return (time.thread_time() - t0) / rounds * 1e6

    out = {}
    c = native.extension
    if c is not None:
        out["scan"] = clock(lambda: c.scan(events))
        out["frame"] = clock(lambda: c.frame(events, 64))
        body = bytes(c.frame(events, 0))
        out["crc32"] = clock(lambda: zlib.crc32(body))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--per-tx", type=int, default=100)
    parser.add_argument("--transactions", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    name, factory = loop_factory()
    loop = factory() if factory is not None else asyncio.new_event_loop()
    print(f"commit path, {args.per_tx} events/tx, {args.transactions} transactions per round, "
          f"median of {args.rounds} rounds; event loop {name}, store work in "
          f"{native.describe(native.extension)}")
    print("| writers | loop CPU per event | fsyncs per transaction | rounds |")
    print("|---|---|---|---|")
    try:
        for clients in args.clients:
            runs = [loop.run_until_complete(run_once(clients, args.per_tx, args.transactions))
                    for _ in range(args.rounds)]
            us = statistics.median(r[0] for r in runs)
            per_tx = statistics.median(r[1] for r in runs)
            print(f"| {clients} | {us:.2f} us | {per_tx:.2f} | {' / '.join(f'{r[0]:.2f}' for r in runs)} |")
    finally:
        loop.close()
    parts = pieces(args.per_tx)
    if parts:
        print("C pieces per transaction, in isolation: " + ", ".join(f"{k} {v:.1f} us" for k, v in parts.items()))
    else:
        print("C pieces: the C extension is not built (RANVIER_NATIVE=python or no compiler)")


if __name__ == "__main__":
    main()
