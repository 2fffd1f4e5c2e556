"""`checked_ranges` (the append path's sequence check) against a plain model of
Axon's rule, over random transactions mixing aggregates, gaps and non-domain events:
both the dispatching function (the C scan where built) and the Python reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ranvier._pb import event_pb2
from ranvier.errors import InvalidSequence
from ranvier.eventstore.codec import checked_ranges, checked_ranges_reference

IMPLEMENTATIONS = pytest.mark.parametrize("check", [checked_ranges, checked_ranges_reference], ids=["dispatch", "reference"])

AGGREGATES = ["a", "b", "c"]


def _event(agg: str, seq: int, domain: bool, ts: int) -> bytes:
    return event_pb2.Event(
        aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="T" if domain else "", timestamp=ts
    ).SerializeToString()


def _model(events: list[tuple[str, int, bool, int]], stored: dict[str, int]) -> tuple[dict[str, tuple[int, int]], int] | None:
    """Each aggregate's events continue from its stored highest, one by one; None = rejected."""
    ranges: dict[str, tuple[int, int]] = {}
    for agg, seq, domain, _ts in events:
        if not domain:
            continue
        expected = ranges[agg][1] + 1 if agg in ranges else stored.get(agg, -1) + 1
        if seq != expected:
            return None
        ranges[agg] = (ranges.get(agg, (seq, seq))[0], seq)
    return ranges, max((ts for *_rest, ts in events), default=0)


_events = st.lists(
    st.tuples(st.sampled_from(AGGREGATES), st.integers(0, 4), st.booleans(), st.integers(0, 10**13)), max_size=12
)
_stored = st.dictionaries(st.sampled_from(AGGREGATES), st.integers(-1, 2))


@IMPLEMENTATIONS
@settings(max_examples=400, deadline=None)
@given(events=_events, stored=_stored)
def test_checked_ranges_matches_the_model(check, events: list[tuple[str, int, bool, int]], stored: dict[str, int]) -> None:
    raws = [_event(*e) for e in events]
    expected = _model(events, stored)
    try:
        got = check(raws, lambda agg: stored.get(agg, -1))
    except InvalidSequence:
        assert expected is None
        return
    assert got == expected


@IMPLEMENTATIONS
def test_runs_of_one_aggregate_are_checked_event_by_event(check) -> None:
    raws = [_event("a", s, True, 1) for s in (0, 1, 2, 4)]
    try:
        check(raws, lambda agg: -1)
    except InvalidSequence as exc:
        assert "Invalid sequence number 4 for aggregate a, expected 3" in exc.message
    else:
        raise AssertionError("a gap inside a run was accepted")
