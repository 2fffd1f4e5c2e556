"""How Raft messages reach other nodes.

`Transport.send(group, message)` never blocks and may lose messages (Raft resends).
`LoopbackTransport` delivers between drivers in one process, through the event loop,
with optional cuts: the in-memory plug-in for tests and tools (hashicorp keeps its
in-memory transport beside the real one for the same reason). The gRPC transport
over the internal port is `ranvier.cluster.peer` (later).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from ranvier.raft import Message


class Receiver(Protocol):
    def receive(self, message: Message) -> None: ...


class LoopbackTransport:
    """Delivers to receivers registered by (group, node id) in this process."""

    def __init__(self) -> None:
        self.receivers: dict[tuple[str, int], Receiver] = {}
        self.down: set[int] = set()  # nodes cut off from everyone

    def register(self, group: str, node_id: int, receiver: Receiver) -> None:
        self.receivers[(group, node_id)] = receiver

    def unregister(self, group: str, node_id: int) -> None:
        self.receivers.pop((group, node_id), None)

    def send(self, group: str, message: Message) -> None:
        if message.from_ in self.down or message.to in self.down:
            return
        receiver = self.receivers.get((group, message.to))
        if receiver is not None:
            asyncio.get_running_loop().call_soon(receiver.receive, message)
