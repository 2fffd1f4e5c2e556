"""The node's configuration: Axon Server's property names, their defaults, and typed values.

`DEFAULTS` is the one place that holds default values (Axon Server's, except where a
comment says Ranvier differs). `load()` reads every source once (see
`ranvier.config.sources`), converts each property to its type, and validates the whole.
Nothing else in Ranvier reads files or `os.environ` for configuration.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from ranvier.config import values as v
from ranvier.config.sources import PropertyNames, PropertyValue, collect
from ranvier.errors import ConfigError

T = TypeVar("T")

A = "axoniq.axonserver."
TAGS = A + "tags"  # map property: axoniq.axonserver.tags.<key>=<value>
TRUST_VERIFICATIONS = (
    "CERTIFICATE_AND_HOST_NAME_VERIFICATION",
    "CERTIFICATE_ONLY_VERIFICATION",
    "INSECURELY_SKIP_ALL_VERIFICATION",
)
MIN_SEGMENT_SIZE = 64 * 1024  # small enough for tests to force segment roll-over
MIB = 1024 * 1024

# Canonical name -> default as Axon would read it; "" means "not set".
# Properties whose default is derived (name, hostname, domain, internal-*) are computed
# in `_identity` and are listed here as "" so that they are known.
DEFAULTS: dict[str, str] = {
    # Node identity and ports (facts §4.2)
    A + "name": "",
    A + "hostname": "",
    A + "domain": "",
    A + "internal-hostname": "",
    A + "internal-domain": "",
    A + "port": "8124",
    A + "internal-port": "8224",
    "server.port": "8024",
    "server.address": "0.0.0.0",  # Spring: bind address; Ranvier binds gRPC there too
    A + "standalone": "false",
    A + "devmode.enabled": "false",
    A + "max-message-size": "4194304",
    A + "keep-alive-time": "2500",
    A + "keep-alive-timeout": "5000",
    A + "min-keep-alive-time": "1000",
    A + "controldb-path": "./data",
    # Event store (facts §4.3)
    A + "event.storage": "./data",
    A + "snapshot.storage": "./data",
    A + "event.segment-size": str(256 * MIB),
    A + "snapshot.segment-size": str(256 * MIB),
    A + "event.max-transaction-size": str(32 * MIB),  # Ranvier's own: bytes per AppendEvent stream
    A + "event.max-indexes-in-memory": "50",
    A + "event.max-bloom-filters-in-memory": "100",
    A + "check-sequence-nr-for-snapshots": "true",
    # Event streams and ad-hoc queries (facts §4.3)
    A + "new-permits-timeout": "120000",
    A + "blacklisted-send-after": "1000",
    A + "query.limit": "200",
    A + "query.timeout": "300000",
    # Replication and cluster (facts §4.5)
    A + "autocluster.first": "",
    A + "autocluster.contexts": "",
    A + "replication.log-storage-folder": "./log",
    A + "replication.segment-size": str(16 * MIB),
    A + "replication.heartbeat-timeout": "300",
    A + "replication.min-election-timeout": "1000",
    A + "replication.max-election-timeout": "2500",
    A + "replication.initial-election-timeout": "0",
    A + "replication.wait-for-leader-timeout": "-1",  # -1: twice max-election-timeout
    A + "replication.flow-buffer": "1000",
    A + "replication.max-entries-per-batch": "10",
    A + "replication.log-compaction-enabled": "true",
    A + "replication.log-retention-hours": "1",
    A + "replication.force-snapshot-on-join": "true",
    A + "replication.min-active-backups": "1",
    # Access control (facts §4.4)
    A + "accesscontrol.enabled": "false",
    A + "accesscontrol.token": "",
    A + "accesscontrol.admin-token": "",
    A + "accesscontrol.internal-token": "",
    A + "accesscontrol.systemtokenfile": "./security/.token",
    A + "accesscontrol.cache-ttl": "30000",
    # TLS (facts §4.7)
    A + "ssl.enabled": "false",
    A + "ssl.cert-chain-file": "",
    A + "ssl.private-key-file": "",
    A + "ssl.internal-cert-chain-file": "",
    A + "ssl.internal-private-key-file": "",
    A + "ssl.internal-trust-manager-file": "",
    A + "ssl.trust-manager-verification": TRUST_VERIFICATIONS[0],
    # Heartbeats and messaging (facts §4.6)
    A + "heartbeat.enabled": "false",
    A + "client-heartbeat-timeout": "5000",
    A + "client-heartbeat-check-initial-delay": "10000",
    A + "client-heartbeat-check-rate": "1000",
    A + "client-heartbeat-frequency": "500",
    A + "client-heartbeat-initial-delay": "5000",
    A + "default-command-timeout": "300000",
    A + "default-query-timeout": "300000",
    A + "command-queue-capacity-per-client": "10000",
    A + "query-queue-capacity-per-client": "10000",
}

NAMES = PropertyNames(DEFAULTS, map_prefixes=(TAGS,))


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Who this node is and where it listens.

    `hostname`/`domain` are what clients are told (`client_address`); the internal pair is
    what peers use. Invariant: the three ports are distinct and in 1-65535.
    """

    name: str
    hostname: str
    domain: str  # "" when none
    internal_hostname: str
    internal_domain: str  # "" when none
    port: int  # client gRPC (axoniq.axonserver.port)
    internal_port: int  # node-to-node gRPC
    http_port: int  # server.port
    bind_address: str  # server.address; gRPC and HTTP both bind here
    standalone: bool  # start as a one-node cluster owning context `default`
    devmode: bool  # devmode.enabled: allows purging events
    max_message_size: int  # bytes, inbound gRPC message limit
    keep_alive_time_ms: int  # 0 disables gRPC keepalive pings
    keep_alive_timeout_ms: int
    min_keep_alive_time_ms: int  # clients pinging more often than this are refused
    controldb_path: Path
    tags: Mapping[str, str]  # read-only

    @property
    def client_address(self) -> str:
        """`hostname.domain` (or `hostname`): what PlatformService tells clients."""
        return f"{self.hostname}.{self.domain}" if self.domain else self.hostname

    @property
    def internal_address(self) -> str:
        """`internal-hostname.internal-domain` (or the hostname alone): what peers dial."""
        return f"{self.internal_hostname}.{self.internal_domain}" if self.internal_domain else self.internal_hostname


