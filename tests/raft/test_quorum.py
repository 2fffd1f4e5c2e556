"""Quorum arithmetic against deliberately naive definitions (etcd's
quorum/quick_test.go idea), with hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ranvier.raft.quorum import VoteResult, committed_index, vote_result

matches = st.dictionaries(st.integers(1, 9), st.integers(0, 50), min_size=1, max_size=9)


def naive_committed(m: dict[int, int]) -> int:
    """The largest index that more than half of the voters have reached (§5.3)."""
    return max(i for i in set(m.values()) | {0} if 2 * sum(v >= i for v in m.values()) > len(m))


@given(matches)
@settings(max_examples=500)
def test_committed_index_matches_naive(m: dict[int, int]) -> None:
    assert committed_index(m.keys(), m.__getitem__) == naive_committed(m)


@given(st.sets(st.integers(1, 9), min_size=1), st.dictionaries(st.integers(1, 9), st.booleans()))
@settings(max_examples=500)
def test_vote_result_matches_naive(voters: set[int], votes: dict[int, bool]) -> None:
    granted = sum(1 for v in voters if votes.get(v) is True)
    missing = sum(1 for v in voters if v not in votes)
    majority = len(voters) // 2 + 1
    if granted >= majority:
        want = VoteResult.WON
    elif granted + missing >= majority:
        want = VoteResult.PENDING
    else:
        want = VoteResult.LOST
    assert vote_result(voters, votes) == want


def test_empty_configuration_commits_nothing() -> None:
    assert committed_index([], lambda v: 7) == 0
