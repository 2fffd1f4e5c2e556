"""The values a node needs, taken from the configuration in one place.

`ranvier.config` reads Axon Server's property sources; `settings_from` picks what
the node uses, so nothing else depends on the configuration's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ranvier.config import Config


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
    # Messaging (axoniq.axonserver.default-*-timeout, *-queue-capacity-per-client, heartbeat.*)
    default_command_timeout_ms: int = 300_000
    default_query_timeout_ms: int = 300_000
    command_queue_capacity: int = 10_000
    query_queue_capacity: int = 10_000
    heartbeat_enabled: bool = False
    client_heartbeat_timeout_ms: int = 5_000
    heartbeat_check_initial_delay_ms: int = 10_000
    heartbeat_check_rate_ms: int = 1_000
    heartbeat_frequency_ms: int = 500
    heartbeat_initial_delay_ms: int = 5_000
    # Clustering (axoniq.axonserver.internal-hostname, replication.*)
    internal_hostname: str = "localhost"
    log_storage_folder: Path = Path("./log")
    heartbeat_timeout_ms: int = 300
    min_election_timeout_ms: int = 1_000
    wait_for_leader_timeout_ms: int = 5_000
    # Autocluster (axoniq.axonserver.autocluster.first / .contexts)
    autocluster_first: str | None = None
    autocluster_contexts: tuple[str, ...] = ()


def settings_from(config: Config) -> NodeSettings:
    """Pick the node's values out of a loaded, validated configuration."""
    node, storage, stream = config.node, config.storage, config.event_stream
    return NodeSettings(
        name=node.name,
        hostname=node.client_address,
        grpc_port=node.port,
        http_port=node.http_port,
        internal_port=node.internal_port,
        bind_address=node.bind_address,
        standalone=node.standalone,
        event_storage=storage.event_storage,
        segment_size=storage.segment_size,
        max_message_size=node.max_message_size,
        max_transaction_size=storage.max_transaction_size,
        new_permits_timeout_ms=stream.new_permits_timeout_ms,
        blacklisted_send_after=stream.blacklisted_send_after,
        check_snapshot_sequence=storage.check_snapshot_sequence,
        devmode=node.devmode,
        default_command_timeout_ms=config.messaging.default_command_timeout_ms,
        default_query_timeout_ms=config.messaging.default_query_timeout_ms,
        command_queue_capacity=config.messaging.command_queue_capacity_per_client,
        query_queue_capacity=config.messaging.query_queue_capacity_per_client,
        heartbeat_enabled=config.heartbeat.enabled,
        client_heartbeat_timeout_ms=config.heartbeat.client_heartbeat_timeout_ms,
        heartbeat_check_initial_delay_ms=config.heartbeat.check_initial_delay_ms,
        heartbeat_check_rate_ms=config.heartbeat.check_rate_ms,
        heartbeat_frequency_ms=config.heartbeat.frequency_ms,
        heartbeat_initial_delay_ms=config.heartbeat.initial_delay_ms,
        internal_hostname=node.internal_address,
        log_storage_folder=config.cluster.log_storage_folder,
        heartbeat_timeout_ms=config.cluster.heartbeat_timeout_ms,
        min_election_timeout_ms=config.cluster.min_election_timeout_ms,
        wait_for_leader_timeout_ms=config.cluster.wait_for_leader_timeout_ms,
        autocluster_first=config.cluster.autocluster_first,
        autocluster_contexts=tuple(config.cluster.autocluster_contexts),
    )