@dataclass(frozen=True, slots=True)
class StorageConfig:
    """Where events and snapshots live; one sub-directory per context under each path."""

    event_storage: Path
    snapshot_storage: Path
    segment_size: int  # bytes; a segment rolls over past this. Invariant: >= 64 KiB
    snapshot_segment_size: int
    max_transaction_size: int  # bytes accepted in one AppendEvent stream
    max_indexes_in_memory: int  # segment indexes cached per context
    max_bloom_filters_in_memory: int
    check_snapshot_sequence: bool  # a snapshot's sequence must be <= the aggregate's highest


@dataclass(frozen=True, slots=True)
class EventStreamConfig:
    """ListEvents and QueryEvents behaviour."""

    new_permits_timeout_ms: int  # close a tracker that got no new permits for this long
    blacklisted_send_after: int  # send one blacklisted event after this many were skipped
    query_limit: int  # default row limit of ad-hoc queries
    query_timeout_ms: int


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """Automatic clustering and replication timings (durations in milliseconds).

    Invariant: heartbeat_timeout_ms < min_election_timeout_ms <= max_election_timeout_ms.
    """

    autocluster_first: str | None  # internal host[:port] of the first node, if autoclustering
    autocluster_contexts: tuple[str, ...]
    log_storage_folder: Path
    segment_size: int  # replication log segment size in bytes
    heartbeat_timeout_ms: int
    min_election_timeout_ms: int
    max_election_timeout_ms: int
    initial_election_timeout_ms: int
    wait_for_leader_timeout_ms: int  # resolved: never -1
    flow_buffer: int
    max_entries_per_batch: int
    log_compaction_enabled: bool
    log_retention_hours: int
    force_snapshot_on_join: bool
    min_active_backups: int


