"""Where property values come from, and which one wins: Spring Boot's rules as Axon Server uses them.

Sources, highest precedence first (Spring Boot's external configuration order):

1. command-line arguments `--name=value` (and `-Dname=value`, the JVM system-property form);
2. environment variables, in Spring's relaxed form (`AXONIQ_AXONSERVER_PORT`, `SERVER_PORT`,
   also `axoniq.axonserver.port` and `axoniq_axonserver_port`);
3. `./config/axonserver.properties`, then `./config/axonserver.yml`, then `./config/axonserver.yaml`;
4. `./axonserver.properties`, then `./axonserver.yml`, then `./axonserver.yaml`;
5. built-in defaults.

Names are matched the way Spring's relaxed binding matches them: case-insensitively and
ignoring `-` and `_` inside each dotted element, so `internalHostname`, `internal_hostname`
and `internal-hostname` are one property. Environment names have no dots, so they are
matched against every known property with all separators removed. Keys nobody knows are
kept in a separate raw map (Axon ignores them; an `/actuator/env`-like view may show them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from ranvier.errors import ConfigError

CONFIG_NAME = "axonserver"
# Within one directory Spring's loaders run properties before YAML, and the first wins.
_EXTENSIONS = ("properties", "yml", "yaml")
_DEFAULT_SOURCE = "default"
_INDEXED = re.compile(r"^(.*)\[(\d+)\]$")
_PLACEHOLDER = re.compile(r"\$\{([^${}]+)\}")


@dataclass(frozen=True, slots=True)
class PropertyValue:
    """One property's value as configured, before conversion, and where it came from.

    `name` is the canonical (kebab-case, dotted) name for a known property and the key as
    written for an unknown one; `source` is a phrase such as `environment variable
    AXONIQ_AXONSERVER_PORT`, `file config/axonserver.yml` or `default`.
    """

    name: str
    value: str
    source: str


class PropertyNames:
    """Maps keys as operators write them to the canonical names of known properties.

    `known` are canonical names; `map_prefixes` are canonical prefixes under which any
    key is a map entry (`axoniq.axonserver.tags.<key>`). Two known names that relax to
    the same form would make matching ambiguous, so the constructor refuses them.
    """

    def __init__(self, known: Iterable[str], map_prefixes: Iterable[str] = ()) -> None:
        self._by_uniform: dict[str, str] = {}
        self._by_squashed: dict[str, str] = {}
        for name in known:
            for index, key in ((self._by_uniform, _uniform(name)), (self._by_squashed, _squash(name))):
                assert key not in index, f"{name} and {index[key]} relax to the same name"
                index[key] = name
        self._prefixes = tuple(map_prefixes)

    def canonical(self, key: str) -> str | None:
        """The canonical name for a dotted key (files, command line), or None if unknown."""
        found = self._by_uniform.get(_uniform(key))
        if found is not None:
            return found
        for prefix in self._prefixes:
            head = prefix.count(".") + 1
            parts = key.split(".")
            if len(parts) > head and _uniform(".".join(parts[:head])) == _uniform(prefix):
                return prefix + "." + ".".join(parts[head:])
        return None

    def from_env(self, env_name: str) -> str | None:
        """The canonical name an environment variable sets, or None if it sets no known one."""
        found = self._by_squashed.get(_squash(env_name))
        if found is not None:
            return found
        tokens = [token for token in re.split(r"[._]", env_name.lower()) if token]
        for prefix in self._prefixes:
            head = [_squash(part) for part in prefix.split(".")]
            if len(tokens) > len(head) and [_squash(t) for t in tokens[: len(head)]] == head:
                return prefix + "." + ".".join(tokens[len(head):])
        return None


@dataclass(slots=True)
class Collected:
    """All property sources merged: the winning value per known property, and the rest.

    `known` maps canonical names to the winning value (defaults included); `raw` maps
    unknown keys as written; `sources` describes what was read, highest precedence first.
    """

    known: dict[str, PropertyValue] = field(default_factory=dict)
    raw: dict[str, PropertyValue] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


def collect(
    argv: Sequence[str],
    environ: Mapping[str, str],
    cwd: Path,
    names: PropertyNames,
    defaults: Mapping[str, str],
) -> Collected:
    """Read every source once and merge them by Spring's precedence.

    Raises ConfigError for a malformed command-line argument, an unreadable file, or a
    placeholder (`${name}` / `${name:fallback}`) that resolves to nothing.
    """
    layers = _layers(argv, environ, cwd)  # highest precedence first
    merged = Collected(sources=[label for label, _ in layers] + [_DEFAULT_SOURCE])
    for name, value in defaults.items():
        merged.known[name] = PropertyValue(name, value, _DEFAULT_SOURCE)
    for label, entries in reversed(layers):
        from_env = label == "environment"
        for entry in _join_indexed(entries, names):
            _merge(merged, entry, names, from_env)
    _resolve_placeholders(merged, environ, names)
    return merged


def read_properties(text: str) -> list[tuple[str, str]]:
    """Parse Java `.properties` text: `key=value`, `key: value` or `key value`.

    Handles `#`/`!` comments, backslash line continuations and the escapes `\\t \\n \\r
    \\f \\uXXXX`; any other escaped character stands for itself (`\\=`, `\\:`, `\\ `).
    """
    entries: list[tuple[str, str]] = []
    for line in _logical_lines(text):
        key, value = _split_property_line(line)
        entries.append((_unescape(key), _unescape(value)))
    return entries


def read_yaml(text: str, label: str) -> list[tuple[str, str]]:
    """Flatten YAML into dotted keys, as Spring does; later documents override earlier ones.

    Documents that apply only to a Spring profile (`spring.config.activate.on-profile`,
    `spring.profiles`) are skipped: Ranvier has no profiles. Lists of scalars become
    comma-separated values; lists of mappings become `key[i].sub` entries.
    """
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"Cannot parse {label}: {exc}") from None
    entries: list[tuple[str, str]] = []
    for doc in documents:
        if not isinstance(doc, dict):
            raise ConfigError(f"Cannot use {label}: a document is not a mapping of properties")
        flat = list(_flatten(doc, ""))
        if any(_uniform(key) in _PROFILE_KEYS for key, _ in flat):
            continue
        entries.extend(flat)
    return entries


def read_argv(argv: Sequence[str]) -> list[tuple[str, str]]:
    """Parse `--name=value` and `-Dname=value`; anything else is a ConfigError."""
    entries: list[tuple[str, str]] = []
    for arg in argv:
        body = arg[2:] if arg.startswith(("--", "-D")) else None
        key, sep, value = (body or "").partition("=")
        if body is None or not sep or not key.strip():
            raise ConfigError(
                f"Unexpected command-line argument {arg!r}: expected --property=value "
                "(e.g. --axoniq.axonserver.port=8124)"
            )
        entries.append((key.strip(), value))
    return entries


# -- layers -----------------------------------------------------------------------------

_Entry = tuple[str, str, str]  # key as written, value, source phrase


def _layers(argv: Sequence[str], environ: Mapping[str, str], cwd: Path) -> list[tuple[str, list[_Entry]]]:
    layers: list[tuple[str, list[_Entry]]] = []
    if argv:
        layers.append(("command line", [(k, v, f"command-line argument --{k}") for k, v in read_argv(argv)]))
    layers.append(("environment", [(k, v, f"environment variable {k}") for k, v in sorted(environ.items())]))
    for directory, label_dir in ((cwd / "config", "config/"), (cwd, "")):
        for ext in _EXTENSIONS:
            path = directory / f"{CONFIG_NAME}.{ext}"
            if path.is_file():
                label = f"file {label_dir}{path.name}"
                layers.append((label, [(k, v, label) for k, v in _read_file(path, label)]))
    return layers


def _read_file(path: Path, label: str) -> list[tuple[str, str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {label}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # Java's own default for .properties files
    if path.suffix == ".properties":
        return read_properties(text)
    return read_yaml(text, label)


def _merge(merged: Collected, entry: _Entry, names: PropertyNames, from_env: bool) -> None:
    key, value, source = entry
    canonical = names.from_env(key) if from_env else names.canonical(key)
    if canonical is not None:
        current = merged.known.get(canonical)
        # Several environment variables may name one property; Spring tries the exact name
        # first, then its upper-case form; we pick the closest deterministically.
        if from_env and current is not None and current.source.startswith("environment variable "):
            if _env_rank(key, canonical) > _env_rank(current.source.rsplit(" ", 1)[1], canonical):
                return
        merged.known[canonical] = PropertyValue(canonical, value, source)
    elif not from_env:
        merged.raw[key] = PropertyValue(key, value, source)
    elif _squash(key).startswith("axoniq"):
        # The environment holds much that is not ours; keep only Axon-looking names.
        dotted = key.lower().replace("_", ".")
        merged.raw[dotted] = PropertyValue(dotted, value, source)


def _env_rank(env_name: str, canonical: str) -> int:
    if env_name == canonical:
        return 0
    if env_name.upper() == canonical.upper().replace(".", "_").replace("-", ""):
        return 1
    return 2


def _join_indexed(entries: list[_Entry], names: PropertyNames) -> list[_Entry]:
    """Turn `list[0]=a`, `list[1]=b` into `list=a,b` for known (list-valued) properties."""
    indexed: dict[str, list[tuple[int, str, str]]] = {}
    plain: list[_Entry] = []
    for key, value, source in entries:
        match = _INDEXED.match(key)
        if match and names.canonical(match.group(1)) is not None:
            indexed.setdefault(match.group(1), []).append((int(match.group(2)), value, source))
        else:
            plain.append((key, value, source))
    for base, items in indexed.items():
        items.sort()
        plain.append((base, ",".join(value for _, value, _ in items), items[0][2]))
    return plain


def _resolve_placeholders(merged: Collected, environ: Mapping[str, str], names: PropertyNames) -> None:
    """Expand `${name}` and `${name:fallback}` in known values, as Spring does.

    A name is looked up as a property (relaxed), then as an unknown key, then as an
    environment variable by its exact name (`${HOSTNAME}`).
    """
    for name, prop in list(merged.known.items()):
        if "${" in prop.value:
            value = _expand(prop, merged, environ, names, depth=0)
            merged.known[name] = PropertyValue(name, value, prop.source)


def _expand(
    prop: PropertyValue, merged: Collected, environ: Mapping[str, str], names: PropertyNames, depth: int
) -> str:
    if depth > 8:
        raise ConfigError(f"Circular placeholder in property {prop.name} (from {prop.source})")

    def replace(match: re.Match[str]) -> str:
        ref, _, fallback = match.group(1).partition(":")
        found = _lookup(ref.strip(), merged, environ, names)
        if found is None:
            if ":" in match.group(1):
                return fallback
            raise ConfigError(
                f"Could not resolve placeholder '${{{ref}}}' in property {prop.name} (from {prop.source})"
            )
        if "${" in found.value:
            return _expand(found, merged, environ, names, depth + 1)
        return found.value

    return _PLACEHOLDER.sub(replace, prop.value)


def _lookup(ref: str, merged: Collected, environ: Mapping[str, str], names: PropertyNames) -> PropertyValue | None:
    canonical = names.canonical(ref)
    if canonical is not None and canonical in merged.known:
        return merged.known[canonical]
    if ref in merged.raw:
        return merged.raw[ref]
    if ref in environ:
        return PropertyValue(ref, environ[ref], f"environment variable {ref}")
    return None


# -- file formats ---------------------------------------------------------------------------

_PROFILE_KEYS = frozenset({"spring.config.activate.onprofile", "spring.profiles"})


def _flatten(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list) and any(isinstance(item, (dict, list)) for item in node):
        for index, item in enumerate(node):
            yield from _flatten(item, f"{prefix}[{index}]")
    elif isinstance(node, list):
        yield prefix, ",".join(_scalar(item) for item in node)
    else:
        yield prefix, _scalar(node)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # YAML's true/yes/on all load as bool; Spring sees "true"
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _logical_lines(text: str) -> Iterator[str]:
    """Lines of a .properties file with comments dropped and continuations joined."""
    pending = ""
    for physical in text.splitlines():
        line = physical.lstrip(" \t\f")
        if not pending and (not line or line[0] in "#!"):
            continue
        pending += line
        if _ends_with_odd_backslashes(pending):
            pending = pending[:-1]
            continue
        yield pending
        pending = ""
    if pending:
        yield pending


def _ends_with_odd_backslashes(line: str) -> bool:
    count = len(line) - len(line.rstrip("\\"))
    return count % 2 == 1


def _split_property_line(line: str) -> tuple[str, str]:
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in "=: \t\f":
            break
        index += 1
    key, rest = line[:index], line[index:]
    rest = rest.lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 >= len(text):
            out.append(char)
            index += 1
            continue
        nxt = text[index + 1]
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[index + 2 : index + 6]):
            out.append(chr(int(text[index + 2 : index + 6], 16)))
            index += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        index += 2
    return "".join(out)


# -- name forms ------------------------------------------------------------------------------


def _uniform(name: str) -> str:
    """Spring's relaxed comparison form for dotted names: per element, lower case without - and _."""
    return ".".join(re.sub(r"[-_]", "", part.lower()) for part in name.split("."))


def _squash(name: str) -> str:
    """The form an environment variable and a property name share: lower case, no separators."""
    return re.sub(r"[._\-]", "", name.lower())
