"""Majority arithmetic, kept apart from the state machine so it can be
checked alone (tests/raft/test_quorum.py compares it with a naive version)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping


class VoteResult(enum.IntEnum):
    PENDING = 0  # neither a quorum of grants nor of rejections yet
    LOST = 1
    WON = 2


def committed_index(voters: Collection[int], match_of: Callable[[int], int]) -> int:
    """Largest index acknowledged by a majority of voters (§5.3).

    With no voters there is no constraint; callers treat the result as "no
    progress". Entries' terms are checked by the caller (§5.4.2)."""
    n = len(voters)
    if n == 0:
        return 0
    matched = sorted((match_of(v) for v in voters), reverse=True)
    return matched[n // 2]


def vote_result(voters: Collection[int], votes: Mapping[int, bool]) -> VoteResult:
    """Outcome of an election with these votes (missing ids have not answered)."""
    if not voters:
        return VoteResult.WON
    granted = rejected = 0
    for v in voters:
        vote = votes.get(v)
        if vote is True:
            granted += 1
        elif vote is False:
            rejected += 1
    q = len(voters) // 2 + 1
    if granted >= q:
        return VoteResult.WON
    if len(voters) - rejected >= q:
        return VoteResult.PENDING
    return VoteResult.LOST