@dataclass(frozen=True, slots=True)
class AccessControlConfig:
    """Token checks on the gRPC and HTTP ports; tokens are None when not configured."""

    enabled: bool
    token: str | None  # application token (SE style)
    admin_token: str | None
    internal_token: str | None  # shared by all nodes on the internal port
    system_token_file: Path
    cache_ttl_ms: int


@dataclass(frozen=True, slots=True)
class SslConfig:
    """TLS on the gRPC ports. The internal files fall back to the client-port ones.

    Invariant: when enabled, cert_chain_file and private_key_file are set and exist.
    """

    enabled: bool
    cert_chain_file: Path | None
    private_key_file: Path | None
    internal_cert_chain_file: Path | None
    internal_private_key_file: Path | None
    internal_trust_manager_file: Path | None
    trust_manager_verification: str  # one of TRUST_VERIFICATIONS


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    """Application heartbeats on the platform stream (off by default, as in Axon Server)."""

    enabled: bool
    client_heartbeat_timeout_ms: int
    check_initial_delay_ms: int
    check_rate_ms: int
    frequency_ms: int
    initial_delay_ms: int


@dataclass(frozen=True, slots=True)
class MessagingConfig:
    """Command and query routing limits."""

    default_command_timeout_ms: int
    default_query_timeout_ms: int
    command_queue_capacity_per_client: int
    query_queue_capacity_per_client: int


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a node is configured with, read once by `load()`.

    `properties` maps each known canonical name to its winning raw value and source
    (defaults included); `raw` holds keys no one knows, as written; `sources` lists
    what was read, highest precedence first. Only `node.py` should read a Config.
    """

    node: NodeConfig
    storage: StorageConfig
    event_stream: EventStreamConfig
    cluster: ClusterConfig
    access_control: AccessControlConfig
    ssl: SslConfig
    heartbeat: HeartbeatConfig
    messaging: MessagingConfig
    properties: Mapping[str, PropertyValue]
    raw: Mapping[str, PropertyValue]
    sources: tuple[str, ...]

    def validate(self) -> None:
        """Check rules that span properties; raise ConfigError naming the first bad one."""
        self._check_ports()
        self._check_election_timeouts()
        self._check_ssl()

    def _check_ports(self) -> None:
        seen: dict[int, str] = {}
        for name, port in ((A + "port", self.node.port), (A + "internal-port", self.node.internal_port),
                           ("server.port", self.node.http_port)):
            if port in seen:
                raise _invalid(self.properties[name], f"a port different from {seen[port]} ({port})")
            seen[port] = name

    def _check_election_timeouts(self) -> None:
        cluster = self.cluster
        if cluster.min_election_timeout_ms > cluster.max_election_timeout_ms:
            raise _invalid(
                self.properties[A + "replication.min-election-timeout"],
                f"at most replication.max-election-timeout ({cluster.max_election_timeout_ms} ms)",
            )
        if cluster.heartbeat_timeout_ms >= cluster.min_election_timeout_ms:
            raise _invalid(
                self.properties[A + "replication.heartbeat-timeout"],
                f"less than replication.min-election-timeout ({cluster.min_election_timeout_ms} ms)",
            )

    def _check_ssl(self) -> None:
        ssl = self.ssl
        if not ssl.enabled:
            return
        files = (
            ("ssl.cert-chain-file", ssl.cert_chain_file),
            ("ssl.private-key-file", ssl.private_key_file),
            ("ssl.internal-cert-chain-file", ssl.internal_cert_chain_file),
            ("ssl.internal-private-key-file", ssl.internal_private_key_file),
            ("ssl.internal-trust-manager-file", ssl.internal_trust_manager_file),
        )
        for name, path in files[:2]:
            if path is None:
                raise ConfigError(f"Missing property {A}{name}: required when {A}ssl.enabled is true")
        for name, path in files:
            prop = self.properties[A + name]
            # A blank internal file falls back to the client-port one, checked already.
            if prop.value.strip() and path is not None and not path.is_file():
                raise _invalid(prop, "the path of a readable PEM file")


def load(
    argv: Sequence[str],
    environ: Mapping[str, str],
    cwd: Path,
    *,
    system_hostname: str | None = None,
) -> Config:
    """Read command line, environment and files under `cwd` once; return a validated Config.

    `system_hostname` stands in for `socket.gethostname()` (tests pass one). Relative
    paths are resolved against `cwd`. Raises ConfigError naming the offending property.
    """
    collected = collect(argv, environ, cwd, NAMES, DEFAULTS)
    host = system_hostname if system_hostname is not None else socket.gethostname()
    known = _identity(collected.known, host)
    read = _Reader(known, cwd)
    config = Config(
        node=_node(read, known),
        storage=_storage(read),
        event_stream=_event_stream(read),
        cluster=_cluster(read),
        access_control=_access_control(read),
        ssl=_ssl(read),
        heartbeat=_heartbeat(read),
        messaging=_messaging(read),
        properties=MappingProxyType(known),
        raw=MappingProxyType(dict(collected.raw)),
        sources=tuple(collected.sources),
    )
    config.validate()
    return config


def describe_sources(config: Config, include_defaults: bool = False) -> str:
    """One line per property, `name = value  (source)`, secrets masked, sources first.

    Meant for start-up logs and an `/actuator/env`-like view.
    """
    lines = ["sources (highest precedence first): " + ", ".join(config.sources)]
    for prop in sorted(config.properties.values(), key=lambda p: p.name):
        if include_defaults or not prop.source.startswith("default"):
            lines.append(f"{prop.name} = {masked(prop)}  ({prop.source})")
    for prop in sorted(config.raw.values(), key=lambda p: p.name):
        lines.append(f"{prop.name} = {masked(prop)}  ({prop.source}; not used)")
    return "\n".join(lines)


def masked(prop: PropertyValue) -> str:
    """The value, or `******` for names Spring's actuator masks (tokens, passwords, keys)."""
    last = prop.name.lower().rsplit(".", 1)[-1]
    secret = any(word in last for word in ("token", "password", "secret", "credentials"))
    return "******" if secret and prop.value else prop.value


