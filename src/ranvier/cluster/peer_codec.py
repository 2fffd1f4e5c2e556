"""Raft messages to and from the peer protocol (`proto/ranvier/peer.proto`).

A `ranvier.raft.Message` maps field for field onto `peer.RaftMessage`; enums travel
as their integer values. `snapshot=None` is an absent `snapshot` field. Batches
group messages per Raft group, keeping each group's order (the order between groups
does not matter: each group's core sees only its own messages).

`RanvierError`s travel as `PeerError` (Axon's code string, the message, the
`ErrorCode` member name, and a leader hint for "not the leader").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ranvier._pb import peer_pb2 as pb
from ranvier.errors import ErrorCode, RanvierError
from ranvier.errors import code_for as error_code
from ranvier.raft import ConfState, Entry, EntryType, Message, MessageType, SnapshotMetadata

_ENTRY_TYPES = {t.value: t for t in EntryType}
_MESSAGE_TYPES = {t.value: t for t in MessageType}

# Bytes counted per message on top of its payload, when sizing batches.
MESSAGE_OVERHEAD = 64


class UnknownMessageType(ValueError):
    pass


def message_to_pb(m: Message) -> pb.RaftMessage:
    out = pb.RaftMessage(
        type=m.type,
        to=m.to,
        from_node=m.from_,
        term=m.term,
        log_term=m.log_term,
        index=m.index,
        commit=m.commit,
        reject=m.reject,
        reject_hint=m.reject_hint,
        context=m.context,
        offset=m.offset,
        chunk=m.chunk,
        done=m.done,
    )
    if m.entries:
        add = out.entries.add  # the fastest way to fill a repeated message field
        for e in m.entries:
            add(term=e.term, index=e.index, data=e.data, type=e.type)
    if m.snapshot is not None:
        s = m.snapshot
        cs = s.conf_state
        out.snapshot.CopyFrom(
            pb.SnapshotMetadata(
                index=s.index,
                term=s.term,
                conf_state=pb.ConfState(voters=sorted(cs.voters), learners=sorted(cs.learners)),
            )
        )
    return out


def message_from_pb(p: pb.RaftMessage) -> Message:
    """Raises UnknownMessageType for a type (or entry type) this node does not know."""
    try:
        kind = _MESSAGE_TYPES[p.type]
        entries = tuple(Entry(e.term, e.index, e.data, _ENTRY_TYPES[e.type]) for e in p.entries)
    except KeyError as exc:
        raise UnknownMessageType(f"unknown message or entry type {exc.args[0]}") from None
    snapshot = None
    if p.HasField("snapshot"):
        s = p.snapshot
        snapshot = SnapshotMetadata(
            s.index,
            s.term,
            ConfState(frozenset(s.conf_state.voters), frozenset(s.conf_state.learners)),
        )
    return Message(
        type=kind,
        to=p.to,
        from_=p.from_node,
        term=p.term,
        log_term=p.log_term,
        index=p.index,
        entries=entries,
        commit=p.commit,
        reject=p.reject,
        reject_hint=p.reject_hint,
        context=p.context,
        snapshot=snapshot,
        offset=p.offset,
        chunk=p.chunk,
        done=p.done,
    )


def message_size(m: Message) -> int:
    """A cheap estimate of a message's encoded size, for bounding batches."""
    size = MESSAGE_OVERHEAD + len(m.chunk) + len(m.context)
    for e in m.entries:
        size += len(e.data) + 24
    return size


def encode_batch(from_node: int, to_node: int, items: Iterable[tuple[str, Message]],
                 sender: pb.Sender | None = None) -> pb.Batch:
    by_group: dict[str, list[pb.RaftMessage]] = {}
    for group, message in items:
        by_group.setdefault(group, []).append(message_to_pb(message))
    return pb.Batch(
        from_node=from_node,
        to_node=to_node,
        groups=[pb.GroupMessages(group=g, messages=ms) for g, ms in by_group.items()],
        sender=sender,
    )


def decode_batch(batch: pb.Batch) -> Iterator[tuple[str, Message | UnknownMessageType]]:
    """(group, message) pairs; a message that does not decode comes as its error,
    so one bad message does not cost the rest of the batch."""
    for gm in batch.groups:
        for p in gm.messages:
            try:
                yield gm.group, message_from_pb(p)
            except UnknownMessageType as exc:
                yield gm.group, exc


# ---------------------------------------------------------------- errors


def error_to_pb(error: BaseException) -> pb.PeerError:
    if isinstance(error, RanvierError):
        leader = getattr(error, "leader_id", 0)
        return pb.PeerError(
            code=error.code.code,
            message=error.message,
            code_name=error.code.name,
            leader_id=leader if isinstance(leader, int) and leader > 0 else 0,
        )
    return pb.PeerError(code=ErrorCode.OTHER.code, message=f"{type(error).__name__}: {error}",
                        code_name=ErrorCode.OTHER.name)


class RemoteError(RanvierError):
    """An error raised on another node, carried back with its Axon code.

    `leader_id` is the remote node's leader hint when it was not the leader (0: none)."""

    def __init__(self, message: str, code: ErrorCode, leader_id: int = 0) -> None:
        super().__init__(message, code)
        self.leader_id = leader_id


def error_from_pb(p: pb.PeerError) -> RemoteError:
    return RemoteError(p.message, error_code(p.code, p.code_name), p.leader_id)
