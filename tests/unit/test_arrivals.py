"""`Arrivals`: a writer holds a batch while transactions are still arriving, never longer
than its window, and not at all when none is arriving."""

from __future__ import annotations

import asyncio

from ranvier.eventstore.arrivals import Arrivals


def test_no_hold_when_nothing_is_arriving_or_without_a_window() -> None:
    async def scenario() -> None:
        now = asyncio.get_running_loop().time()
        await asyncio.wait_for(Arrivals(3600).hold(now), 30)
        no_window = Arrivals(0)
        no_window.started()
        await asyncio.wait_for(no_window.hold(now), 30)

    asyncio.run(scenario())


def test_hold_ends_when_the_last_arrival_ends() -> None:
    async def scenario() -> None:
        arrivals = Arrivals(3600)
        arrivals.started()
        arrivals.started()
        holding = asyncio.ensure_future(arrivals.hold(asyncio.get_running_loop().time()))
        await asyncio.sleep(0)
        arrivals.ended()
        await asyncio.sleep(0)
        assert not holding.done()  # one is still arriving
        arrivals.ended()
        await asyncio.wait_for(holding, 30)

    asyncio.run(scenario())


def test_hold_ends_with_the_window() -> None:
    async def scenario() -> None:
        arrivals = Arrivals(0.05)
        arrivals.started()  # and never ends
        await asyncio.wait_for(arrivals.hold(asyncio.get_running_loop().time()), 30)
        assert arrivals.count == 1

    asyncio.run(scenario())


def test_release_ends_a_hold_and_the_next_until_rearmed() -> None:
    async def scenario() -> None:
        arrivals = Arrivals(3600)
        arrivals.started()  # and never ends
        now = asyncio.get_running_loop().time()
        holding = asyncio.ensure_future(arrivals.hold(now))
        await asyncio.sleep(0)
        assert not holding.done()
        arrivals.release()
        await asyncio.wait_for(holding, 30)
        await asyncio.wait_for(arrivals.hold(now), 30)  # still released
        arrivals.rearm()
        again = asyncio.ensure_future(arrivals.hold(now))
        await asyncio.sleep(0)
        assert not again.done()
        again.cancel()

    asyncio.run(scenario())


def test_a_cancelled_hold_raises_even_if_woken_in_the_same_round() -> None:
    async def scenario() -> None:
        arrivals = Arrivals(3600)
        arrivals.started()
        holding = asyncio.ensure_future(arrivals.hold(asyncio.get_running_loop().time()))
        await asyncio.sleep(0)
        arrivals.ended()  # wakes it ...
        holding.cancel()  # ... and the cancellation comes before it runs
        try:
            await holding
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("the hold returned normally after a cancel")
        assert arrivals.holding == 0  # nothing left behind for the next hold

    asyncio.run(scenario())


def test_concurrent_holds_all_end_with_the_last_arrival() -> None:
    """ClusterWriter holds in every client's transaction at once."""

    async def scenario() -> None:
        arrivals = Arrivals(3600)
        for _ in range(16):
            arrivals.started()
        now = asyncio.get_running_loop().time()
        holds = [asyncio.ensure_future(arrivals.hold(now)) for _ in range(16)]
        await asyncio.sleep(0)
        assert arrivals.holding == 16 and not any(h.done() for h in holds)
        for _ in range(16):
            arrivals.ended()
        await asyncio.wait_for(asyncio.gather(*holds), 30)
        assert arrivals.holding == 0

    asyncio.run(scenario())


def test_each_concurrent_hold_ends_with_its_own_window() -> None:
    """Holds that started at different times, while arrivals never end: each
    returns when its window is over; none waits for a wake-up that went to another."""

    async def scenario() -> None:
        arrivals = Arrivals(0.05)
        arrivals.started()  # and never ends
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(arrivals.hold(loop.time()))
        await asyncio.sleep(0.02)
        second = asyncio.ensure_future(arrivals.hold(loop.time()))  # its window ends later
        await asyncio.wait_for(first, 30)
        await asyncio.wait_for(second, 30)
        assert arrivals.holding == 0

    asyncio.run(scenario())


def test_a_cancelled_hold_leaves_the_others_holding() -> None:
    async def scenario() -> None:
        arrivals = Arrivals(3600)
        arrivals.started()
        now = asyncio.get_running_loop().time()
        cancelled, kept = (asyncio.ensure_future(arrivals.hold(now)) for _ in range(2))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        assert arrivals.holding == 1 and not kept.done()
        arrivals.ended()
        await asyncio.wait_for(kept, 30)

    asyncio.run(scenario())