# -- identity -------------------------------------------------------------------------------


def _identity(known: dict[str, PropertyValue], system_hostname: str) -> dict[str, PropertyValue]:
    """Fill in name, hostname, domain and the internal pair as Axon derives them.

    A hostname that is a fully qualified name (not an IP address) is split into its first
    label and the rest, which becomes the domain unless a domain is configured.
    """
    known = dict(known)

    def configured(name: str) -> PropertyValue | None:
        prop = known.get(A + name)
        return prop if prop is not None and prop.value.strip() else None

    def put(name: str, value: str, source: str) -> None:
        known[A + name] = PropertyValue(A + name, value, source)

    hostname_prop = configured("hostname")
    host = hostname_prop.value.strip() if hostname_prop else system_hostname
    host_source = hostname_prop.source if hostname_prop else "default (system hostname)"
    if configured("domain") is None:
        host, domain = _split_fqdn(host)
        put("domain", domain, f"derived from hostname ({host_source})" if domain else "default")
    put("hostname", host, host_source)
    if configured("name") is None:
        put("name", host, "default (hostname)")
    domain = known[A + "domain"].value.strip()
    internal_prop = configured("internal-hostname")
    internal_domain_set = configured("internal-domain") is not None
    if internal_prop is None:
        put("internal-hostname", host, "default (hostname)")
    elif not internal_domain_set:
        internal, split_domain = _split_fqdn(internal_prop.value.strip())
        put("internal-hostname", internal, internal_prop.source)
        if split_domain:
            put("internal-domain", split_domain, f"derived from internal-hostname ({internal_prop.source})")
            internal_domain_set = True
    if not internal_domain_set:
        put("internal-domain", domain, "default (domain)")
    return known


def _split_fqdn(host: str) -> tuple[str, str]:
    try:
        ipaddress.ip_address(host)
        return host, ""  # 10.0.0.1 is an address, not host "10" in domain "0.0.1"
    except ValueError:
        pass
    first, _, rest = host.partition(".")
    return (first, rest) if first and rest else (host, "")


# -- conversion -----------------------------------------------------------------------------


