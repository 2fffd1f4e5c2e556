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
"""

from __future__ import annotations

import asyncio

from ranvier.aio import wait_for_event


class Arrivals:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.count = 0
        self._released = False
        self._none = asyncio.Event()  # set: nothing to hold for (none arriving, or released)
        self._none.set()

    def started(self) -> None:
        self.count += 1
        if not self._released:
            self._none.clear()

    def ended(self) -> None:
        self.count = max(0, self.count - 1)
        if not self.count:
            self._none.set()

    def release(self) -> None:
        self._released = True
        self._none.set()

    def rearm(self) -> None:
        self._released = False
        if self.count:
            self._none.clear()

    async def hold(self, since: float) -> None:
        if not self.window_s or not self.count:
            return
        wait = since + self.window_s - asyncio.get_running_loop().time()
        if wait > 0:
            await wait_for_event(self._none, wait)
