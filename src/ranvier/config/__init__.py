"""Configuration as Axon Server reads it: property files, environment, command line.

`load(argv, environ, cwd)` is the only entry point; it returns a validated, frozen
`Config`. Layout: `sources` (where values come from and which wins), `values` (parsing
sizes, durations, booleans, ...), `model` (property names, defaults, dataclasses).
"""

from ranvier.config.model import (
    DEFAULTS,
    AccessControlConfig,
    ClusterConfig,
    Config,
    EventStreamConfig,
    HeartbeatConfig,
    MessagingConfig,
    NodeConfig,
    SslConfig,
    StorageConfig,
    describe_sources,
    load,
    masked,
)
from ranvier.config.sources import PropertyValue

__all__ = [
    "DEFAULTS",
    "AccessControlConfig",
    "ClusterConfig",
    "Config",
    "EventStreamConfig",
    "HeartbeatConfig",
    "MessagingConfig",
    "NodeConfig",
    "PropertyValue",
    "SslConfig",
    "StorageConfig",
    "describe_sources",
    "load",
    "masked",
]