class _Reader:
    """Converts known properties to typed values, turning parse errors into ConfigErrors."""

    def __init__(self, known: Mapping[str, PropertyValue], cwd: Path) -> None:
        self.known = known
        self.cwd = cwd

    def get(self, name: str, parse: Callable[[str], T]) -> T:
        prop = self.known[A + name] if A + name in self.known else self.known[name]
        try:
            return parse(prop.value)
        except ValueError as exc:
            raise _invalid(prop, str(exc)) from None

    def text(self, name: str) -> str:
        return self.get(name, _non_blank)

    def optional(self, name: str) -> str | None:
        return self.get(name, lambda s: s.strip() or None)

    def integer(self, name: str, minimum: int | None = 0, maximum: int | None = None) -> int:
        return self.get(name, lambda s: v.parse_int(s, minimum, maximum))

    def port(self, name: str) -> int:
        return self.get(name, v.parse_port)

    def flag(self, name: str) -> bool:
        return self.get(name, v.parse_bool)

    def millis(self, name: str, minimum: int | None = 0) -> int:
        return self.get(name, lambda s: v.parse_duration_ms(s, minimum=minimum))

    def size(self, name: str, minimum: int = 0, maximum: int | None = None) -> int:
        return self.get(name, lambda s: v.parse_size(s, minimum, maximum))

    def path(self, name: str) -> Path:
        return self.get(name, lambda s: _resolve(_non_blank(s), self.cwd))

    def optional_path(self, name: str) -> Path | None:
        return self.get(name, lambda s: _resolve(s.strip(), self.cwd) if s.strip() else None)


def _node(read: _Reader, known: Mapping[str, PropertyValue]) -> NodeConfig:
    tags = {name[len(TAGS) + 1:]: prop.value for name, prop in sorted(known.items()) if name.startswith(TAGS + ".")}
    return NodeConfig(
        # hostname before name: a bad hostname should be reported as such, not as the name
        # derived from it (keyword arguments are evaluated in order).
        hostname=read.get("hostname", _single_word),
        domain=read.get("domain", _optional_word),
        name=read.get("name", _single_word),
        internal_hostname=read.get("internal-hostname", _single_word),
        internal_domain=read.get("internal-domain", _optional_word),
        port=read.port("port"),
        internal_port=read.port("internal-port"),
        http_port=read.port("server.port"),
        bind_address=read.get("server.address", _single_word),
        standalone=read.flag("standalone"),
        devmode=read.flag("devmode.enabled"),
        max_message_size=read.size("max-message-size", 1024, 2**31 - 1),
        keep_alive_time_ms=read.millis("keep-alive-time"),
        keep_alive_timeout_ms=read.millis("keep-alive-timeout"),
        min_keep_alive_time_ms=read.millis("min-keep-alive-time"),
        controldb_path=read.path("controldb-path"),
        tags=MappingProxyType(tags),
    )


def _storage(read: _Reader) -> StorageConfig:
    return StorageConfig(
        event_storage=read.path("event.storage"),
        snapshot_storage=read.path("snapshot.storage"),
        segment_size=read.size("event.segment-size", MIN_SEGMENT_SIZE),
        snapshot_segment_size=read.size("snapshot.segment-size", MIN_SEGMENT_SIZE),
        max_transaction_size=read.size("event.max-transaction-size", 1024),
        max_indexes_in_memory=read.integer("event.max-indexes-in-memory", 1),
        max_bloom_filters_in_memory=read.integer("event.max-bloom-filters-in-memory", 1),
        check_snapshot_sequence=read.flag("check-sequence-nr-for-snapshots"),
    )


def _event_stream(read: _Reader) -> EventStreamConfig:
    return EventStreamConfig(
        new_permits_timeout_ms=read.millis("new-permits-timeout"),
        blacklisted_send_after=read.integer("blacklisted-send-after", 1),
        query_limit=read.integer("query.limit", 1),
        query_timeout_ms=read.millis("query.timeout"),
    )


