"""One stable text form for messages, entries and Readys.

Logs, datadriven transcripts and simulator failure reports all print this
form, so a change here rewrites every transcript: keep it stable.
"""

from __future__ import annotations

from ranvier.raft.rawnode import Ready
from ranvier.raft.types import (
    ConfChange,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SoftState,
)


def describe_entry(e: Entry) -> str:
    if e.type == EntryType.CONF_CHANGE:
        cc = ConfChange.decode(e.data)
        return f"{e.term}/{e.index} ConfChange {cc.type.name.lower()} {cc.node_id}"
    return f"{e.term}/{e.index} {e.data.decode(errors='backslashreplace')!r}"


def describe_entries(ents: tuple[Entry, ...] | list[Entry]) -> str:
    return "[" + ", ".join(describe_entry(e) for e in ents) + "]"


def describe_conf_state(cs: ConfState) -> str:
    out = "voters=(" + " ".join(str(v) for v in sorted(cs.voters)) + ")"
    if cs.learners:
        out += " learners=(" + " ".join(str(v) for v in sorted(cs.learners)) + ")"
    return out


def describe_hard_state(hs: HardState) -> str:
    return f"Term:{hs.term} Vote:{hs.vote} Commit:{hs.commit}"


def describe_soft_state(ss: SoftState) -> str:
    return f"Lead:{ss.lead} State:{ss.state.name}"


def describe_snapshot(s: Snapshot) -> str:
    m = s.metadata
    return f"Index:{m.index} Term:{m.term} ConfState:{describe_conf_state(m.conf_state)} Data:{len(s.data)}B"


def describe_message(m: Message) -> str:
    t = m.type
    out = f"{m.from_}->{m.to} {t.name} Term:{m.term}"
    if t in (MessageType.APP, MessageType.VOTE, MessageType.PRE_VOTE):
        out += f" Log:{m.log_term}/{m.index}"
    elif t in (MessageType.APP_RESP, MessageType.READ_INDEX_RESP) and not m.reject:
        out += f" Index:{m.index}"
    if m.reject:
        out += " Rejected"
        if t == MessageType.APP_RESP:
            out += f" (Index:{m.index} Hint:{m.log_term}/{m.reject_hint})"
    if t in (MessageType.APP, MessageType.HEARTBEAT):
        out += f" Commit:{m.commit}"
    if m.entries:
        out += " Entries:" + describe_entries(m.entries)
    if t == MessageType.SNAP and m.snapshot is not None:
        s = m.snapshot
        out += f" Snapshot:{s.term}/{s.index} Chunk:{m.offset}+{len(m.chunk)}"
        out += " done" if m.done else ""
    if t == MessageType.SNAP_RESP:
        out += f" Snapshot:{m.index} Offset:{m.offset}"
    if m.context:
        out += f" Context:{m.context.decode(errors='backslashreplace')}"
    return out


def describe_ready(rd: Ready) -> str:
    lines: list[str] = []
    if rd.soft_state is not None:
        lines.append(describe_soft_state(rd.soft_state))
    if rd.hard_state is not None:
        lines.append("HardState " + describe_hard_state(rd.hard_state))
    if rd.entries:
        lines.append("Entries:")
        lines.extend(describe_entry(e) for e in rd.entries)
    if rd.snapshot is not None:
        lines.append("Snapshot " + describe_snapshot(rd.snapshot))
    if rd.committed_entries:
        lines.append("CommittedEntries:")
        lines.extend(describe_entry(e) for e in rd.committed_entries)
    if rd.messages:
        lines.append("Messages:")
        lines.extend(describe_message(m) for m in rd.messages)
    for rs in rd.read_states:
        lines.append(f"ReadState Index:{rs.index} Context:{rs.request_ctx.decode(errors='backslashreplace')}")
    if rd.must_sync:
        lines.append("MustSync")
    return "\n".join(lines) if lines else "<empty Ready>"
