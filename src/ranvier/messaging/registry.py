"""Who handles what: command and query subscriptions per context.

Commands: per (context, command name), the subscribed handlers by client id, each
with its load factor, and a consistent-hash ring over them rebuilt on change. A client
that subscribes again from a new stream replaces its old stream (a reconnect).

Queries: per (context, query name), the subscribed handlers grouped by component
name; a query goes to one instance of each component, chosen round-robin.

Handlers are `Handler` objects, so a handler on another node fits the same tables.
Every change to a handler stream on this node (not one mirrored from another node)
is reported to `on_change(handler, gone, unsent)`: the relay tells the other nodes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from collections.abc import Callable, Sequence
from typing import Any

from .handlers import Handler
from .hashing import ConsistentHash

AnyHandler = Handler[Any]


@dataclass
class _CommandEntry:
    handlers: dict[str, tuple[AnyHandler, int]] = field(default_factory=dict)  # client id -> (handler, load factor)
    ring: ConsistentHash = field(default_factory=ConsistentHash)


@dataclass
class _QueryEntry:
    components: dict[str, dict[str, AnyHandler]] = field(default_factory=dict)  # component -> client id -> handler
    result_names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # client id -> names
    turns: dict[str, itertools.count[int]] = field(default_factory=dict)


ChangeListener = Callable[[AnyHandler, bool, Sequence[str]], None]


def is_remote(handler: AnyHandler) -> bool:
    """True for a handler stream connected to another node (a mirror of it)."""
    return getattr(handler, "remote", False)


class Registry:
    def __init__(self) -> None:
        self._commands: dict[tuple[str, str], _CommandEntry] = {}
        self._queries: dict[tuple[str, str], _QueryEntry] = {}
        self.on_change: ChangeListener | None = None

    def _changed(self, handler: AnyHandler, gone: bool = False, unsent: Sequence[str] = ()) -> None:
        if self.on_change is not None and not is_remote(handler):
            self.on_change(handler, gone, unsent)

    # -- commands --------------------------------------------------------------------

    def subscribe_command(self, handler: AnyHandler, command: str, load_factor: int) -> None:
        entry = self._commands.setdefault((handler.context, command), _CommandEntry())
        entry.handlers[handler.client_id] = (handler, load_factor)
        entry.ring = entry.ring.with_member(handler.client_id, load_factor)
        self._changed(handler)

    def unsubscribe_command(self, handler: AnyHandler, command: str) -> None:
        if self._drop_command(handler, command):
            self._changed(handler)

    def _drop_command(self, handler: AnyHandler, command: str) -> bool:
        key = (handler.context, command)
        entry = self._commands.get(key)
        if entry is None or entry.handlers.get(handler.client_id, (None, 0))[0] is not handler:
            return False
        del entry.handlers[handler.client_id]
        entry.ring = entry.ring.without(handler.client_id)
        if not entry.handlers:
            del self._commands[key]
        return True

    def command_handler(self, context: str, command: str, routing_key: str) -> AnyHandler | None:
        entry = self._commands.get((context, command))
        if entry is None:
            return None
        member = entry.ring.member_for(routing_key)
        return entry.handlers[member][0] if member is not None else None

    def command_names(self, handler: AnyHandler) -> list[str]:
        return [name for name, _lf in self.command_subscriptions(handler)]

    def command_subscriptions(self, handler: AnyHandler) -> list[tuple[str, int]]:
        """(command name, load factor) of every command `handler` subscribes to."""
        out = []
        for (ctx, name), entry in self._commands.items():
            if ctx != handler.context:
                continue
            current, load_factor = entry.handlers.get(handler.client_id, (None, 0))
            if current is handler:
                out.append((name, load_factor))
        return sorted(out)

    def command_handlers(self, context: str | None = None) -> list[AnyHandler]:
        """Every distinct command handler stream (in `context`, if given)."""
        seen: dict[int, AnyHandler] = {}
        for (ctx, _name), entry in self._commands.items():
            if context is None or ctx == context:
                for handler, _lf in entry.handlers.values():
                    seen[id(handler)] = handler
        return list(seen.values())

    # -- queries ---------------------------------------------------------------------

    def subscribe_query(self, handler: AnyHandler, query: str, result_name: str = "") -> None:
        entry = self._queries.setdefault((handler.context, query), _QueryEntry())
        entry.components.setdefault(handler.component_name, {})[handler.client_id] = handler
        if result_name:
            entry.result_names[handler.client_id].add(result_name)
        self._changed(handler)

    def unsubscribe_query(self, handler: AnyHandler, query: str) -> None:
        if self._drop_query(handler, query):
            self._changed(handler)

    def _drop_query(self, handler: AnyHandler, query: str) -> bool:
        key = (handler.context, query)
        entry = self._queries.get(key)
        if entry is None:
            return False
        instances = entry.components.get(handler.component_name, {})
        if instances.get(handler.client_id) is not handler:
            return False
        del instances[handler.client_id]
        entry.result_names.pop(handler.client_id, None)
        if not instances:
            del entry.components[handler.component_name]
        if not entry.components:
            del self._queries[key]
        return True

    def query_handlers(self, context: str, query: str) -> list[AnyHandler]:
        """One handler per component, taking turns within a component."""
        entry = self._queries.get((context, query))
        if entry is None:
            return []
        chosen = []
        for component, instances in sorted(entry.components.items()):
            ordered = [instances[c] for c in sorted(instances)]
            turn = next(entry.turns.setdefault(component, itertools.count()))
            chosen.append(ordered[turn % len(ordered)])
        return chosen

    def all_query_handlers(self, context: str, query: str) -> list[AnyHandler]:
        entry = self._queries.get((context, query))
        if entry is None:
            return []
        return [h for instances in entry.components.values() for h in instances.values()]

    def query_names(self, handler: AnyHandler) -> list[tuple[str, list[str]]]:
        out = []
        for (ctx, name), entry in self._queries.items():
            if ctx == handler.context and entry.components.get(handler.component_name, {}).get(handler.client_id) is handler:
                out.append((name, sorted(entry.result_names.get(handler.client_id, ()))))
        return sorted(out)

    def query_handler_streams(self, context: str | None = None) -> list[AnyHandler]:
        seen: dict[int, AnyHandler] = {}
        for (ctx, _name), entry in self._queries.items():
            if context is None or ctx == context:
                for instances in entry.components.values():
                    for handler in instances.values():
                        seen[id(handler)] = handler
        return list(seen.values())

    # -- both ------------------------------------------------------------------------

    def remove(self, handler: AnyHandler, unsent: Sequence[str] = ()) -> None:
        """Drop every subscription of `handler` (its stream ended). `unsent`: ids of
        commands it was routed but never received."""
        for (ctx, name) in list(self._commands):
            if ctx == handler.context:
                self._drop_command(handler, name)
        for (ctx, name) in list(self._queries):
            if ctx == handler.context:
                self._drop_query(handler, name)
        self._changed(handler, gone=True, unsent=unsent)