def _cluster(read: _Reader) -> ClusterConfig:
    max_election = read.millis("replication.max-election-timeout", 1)
    wait_for_leader = read.millis("replication.wait-for-leader-timeout", minimum=-1)
    return ClusterConfig(
        autocluster_first=read.optional("autocluster.first"),
        autocluster_contexts=read.get("autocluster.contexts", v.parse_context_names),
        log_storage_folder=read.path("replication.log-storage-folder"),
        segment_size=read.size("replication.segment-size", MIN_SEGMENT_SIZE),
        heartbeat_timeout_ms=read.millis("replication.heartbeat-timeout", 1),
        min_election_timeout_ms=read.millis("replication.min-election-timeout", 1),
        max_election_timeout_ms=max_election,
        initial_election_timeout_ms=read.millis("replication.initial-election-timeout"),
        wait_for_leader_timeout_ms=2 * max_election if wait_for_leader < 0 else wait_for_leader,
        flow_buffer=read.integer("replication.flow-buffer", 1),
        max_entries_per_batch=read.integer("replication.max-entries-per-batch", 1),
        log_compaction_enabled=read.flag("replication.log-compaction-enabled"),
        log_retention_hours=read.integer("replication.log-retention-hours"),
        force_snapshot_on_join=read.flag("replication.force-snapshot-on-join"),
        min_active_backups=read.integer("replication.min-active-backups"),
    )


def _access_control(read: _Reader) -> AccessControlConfig:
    return AccessControlConfig(
        enabled=read.flag("accesscontrol.enabled"),
        token=read.optional("accesscontrol.token"),
        admin_token=read.optional("accesscontrol.admin-token"),
        internal_token=read.optional("accesscontrol.internal-token"),
        system_token_file=read.path("accesscontrol.systemtokenfile"),
        cache_ttl_ms=read.millis("accesscontrol.cache-ttl"),
    )


def _ssl(read: _Reader) -> SslConfig:
    cert = read.optional_path("ssl.cert-chain-file")
    key = read.optional_path("ssl.private-key-file")
    return SslConfig(
        enabled=read.flag("ssl.enabled"),
        cert_chain_file=cert,
        private_key_file=key,
        internal_cert_chain_file=read.optional_path("ssl.internal-cert-chain-file") or cert,
        internal_private_key_file=read.optional_path("ssl.internal-private-key-file") or key,
        internal_trust_manager_file=read.optional_path("ssl.internal-trust-manager-file"),
        trust_manager_verification=read.get(
            "ssl.trust-manager-verification", lambda s: v.parse_choice(s, TRUST_VERIFICATIONS)
        ),
    )


def _heartbeat(read: _Reader) -> HeartbeatConfig:
    return HeartbeatConfig(
        enabled=read.flag("heartbeat.enabled"),
        client_heartbeat_timeout_ms=read.millis("client-heartbeat-timeout", 1),
        check_initial_delay_ms=read.millis("client-heartbeat-check-initial-delay"),
        check_rate_ms=read.millis("client-heartbeat-check-rate", 1),
        frequency_ms=read.millis("client-heartbeat-frequency", 1),
        initial_delay_ms=read.millis("client-heartbeat-initial-delay"),
    )


def _messaging(read: _Reader) -> MessagingConfig:
    return MessagingConfig(
        default_command_timeout_ms=read.millis("default-command-timeout", 1),
        default_query_timeout_ms=read.millis("default-query-timeout", 1),
        command_queue_capacity_per_client=read.integer("command-queue-capacity-per-client", 1),
        query_queue_capacity_per_client=read.integer("query-queue-capacity-per-client", 1),
    )


# -- helpers --------------------------------------------------------------------------------


def _invalid(prop: PropertyValue, expected: str) -> ConfigError:
    return ConfigError(
        f"Invalid value {prop.value!r} for property {prop.name}: expected {expected} (from {prop.source})"
    )


def _resolve(text: str, cwd: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else cwd / path


def _non_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("a non-empty value")
    return text.strip()


def _single_word(text: str) -> str:
    value = _non_blank(text)
    if any(char.isspace() for char in value):
        raise ValueError("a name without spaces")
    return value


def _optional_word(text: str) -> str:
    return _single_word(text) if text.strip() else ""
