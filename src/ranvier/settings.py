"""The values a node needs, taken from the configuration in one place.

`ranvier.config` reads Axon Server's property sources; `settings_from` picks what
the node uses, so nothing else depends on the configuration's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """What the node needs from the configuration (see `settings_from`)."""

    name: str
    hostname: str
    grpc_port: int
    http_port: int
    internal_port: int
    bind_address: str
    standalone: bool
    event_storage: Path
    segment_size: int
    max_message_size: int
    max_transaction_size: int
    new_permits_timeout_ms: int
    blacklisted_send_after: int
    check_snapshot_sequence: bool
    devmode: bool


