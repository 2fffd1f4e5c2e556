"""A clustered node's Raft groups: `_admin` and one group per context it serves.

`ClusterRuntime` owns the groups' drivers and stores, routes inbound peer messages to
them, answers forwarded proposals, and keeps the groups in line with the `_admin`
configuration (`reconcile`, level-triggered, run after every configuration change
and on a timer):

- a context this node is a member of gets a group: bootstrapped with the members
  named when the context was created (every founding member bootstraps the same
  way), or opened empty when the node was added later (the leader then sends it a
  snapshot and the log);
- the leader of each group walks its Raft membership towards the configured one,
  one change at a time: add a missing member as a learner, promote a learner that
  has caught up, remove a member that is no longer configured.

Every node joins `_admin` in this version, so each node holds the whole
configuration and can resolve any peer's address from it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ranvier.errors import ErrorCode, RanvierError
from ranvier.eventstore import AppendResult, Command, ContextEventStore, ContextStore, StoreOptions, encode_command
from ranvier.eventstore.arrivals import Arrivals
from ranvier.raft import NONE, ConfChange, ConfChangeType, Message, ProposalDropped
from ranvier.replication.context_fsm import ContextStateMachine
from ranvier.replication.driver import GroupDriver, NoLeader, NotLeader, Timing, bootstrap
from ranvier.replication.log_store import DurableLog

from . import identity
from .admin import ADMIN, PRIMARY, AdminStateMachine, ClusterConfiguration, NodeRecord, command, node_id_of, other_data
from .peer import PeerUnavailable

log = logging.getLogger(__name__)

Forward = Callable[[int, str, bytes], Awaitable[bytes]]
FetchLog = Callable[[int, str, int, int], AsyncIterator[bytes]]


__all__ = ["ClusterRuntime", "node_id_of"]


def encode_result(result: object) -> bytes:
    if isinstance(result, AppendResult):
        return json.dumps({"append": [result.log_index, result.first_token, result.count]}).encode()
    return json.dumps({"value": result}).encode()


def decode_result(data: bytes) -> object:
    decoded = json.loads(data)
    if "append" in decoded:
        return AppendResult(*decoded["append"])
    return decoded["value"]


@dataclass
class ContextGroup:
    driver: GroupDriver
    service: ContextEventStore


class ClusterWriter:
    """`Writer` for a replicated context: propose here when leader, else forward.

    Group commit, as `LocalCommitter` does it: while other clients' transactions
    are still arriving, a transaction waits (until they have arrived, at most
    `commit_window_s` after the last release) and then goes with them, so the
    driver proposes them together and one Raft entry batch - one fsync on every
    member - carries them all. Without it, under load every Ready held about one
    transaction and each member did one fsync per transaction.

    The window is longer than a single node's (10 ms): a Raft round costs a peer
    message in and out, a log write, an fsync and their wake-ups on every member,
    whatever it carries. Measured on 3 nodes sharing 2 cores (16 and 64 clients x
    100 events, two runs each): 10 ms gave ~200 rounds/s and 20-30k events/s, 25 ms
    ~100-130 rounds/s and 25-34k events/s, 40 ms no better than 25 ms; one-event
    transactions were within the noise. Under sustained concurrency a transaction
    waits at most this long; a lone client never waits."""

    def __init__(self, runtime: ClusterRuntime, context: str, commit_window_s: float = 0.025) -> None:
        self.runtime = runtime
        self.context = context
        self._arrivals = Arrivals(commit_window_s)
        self._last_release = 0.0

    def receiving_started(self) -> None:
        self._arrivals.started()

    def receiving_ended(self) -> None:
        self._arrivals.ended()

    async def submit(self, command_: Command, size: int) -> AppendResult:  # size: unused here (no byte-sized batches)
        await self._arrivals.hold(self._last_release)
        self._last_release = asyncio.get_running_loop().time()
        result = await self.runtime.propose(self.context, encode_command(command_))
        assert isinstance(result, AppendResult)
        return result

    async def read_barrier(self) -> None:
        driver = self.runtime._driver(self.context)
        if driver is not None:
            await driver.read_barrier()

    async def close(self) -> None:
        return None


class ClusterRuntime:
    def __init__(
        self,
        me: NodeRecord,
        event_storage: Path,
        raft_storage: Path,
        transport: object,
        forward: Forward,
        timing: Timing,
        store_options: StoreOptions,
        max_transaction_bytes: int,
        fetch_log: FetchLog | None = None,
    ) -> None:
        # The incarnation of this node's data (created on first start; "" for state
        # written before incarnations): part of its Raft id and checked by peers.
        self.me = replace(me, incarnation=me.incarnation or identity.load_or_create(raft_storage, ADMIN))
        self.fetch_log = fetch_log
        self.my_id = self.me.raft_id
        self.event_storage = event_storage
        self.raft_storage = raft_storage
        self.transport = transport
        self.forward = forward
        self.timing = timing
        self.store_options = store_options
        self.max_transaction_bytes = max_transaction_bytes
        self.admin_fsm = AdminStateMachine(raft_storage / ADMIN / "config.json")
        self.admin: GroupDriver | None = None
        self.contexts: dict[str, ContextGroup] = {}
        self._reconciling = asyncio.Lock()
        # Peers' addresses learned when joining, until `_admin` has caught this node up.
        self._known_addresses: dict[int, str] = {}
        self._reconcile_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.admin_fsm.listeners.append(self._schedule_reconcile)
        # Told the name of each context this node stops serving (its clients must go).
        self.context_closed: list[Callable[[str], None]] = []

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        return (self.raft_storage / ADMIN).exists()

    def address_of(self, node_id: int) -> str | None:
        for record in self.admin_fsm.config.nodes.values():
            if record.raft_id == node_id:
                return f"{record.internal_host_name}:{record.grpc_internal_port}"
        return self._known_addresses.get(node_id)

    def registered_as_me(self, config: ClusterConfiguration | None = None) -> bool:
        """Is this node's name registered with this node's data (its incarnation)?"""
        record = (config or self.admin_fsm.config).nodes.get(self.me.name)
        return record is not None and record.incarnation == self.me.incarnation

    @property
    def identity_conflict(self) -> RanvierError | None:
        """Set when the saved configuration registers this node's name with other
        data: the Raft state here is not the state the cluster counts on (its
        incarnation file was lost, or the folder mixes two incarnations)."""
        record = self.admin_fsm.config.nodes.get(self.me.name)
        return None if record is None else other_data(record, self.me.incarnation)

    def check_peer(self, name: str, incarnation: str) -> RanvierError | None:
        """Refuse a peer whose name is registered with other data (an impostor: a
        wiped or replaced node under an old name). Unknown names pass: a joining
        node talks before every configuration has it."""
        record = self.admin_fsm.config.nodes.get(name) if name else None
        return None if record is None else other_data(record, incarnation)

    async def start(self) -> None:
        conflict = self.identity_conflict if self.initialized else None
        if conflict is not None:
            # Opening the groups would let this node vote and acknowledge with state
            # that is not the one it promised: it stays out of every group.
            log.error("this node's data does not match the cluster configuration it holds; it joins no group: %s",
                      conflict.message)
        elif self.initialized:
            self._open_admin(bootstrap_voters=None)
            await self.reconcile()
        self._reconcile_task = asyncio.create_task(self._reconcile_periodically())

    async def stop(self) -> None:
        if self._reconcile_task is not None:
            self._reconcile_task.cancel()
        for name in list(self.contexts):
            await self._close_context(name)
        if self.admin is not None:
            await self.admin.stop()
            self.admin = None

    def _open_admin(self, bootstrap_voters: frozenset[int] | None) -> None:
        log_store = DurableLog(self.raft_storage / ADMIN / "log")
        if bootstrap_voters:
            bootstrap(log_store, bootstrap_voters)
        self.admin = GroupDriver(ADMIN, self.my_id, log_store, self.admin_fsm, self.transport, self.timing,  # type: ignore[arg-type]
                                 random.Random())
        self.admin.listeners.append(self._schedule_reconcile)
        self.admin.start()

    # -- cluster operations (called by the HTTP API) -----------------------------------------

    async def init_cluster(self, context: str) -> None:
        """Make this node the first member of a new cluster (`_admin` and `context`).
        Idempotent on a node that is already initialised with that context."""
        if self.initialized:
            if context in self.admin_fsm.config.contexts:
                return
            await self.propose(ADMIN, command("create_context", name=context, members={self.me.name: PRIMARY}))
            await self.reconcile()
            return
        (self.raft_storage / ADMIN).mkdir(parents=True, exist_ok=True)
        self._open_admin(bootstrap_voters=frozenset({self.my_id}))
        await self.propose(ADMIN, command("register_node", node=self.me.__dict__))
        await self.propose(ADMIN, command("create_context", name=ADMIN, members={self.me.name: PRIMARY}))
        await self.propose(ADMIN, command("create_context", name=context, members={self.me.name: PRIMARY}))
        await self.reconcile()

    async def join(self, seed_id: int, contexts: list[str] | None) -> None:
        """Join the cluster that `seed_id` (a registered seed address) belongs to."""
        if self.initialized and self.registered_as_me():
            raise RanvierError(f"{self.me.name} is already a member of a cluster", ErrorCode.ALREADY_MEMBER_OF_CLUSTER)
        data = command("join_node", node=self.me.__dict__, contexts=contexts)
        peers = decode_result(await self.forward(seed_id, ADMIN, data))
        for peer in peers if isinstance(peers, list) else []:
            record = NodeRecord(**peer)
            self._known_addresses[record.raft_id] = (
                f"{record.internal_host_name}:{record.grpc_internal_port}")
        (self.raft_storage / ADMIN).mkdir(parents=True, exist_ok=True)
        if self.admin is None:
            self._open_admin(bootstrap_voters=None)

    async def propose(self, group: str, data: bytes) -> object:
        """Replicate `data` in `group`, from whichever node leads it."""
        driver = self._driver(group)
        if driver is None:
            raise RanvierError(f"this node serves no replication group {group}", ErrorCode.NO_AXONSERVER_FOR_CONTEXT)
        deadline = asyncio.get_running_loop().time() + self.timing.wait_for_leader_s
        while True:
            try:
                if driver.leader_id in (NONE, self.my_id):
                    return await driver.propose(data)
                return decode_result(await self.forward(driver.leader_id, group, data))
            except (NotLeader, NoLeader, PeerUnavailable) as exc:
                # Retried only where the proposal cannot have been taken: no leader
                # yet, not the leader, or a leader we could not connect to (it died:
                # wait for the next election). An unknown outcome goes back to the client.
                if isinstance(exc, PeerUnavailable) and exc.maybe_delivered:
                    raise
                if asyncio.get_running_loop().time() > deadline:
                    raise NoLeader(f"no leader for {group}: {exc.message}") from exc
                await asyncio.sleep(0.05)

    async def handle_forward(self, group: str, data: bytes) -> bytes:
        """A peer's forwarded proposal (the server side of `forward`)."""
        return encode_result(await self.propose(group, data))

    def deliver(self, group: str, message: Message) -> None:
        driver = self._driver(group)
        if driver is not None:
            driver.receive(message)

    def _driver(self, group: str) -> GroupDriver | None:
        if group == ADMIN:
            return self.admin
        ctx = self.contexts.get(group)
        return ctx.driver if ctx is not None else None

    # -- reconciliation -----------------------------------------------------------------------

    def _schedule_reconcile(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reconcile())
        self._background.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._background.discard)

    async def _reconcile_periodically(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                await self.reconcile()
            except Exception:  # noqa: BLE001 - keep the loop alive; the next round retries
                log.exception("reconcile failed")

    async def reconcile(self) -> None:
        async with self._reconciling:
            config = self.admin_fsm.config
            # Memberships are by name; they are this node's only while its name is
            # registered with its own data (not after it was replaced by a new one).
            registered = self.registered_as_me(config)
            mine = set(config.contexts_of(self.me.name)) - {ADMIN} if registered else set()
            for name in sorted(mine - set(self.contexts)):
                self._open_context(name, config.contexts[name].members)
            for name in sorted(set(self.contexts) - mine):
                if registered:
                    await self._leave_context(name)
            for name, members in [(ADMIN, config.contexts.get(ADMIN))] + [
                (c, config.contexts[c]) for c in sorted(self.contexts)
            ]:
                driver = self._driver(name)
                if driver is not None and driver.is_leader and members is not None:
                    self._step_membership(driver, {config.raft_id(n) for n in members.members})

    def _open_context(self, name: str, members: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        store = ContextStore.open(name, self.event_storage / name, self.store_options, loop.call_soon_threadsafe)
        log_store = DurableLog(self.raft_storage / name)
        founders = frozenset(self.admin_fsm.config.raft_id(n) for n in members)
        if store.applied_index == 0 and log_store.last_index() == 0 and self._founding_member(name):
            bootstrap(log_store, founders)
        fsm = ContextStateMachine(store)
        driver = GroupDriver(name, self.my_id, log_store, fsm, self.transport,  # type: ignore[arg-type]
                             self.timing, random.Random())
        fsm.fetch = self._fetcher(name, driver)
        service = ContextEventStore(store, ClusterWriter(self, name), self.max_transaction_bytes)
        self.contexts[name] = ContextGroup(driver, service)
        driver.start()
        log.info("context %s: replica started on %s", name, self.me.name)

    def _fetcher(self, name: str, driver: GroupDriver) -> Callable[[int, int], AsyncIterator[bytes]] | None:
        fetch_log = self.fetch_log
        if fetch_log is None:
            return None

        def fetch(start: int, end: int) -> AsyncIterator[bytes]:
            # The snapshot came from the leader, which holds at least `end` bytes.
            return fetch_log(driver.leader_id, name, start, end)

        return fetch

    def _founding_member(self, name: str) -> bool:
        """Was this node named when the context was created? Founders bootstrap the
        group; members added later start empty and are caught up by the leader."""
        founders = self.admin_fsm.founders.get(name, ())
        return self.me.name in founders

    async def _leave_context(self, name: str) -> None:
        """This node was removed from `name` in the configuration. Its replica must
        help commit its own removal (in a two-member group the leader needs it), so:
        a leader hands over first; a follower leaves once the leader has stopped
        talking to it (the removal is applied there) for a few election timeouts.
        A deleted context has no group left to keep going: every member just stops."""
        keep = self.me.name in self.admin_fsm.config.preserved.get(name, [])
        if name not in self.admin_fsm.config.contexts:
            await self._close_context(name, delete=not keep)
            return
        driver = self.contexts[name].driver
        if driver.is_leader:
            progress = driver.node.raft.trk.progress
            others = [(p.match, nid) for nid, p in progress.items() if nid != self.my_id]
            if others:
                driver.transfer_leader(max(others)[1])
                return
        quiet_for = asyncio.get_running_loop().time() - driver.last_heard
        if quiet_for > 3 * 2 * self.timing.election_tick * self.timing.tick_s:
            await self._close_context(name, delete=not keep)

    async def _close_context(self, name: str, delete: bool = False) -> None:
        group = self.contexts.pop(name, None)
        if group is None:
            return
        for listener in list(self.context_closed):
            listener(name)
        await group.driver.stop()
        await group.service.close()
        if delete:
            shutil.rmtree(self.event_storage / name, ignore_errors=True)
            shutil.rmtree(self.raft_storage / name, ignore_errors=True)
            log.info("context %s: removed from %s", name, self.me.name)

    def _step_membership(self, driver: GroupDriver, desired: set[int]) -> None:
        """One step of the leader's walk from the actual membership to `desired`."""
        status = driver.node.status()
        voters, learners = set(status.conf_state.voters), set(status.conf_state.learners)
        progress = driver.node.raft.trk.progress
        try:
            missing = sorted(desired - voters - learners)
            if missing:
                self._change(driver, ConfChangeType.ADD_LEARNER, missing[0])
                return
            for learner in sorted(learners & desired):
                # Caught up: it holds everything committed so far.
                if progress[learner].match >= status.hard_state.commit:
                    self._change(driver, ConfChangeType.ADD_VOTER, learner)
                    return
            extra = sorted((voters | learners) - desired - {driver.node_id})
            if extra:
                self._change(driver, ConfChangeType.REMOVE_NODE, extra[0])
        except ProposalDropped:
            pass  # a change is in flight or the leader has not committed in its term yet

    @staticmethod
    def _change(driver: GroupDriver, kind: ConfChangeType, node_id: int) -> None:
        driver.node.propose_conf_change(ConfChange(kind, node_id))
        driver._wake.set()
        log.info("group %s: proposing %s for node %d", driver.group, kind.name, node_id)

    # -- views for the HTTP API -------------------------------------------------------------

    def event_store(self, context: str) -> ContextEventStore | None:
        group = self.contexts.get(context)
        return group.service if group is not None else None

    def leader_name(self, group: str) -> str | None:
        driver = self._driver(group)
        if driver is None or driver.leader_id == NONE:
            return None
        for record in self.admin_fsm.config.nodes.values():
            if record.raft_id == driver.leader_id:
                return record.name
        return None

    def raft_status(self) -> list[dict[str, object]]:
        out = []
        for name in [ADMIN, *sorted(self.contexts)]:
            driver = self._driver(name)
            if driver is None:
                continue
            status = driver.node.status()
            entry: dict[str, object] = {
                "group": name, "role": status.soft_state.state.name, "term": status.hard_state.term,
                "leader": self.leader_name(name), "commit": status.hard_state.commit, "applied": status.applied,
                "lastIndex": status.last_index,
                "voters": sorted(self._name_of(n) for n in status.conf_state.voters),
                "learners": sorted(self._name_of(n) for n in status.conf_state.learners),
            }
            if driver.is_leader:
                entry["followers"] = {
                    self._name_of(nid): {"match": p.match, "lag": status.last_index - p.match}
                    for nid, p in driver.node.raft.trk.progress.items() if nid != self.my_id
                }
            out.append(entry)
        return out

    def _name_of(self, node_id: int) -> str:
        for record in self.admin_fsm.config.nodes.values():
            if record.raft_id == node_id:
                return record.name
        return str(node_id)
