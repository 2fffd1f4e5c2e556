"""Sentinel errors the core raises or reacts to.

Broken invariants raise AssertionError instead: they are bugs, not conditions.
"""

from __future__ import annotations


class RaftError(Exception):
    """Base class of every error raised by `ranvier.raft`."""


class ProposalDropped(RaftError):
    """A proposal was not appended: not leader, transfer in progress, or a
    membership change refused. The caller may retry elsewhere or later."""


class StorageError(RaftError):
    """Base class of the errors a `Storage` may raise."""


class Compacted(StorageError):
    """The requested index is below the first index: compacted into a snapshot."""


class Unavailable(StorageError):
    """The requested index is above the last index."""


class SnapshotTemporarilyUnavailable(StorageError):
    """The storage cannot produce a snapshot now; the leader tries again later."""


class ConfigInvalid(RaftError):
    """`Config.validate()` found a problem; the message names it."""
