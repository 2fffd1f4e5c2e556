"""Configuration of one Raft node (one replica of one group)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ranvier.raft.errors import ConfigInvalid
from ranvier.raft.types import NONE


class Rng(Protocol):
    """What the core needs of `random.Random`: pass a seeded instance in tests."""

    def randrange(self, start: int, stop: int) -> int: ...


class Logger(Protocol):
    """What the core needs of `logging.Logger`."""

    def debug(self, msg: str, *args: Any) -> None: ...
    def info(self, msg: str, *args: Any) -> None: ...
    def warning(self, msg: str, *args: Any) -> None: ...


class NullLogger:
    """Discards everything; the default, so the core never touches global logging."""

    def debug(self, msg: str, *args: Any) -> None:
        pass

    def info(self, msg: str, *args: Any) -> None:
        pass

    def warning(self, msg: str, *args: Any) -> None:
        pass


NO_LIMIT = 1 << 62


@dataclass
class Config:
    """Parameters of one node. `validate()` checks them and returns the first problem.

    Times are in ticks: the runtime decides how long a tick is. We suggest
    election_tick = 10 * heartbeat_tick (etcd's advice), e.g. 100 ms ticks,
    heartbeat every tick, elections after 1-2 s of silence.
    """

    # Identity of this node. Invariant: id != NONE.
    id: int
    # Randomness for election timeouts (§5.2). Required: a seeded random.Random.
    rng: Rng | None = None
    logger: Logger = field(default_factory=NullLogger)
    # A follower that hears nothing for a randomized timeout in
    # [election_tick, 2*election_tick) campaigns. Must exceed heartbeat_tick.
    election_tick: int = 10
    # A leader sends heartbeats every heartbeat_tick ticks.
    heartbeat_tick: int = 1
    # Last index already applied to the state machine on restart; committed
    # entries after it are handed out again. Only set when restarting.
    applied: int = 0
    # Upper bound on the bytes of entries in one APP message (at least one
    # entry is always sent). Trades throughput for recovery latency.
    max_size_per_msg: int = 1 << 20
    # Upper bound on the bytes of committed entries in one Ready.
    max_committed_size_per_ready: int = NO_LIMIT
    # Flow control (pipelining bound): APP messages in flight to one follower.
    max_inflight_msgs: int = 256
    # Flow control: bytes of entries in flight to one follower (NO_LIMIT = off).
    max_inflight_bytes: int = NO_LIMIT
    # Leader steps down when a quorum was not active within an election
    # timeout; followers then ignore votes while they have a live leader (§6 P8).
    check_quorum: bool = True
    # Pre-vote (Raft thesis §9.6): only bump the term if a majority would vote.
    pre_vote: bool = True
    # Size of one snapshot chunk sent to a follower catching up.
    snapshot_chunk_size: int = 64 * 1024
    # Byte overhead counted per entry for flow control and size limits.
    entry_overhead: int = 16

    def validate(self) -> None:
        """Raise ConfigInvalid with a sentence naming the first problem."""
        problem = self._first_problem()
        if problem:
            raise ConfigInvalid(problem)

    def _first_problem(self) -> str:
        if self.id == NONE:
            return "cannot use none as id"
        if self.rng is None:
            return "an rng (a seeded random.Random) is required"
        if self.heartbeat_tick <= 0:
            return "heartbeat tick must be greater than 0"
        if self.election_tick <= self.heartbeat_tick:
            return (
                f"election tick {self.election_tick} must be greater than "
                f"heartbeat tick {self.heartbeat_tick}"
            )
        if self.max_inflight_msgs <= 0:
            return "max inflight messages must be greater than 0"
        if self.max_inflight_bytes <= 0:
            return "max inflight bytes must be greater than 0"
        if self.snapshot_chunk_size <= 0:
            return "snapshot chunk size must be greater than 0"
        return ""
