"""Ranvier: a clustered, Axon Server-compatible event store and message router."""

__version__ = "0.1.0"
