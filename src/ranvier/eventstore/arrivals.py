"""Client transactions still arriving, so that a writer can hold a batch for them.

Both writers (`LocalCommitter` on a single node, `ClusterWriter` in a cluster) pay a
fixed cost per batch: an fsync, and in a cluster a Raft round on every member. A
100-event transaction takes far longer to arrive than an fsync takes, so without
holding, batches hold one transaction and that per-batch cost dominates under
load. `ContextEventStore.receiving()` brackets reading a client's transaction
with `started`/`ended`; `hold(since)` waits until none is arriving or `window_s`
has passed since `since` (the writer's last batch), whichever comes first. A lone
writer never waits. `release()` ends a hold early (and lets the next one return at
once) when the writer decides that what waits is worth its batch already;
`rearm()` undoes that once the writer took the batch.

Several holds may be in progress at once: `LocalCommitter` holds from its one
task, but `ClusterWriter` holds in every client's transaction, so 16 clients make
up to 16 concurrent holders. A wake-up (nothing arriving any more, a release)
ends all of them; each holder's window timer ends only its own hold. Until
2026-12-01 a single waiter slot was kept: a second holder replaced the first,
whose timer then woke the second, and the first waited forever, and with it its
client (a 3-node cluster stopped taking appends under 16 clients x 100 events).
"""

from __future__ import annotations

import asyncio


class Arrivals:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.count = 0
        self._released = False
        # The holds in progress (at most one per concurrent writer task, so bounded
        # by the clients): each is removed by its own holder when it ends.
        self._waiters: list[asyncio.Future[None]] = []

    def started(self) -> None:
        self.count += 1

    def ended(self) -> None:
        self.count = max(0, self.count - 1)
        if not self.count:
            self._wake()

    def release(self) -> None:
        self._released = True
        self._wake()

    def rearm(self) -> None:
        self._released = False

    async def hold(self, since: float) -> None:
        """A plain future and a timer, not `asyncio.wait` around an Event's wait():
        that made a task, a set and several callbacks per batch, ~4 % of the loop
        thread at 64 clients x 100 events. A cancelled holder raises here as with
        any await (cancellation wins even if the wake-up came in the same round)."""
        if not self.window_s or not self.count or self._released:
            return
        loop = asyncio.get_running_loop()
        wait = since + self.window_s - loop.time()
        if wait <= 0:
            return
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(wait, _end, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.remove(waiter)

    @property
    def holding(self) -> int:
        """How many holds are in progress."""
        return len(self._waiters)

    def _wake(self) -> None:
        for waiter in self._waiters:
            _end(waiter)


def _end(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
