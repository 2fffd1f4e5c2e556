"""The runtime of one Raft group on one node: etcd's "user responsibilities", in asyncio.

`GroupDriver` owns a `RawNode`, its `DurableLog` and the group's state machine, and
runs one loop. Each turn handles one `Ready`, strictly in this order:

1. persist: install a received snapshot, append entries, set the hard state, and
   fsync (in a worker thread, so the node keeps serving while the disk works);
2. send the messages, which may depend on what was just persisted;
3. apply committed entries to the state machine, and answer the proposals among them;
4. advance.

Inbound messages, ticks and proposals are queued and stepped into the node at the
start of a turn, so everything that arrives while the disk is busy is handled
together at the next turn (batching without a timer).

A proposal is answered when its entry is applied: with the state machine's result,
or its error. If another leader's entry ends up at that index the proposal fails
(`ProposalLost`): its fate was never decided by this leader, and the client sees an
error it can retry. Proposals waiting for a leader time out (`NoLeader`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ranvier.aio import wait_for_event
from ranvier.errors import ErrorCode, RanvierError
from ranvier.raft import (
    NONE,
    Config,
    ConfChange,
    ConfState,
    Entry,
    EntryType,
    Message,
    MessageType,
    ProposalDropped,
    RawNode,
    Ready,
    Snapshot,
    SnapshotMetadata,
    StateType,
)

from .log_store import DurableLog

log = logging.getLogger(__name__)


class NoLeader(RanvierError):
    """No leader was known within the wait-for-leader timeout (Axon's AXONIQ-2100)."""

    code = ErrorCode.NO_LEADER_AVAILABLE


class ProposalLost(RanvierError):
    """Leadership changed before the entry was committed; it may be retried."""

    code = ErrorCode.NO_LEADER_AVAILABLE


class StateMachine(Protocol):
    """What a group applies its committed entries to. `apply` must be deterministic:
    every replica gets the same entries at the same indexes (hashicorp's FSM rule)."""

    @property
    def applied_index(self) -> int: ...

    def apply(self, index: int, data: bytes) -> object:
        """Apply one committed entry; return the proposer's result or raise its error."""
        ...

    def applied_batch(self) -> None:
        """Called after each batch of applied entries (publish, flush indexes)."""
        ...


class Transport(Protocol):
    def send(self, group: str, message: Message) -> None:
        """Best effort, never blocks; Raft retries what gets lost."""
        ...


@dataclass(frozen=True, slots=True)
class Timing:
    tick_s: float = 0.1
    election_tick: int = 10  # 1-2 s without a leader before a campaign
    heartbeat_tick: int = 1
    wait_for_leader_s: float = 5.0
    # Log compaction: once this many entries are applied beyond the last snapshot,
    # sync the state machine, snapshot it and drop all but the last `compact_keep`
    # entries (so briefly lagging followers still catch up from the log). This is
    # what bounds a group's log, on disk and in memory.
    compact_every: int = 10_000
    compact_keep: int = 1_000


def bootstrap(log_store: DurableLog, voters: frozenset[int]) -> None:
    """Give a brand-new group its first membership: a snapshot at index 1 of an
    empty state machine, as every founding member does identically."""
    if log_store.last_index() == 0 and log_store.snapshot().is_empty:
        log_store.apply_snapshot(Snapshot(SnapshotMetadata(1, 1, ConfState(voters=voters)), b""))


# What a leader may send before its own write (see _sendable_before_persist).
_EARLY = frozenset({MessageType.APP, MessageType.HEARTBEAT})


class GroupDriver:
    def __init__(
        self,
        group: str,
        node_id: int,
        log_store: DurableLog,
        fsm: StateMachine,
        transport: Transport,
        timing: Timing = Timing(),
        rng: random.Random | None = None,
    ) -> None:
        self.group = group
        self.node_id = node_id
        self.log_store = log_store
        self.fsm = fsm
        self.transport = transport
        self.timing = timing
        applied = max(fsm.applied_index, log_store.snapshot().metadata.index)
        log_store.raise_commit(applied)  # only committed entries were applied
        config = Config(
            id=node_id,
            rng=rng or random.Random(),
            election_tick=timing.election_tick,
            heartbeat_tick=timing.heartbeat_tick,
            applied=applied,
            logger=_RaftLogger(group, node_id),
        )
        config.validate()
        self.node = RawNode(config, log_store)
        self._inbox: deque[Message] = deque()
        self._proposals: deque[tuple[bytes, asyncio.Future[object]]] = deque()
        self._waiting: dict[int, tuple[int, asyncio.Future[object]]] = {}  # index -> (term, future)
        self._wake = asyncio.Event()
        self._leader_known = asyncio.Event()
        self.leader_id = NONE
        self.role = StateType.FOLLOWER
        self._ticks_due = 0
        self._unreachable: set[int] = set()
        self.last_heard = 0.0  # loop time of the last message from a peer
        self._read_requests: list[bytes] = []
        self._reads: dict[bytes, asyncio.Future[int]] = {}
        self._applied_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.failed: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.listeners: list[Callable[[], None]] = []  # told about leader changes

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"raft:{self.group}:{self.node_id}")
        self._ticker = asyncio.create_task(self._tick(), name=f"tick:{self.group}:{self.node_id}")

    async def stop(self) -> None:
        for task in (self._ticker, self._task):
            if task is not None:
                task.cancel()
        for task in (self._ticker, self._task):
            if task is not None:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._fail_all(ProposalLost(f"replication group {self.group} stopped on this node"))
        self.log_store.close()

    @property
    def is_leader(self) -> bool:
        return self.role == StateType.LEADER

    # -- input -------------------------------------------------------------------------

    def receive(self, message: Message) -> None:
        """A message from a peer (called by the transport, on the loop thread)."""
        self.last_heard = asyncio.get_running_loop().time()
        self._inbox.append(message)
        self._wake.set()

    async def propose(self, data: bytes) -> object:
        """Replicate `data`; return what the state machine's apply returned for it.

        Waits up to `wait_for_leader_s` for a leader. Only the leader accepts
        proposals; callers on followers forward to the leader instead."""
        await self._await_leader()
        if not self.is_leader:
            raise NotLeader(self.leader_id)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._proposals.append((data, future))
        self._wake.set()
        return await future

    async def _await_leader(self) -> None:
        if self.leader_id != NONE:
            return
        if not await wait_for_event(self._leader_known, self.timing.wait_for_leader_s):
            raise NoLeader(
                f"no leader for replication group {self.group} within "
                f"{self.timing.wait_for_leader_s:.1f} s; a majority of its nodes may be down"
            )

    async def read_barrier(self) -> None:
        """Return once this replica has applied everything committed when the call
        began (Raft §6.4 ReadIndex): reads after it see every acknowledged write,
        on a follower as on the leader. Raises NoLeader after wait_for_leader_s."""
        await self._await_leader()
        ctx = os.urandom(12)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._reads[ctx] = future
        self._read_requests.append(ctx)
        self._wake.set()
        try:
            index = await asyncio.wait_for(future, self.timing.wait_for_leader_s)
        except TimeoutError:
            raise NoLeader(f"no read index from the leader of {self.group} in time") from None
        finally:
            self._reads.pop(ctx, None)
        if self.node.status().applied < index:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._applied_waiters.append((index, waiter))
            await waiter

    def report_unreachable(self, node_id: int) -> None:
        """The transport could not reach `node_id`: stop pipelining to it (stepped in
        at the next turn, never between a Ready and its advance)."""
        self._unreachable.add(node_id)
        self._wake.set()

    def campaign(self) -> None:
        self.node.campaign()
        self._wake.set()

    def transfer_leader(self, to: int) -> None:
        self.node.transfer_leader(to)
        self._wake.set()

    # -- the loop --------------------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.timing.tick_s)
            self._ticks_due += 1
            self._wake.set()

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self._step_inputs()
                while self.node.has_ready():
                    await self._handle(self.node.ready())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            # Persisting or applying failed: this replica cannot go on safely (its
            # state may be ahead of what it acknowledged). Stop it; a restart
            # recovers from the files. The others carry the group meanwhile.
            log.critical("group %s on node %d stopped: %r", self.group, self.node_id, exc, exc_info=exc)
            self.failed = f"{type(exc).__name__}: {exc}"
            self._fail_all(ProposalLost(f"replication group {self.group} failed on this node: {self.failed}"))

    def _step_inputs(self) -> None:
        for _ in range(self._ticks_due):
            self.node.tick()
        self._ticks_due = 0
        for node_id in self._unreachable:
            self.node.report_unreachable(node_id)
        self._unreachable.clear()
        for ctx in self._read_requests:
            self.node.read_index(ctx)
        self._read_requests.clear()
        while self._inbox:
            message = self._inbox.popleft()
            try:
                self.node.step(message)
            except ValueError:
                log.warning("group %s: dropped an invalid message from %s", self.group, message.from_)
        self._propose_waiting()

    def _propose_waiting(self) -> None:
        if not self._proposals:
            return
        batch = [(d, f) for d, f in self._proposals if not f.done()]
        self._proposals.clear()
        if not batch:
            return
        try:
            last = self.node.propose_batch([d for d, _f in batch])
        except ProposalDropped:
            for _d, future in batch:
                future.set_exception(NotLeader(self.leader_id))
            return
        term = self.node.raft.term
        for offset, (_d, future) in enumerate(batch):
            self._waiting[last - len(batch) + 1 + offset] = (term, future)

    async def _handle(self, rd: Ready) -> None:
        if rd.soft_state is not None:
            self._leader_changed(rd.soft_state.lead, rd.soft_state.state)
        early = self._sendable_before_persist(rd)
        for message in early:
            self.transport.send(self.group, message)
        durable = self._durable_committed(rd)
        await self._persist(rd, apply_meanwhile=durable)
        for message in rd.messages[len(early):]:
            self.transport.send(self.group, message)
        for state in rd.read_states:
            future = self._reads.get(state.request_ctx)
            if future is not None and not future.done():
                future.set_result(state.index)
        if len(rd.committed_entries) > len(durable):
            self._apply(rd.committed_entries[len(durable):])
        self.node.advance(rd)
        if rd.committed_entries:
            self._wake_applied(rd.committed_entries[-1].index)
            await self._maybe_compact()

    def _sendable_before_persist(self, rd: Ready) -> tuple[Message, ...]:
        """The leading messages of `rd` that may leave before its write (thesis
        §10.2.1: the leader writes its log in parallel with replicating it).

        Only a leader's appends and heartbeats, and only while its term and vote
        stand as already written: they claim nothing about this node's disk, and the
        leader's own entries count towards a commit only in a later Ready, after this
        one's write. Anything a follower or candidate sends (acknowledgements,
        votes) waits for the write, as does everything after the first other kind.
        """
        if self.role != StateType.LEADER or rd.snapshot is not None:
            return ()
        hs = rd.hard_state
        durable = self.log_store.hard_state
        if hs is not None and (hs.term, hs.vote) != (durable.term, durable.vote):
            return ()
        count = 0
        for message in rd.messages:
            if message.type not in _EARLY or message.from_ != self.node_id:
                break
            count += 1
        return rd.messages[:count]

    def _durable_committed(self, rd: Ready) -> tuple[Entry, ...]:
        """The leading committed entries of `rd` already durable in this node's log
        before `rd`'s write: those may be applied while that write's fsync runs
        (as etcd's server does). They are committed, so no later append can cut
        them; entries that `rd` itself brings wait for its write."""
        if rd.snapshot is not None or not rd.committed_entries:
            return ()
        durable_last = self.log_store.last_index()
        count = 0
        for entry in rd.committed_entries:
            if entry.index > durable_last:
                break
            count += 1
        return rd.committed_entries[:count]

    async def _persist(self, rd: Ready, apply_meanwhile: tuple[Entry, ...] = ()) -> None:
        if rd.snapshot is not None:
            await self._restore(rd.snapshot)  # the state first: the log then says it is there
            self.log_store.apply_snapshot(rd.snapshot)
        self.log_store.append(rd.entries)
        if rd.hard_state is not None:
            self.log_store.set_hard_state(rd.hard_state)
        # A commit-only change need not be durable (see log_store).
        syncing = asyncio.ensure_future(asyncio.to_thread(self.log_store.sync)) if rd.must_sync else None
        try:
            if apply_meanwhile:
                self._apply(apply_meanwhile)  # on the loop, while the worker thread fsyncs
        finally:
            if syncing is not None:
                await syncing

    async def _restore(self, snapshot: Snapshot) -> None:
        restore = getattr(self.fsm, "restore", None)
        if restore is None:
            raise RuntimeError(f"group {self.group}: state machine cannot install snapshots")
        result = restore(snapshot)
        if inspect.isawaitable(result):
            await result

    def _wake_applied(self, applied: int) -> None:
        waiting = []
        for index, waiter in self._applied_waiters:
            if index <= applied:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiting.append((index, waiter))
        self._applied_waiters = waiting

    async def _maybe_compact(self) -> None:
        """Snapshot and compact once enough is applied (see Timing.compact_every)."""
        status = self.node.status()
        base = self.log_store.snapshot().metadata.index
        if status.applied - base < self.timing.compact_every:
            return
        image = getattr(self.fsm, "snapshot_image", None)
        if image is None:
            return
        sync = getattr(self.fsm, "sync", None)
        if sync is not None:
            await asyncio.to_thread(sync)  # the state must be durable before entries go
        applied = min(status.applied, self.log_store.last_index())
        self.log_store.create_snapshot(applied, status.conf_state, image())
        self.log_store.compact(max(base, applied - self.timing.compact_keep))
        log.info("group %s: snapshot at %d, log compacted to %d", self.group, applied,
                 self.log_store.first_index())

    def _apply(self, entries: tuple[Entry, ...]) -> None:
        for entry in entries:
            result: object = None
            error: BaseException | None = None
            if entry.type == EntryType.CONF_CHANGE:
                self._apply_conf_change(entry)
            elif entry.data:
                try:
                    result = self.fsm.apply(entry.index, entry.data)
                except RanvierError as exc:
                    error = exc
            self._answer(entry, result, error)
        self.fsm.applied_batch()

    def _apply_conf_change(self, entry: Entry) -> None:
        if entry.data:
            conf_state = self.node.apply_conf_change(ConfChange.decode(entry.data))
            # Persisted now: entries up to the state machine's applied index are not
            # replayed after a restart, so the membership must not depend on them.
            self.log_store.save_conf_state(entry.index, conf_state)

    def _answer(self, entry: Entry, result: object, error: BaseException | None) -> None:
        waiting = self._waiting.pop(entry.index, None)
        if waiting is None:
            return
        term, future = waiting
        if future.done():
            return
        if term != entry.term:
            future.set_exception(ProposalLost(
                f"leadership of {self.group} changed before the entry was committed; retry"
            ))
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def _leader_changed(self, leader: int, role: StateType) -> None:
        was_leader = self.is_leader
        self.leader_id, self.role = leader, role
        if leader != NONE:
            self._leader_known.set()
        else:
            self._leader_known.clear()
        if was_leader and not self.is_leader:
            log.info("group %s: node %d is no longer leader", self.group, self.node_id)
            # Entries we appended may still commit under the next leader, or be
            # overwritten: their outcome is unknown here. Answer their clients now
            # rather than leave them waiting for an index we no longer drive.
            self._fail_all(ProposalLost(
                f"leadership of {self.group} was lost before the transaction was committed; "
                "its outcome is unknown (a retry of aggregate events is safe: a duplicate gets AXONIQ-2000)"
            ))
        if self.is_leader:
            log.info("group %s: node %d is leader (term %d)", self.group, self.node_id, self.node.raft.term)
        for listener in list(self.listeners):
            listener()

    def _fail_all(self, error: RanvierError) -> None:
        for _term, future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()
        for _data, future in self._proposals:
            if not future.done():
                future.set_exception(error)
        self._proposals.clear()


class NotLeader(RanvierError):
    """This node is not the group's leader; `leader_id` says who is (NONE if unknown)."""

    code = ErrorCode.NO_LEADER_AVAILABLE

    def __init__(self, leader_id: int) -> None:
        super().__init__(f"this node is not the leader (leader: {leader_id or 'unknown'})")
        self.leader_id = leader_id


class _RaftLogger:
    def __init__(self, group: str, node_id: int) -> None:
        self._prefix = f"raft[{group}/{node_id}] "

    def debug(self, msg: str, *args: object) -> None:
        log.debug(self._prefix + msg, *args)

    def info(self, msg: str, *args: object) -> None:
        log.info(self._prefix + msg, *args)

    def warning(self, msg: str, *args: object) -> None:
        log.warning(self._prefix + msg, *args)
