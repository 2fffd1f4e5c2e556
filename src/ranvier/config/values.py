"""Parsers for property values, in the forms Spring Boot (and so Axon Server) accepts.

Each parser takes the raw string and returns the typed value or raises `ValueError`
whose message completes the sentence "expected ..."; `ranvier.config.model` wraps it
into a `ConfigError` that names the property and where its value came from.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Spring's DurationStyle.SIMPLE: an integer with an optional unit of up to two letters.
_SIMPLE_DURATION = re.compile(r"^([+-]?\d+)\s*([a-zA-Z]{0,2})$")
# Spring's DurationStyle.ISO8601 as java.time.Duration parses it (days, hours, minutes, seconds).
_ISO_DURATION = re.compile(
    r"^([+-]?)P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)
_DURATION_UNITS_MS: dict[str, Decimal] = {
    "ns": Decimal("0.000001"),
    "us": Decimal("0.001"),
    "ms": Decimal(1),
    "s": Decimal(1000),
    "m": Decimal(60_000),
    "h": Decimal(3_600_000),
    "d": Decimal(86_400_000),
}

# Spring's DataSize: an integer and a unit of B, KB, MB, GB or TB, powers of 1024.
# We also take the IEC spellings (KiB, MiB, ...) and single letters, which operators write.
_SIZE = re.compile(r"^([+-]?\d+)\s*([a-zA-Z]{0,3})$")
_SIZE_UNITS: dict[str, int] = {
    "": 1, "b": 1,
    "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
    "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
    "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
    "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}  # fmt: skip

# Spring's StringToBooleanConverter accepts these; Axon documents only true/false.
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})

# Axon's rule for context and replication-group names; `_admin` is the one reserved name.
CONTEXT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z_\-0-9]*$")
ADMIN_CONTEXT = "_admin"


def parse_int(text: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer within [minimum, maximum]; surrounding blanks are ignored."""
    value = text.strip()
    if not re.fullmatch(r"[+-]?\d+", value):
        raise ValueError(_range_phrase("an integer", minimum, maximum))
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(_range_phrase("an integer", minimum, maximum))
    return number


def parse_port(text: str) -> int:
    """A TCP port, 1-65535 (0, "any free port", is refused: peers must know the port)."""
    try:
        return parse_int(text, 1, 65535)
    except ValueError:
        raise ValueError("an integer port 1-65535") from None


def parse_bool(text: str) -> bool:
    """`true`/`false` in any case (also Spring's `yes/no`, `on/off`, `1/0`)."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("true or false")


def parse_duration_ms(text: str, default_unit: str = "ms", minimum: int | None = 0) -> int:
    """A duration in whole milliseconds.

    Accepts a bare number (in `default_unit`, milliseconds unless a property says
    otherwise, as Axon's `@Value long` fields read them), a number with a unit
    (`ns`, `us`, `ms`, `s`, `m`, `h`, `d`, e.g. `5s`, `1d`), or ISO-8601 (`PT30S`).
    Sub-millisecond remainders are truncated toward zero.
    """
    value = text.strip()
    millis = _simple_duration(value, default_unit)
    if millis is None:
        millis = _iso_duration(value)
    if millis is None:
        raise ValueError(f"a duration such as 500 ({default_unit}), 500ms, 5s, 2m, 1h, 1d or PT5S")
    if minimum is not None and millis < minimum:
        raise ValueError(_range_phrase("a duration", minimum, None, unit=" ms"))
    return millis


def parse_size(text: str, minimum: int | None = 0, maximum: int | None = None) -> int:
    """A size in bytes: a bare number of bytes or a number with B/KB/MB/GB/TB (×1024)."""
    match = _SIZE.match(text.strip())
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError("a size such as 1048576 (bytes), 512KB, 256MB or 1GB")
    size = int(match.group(1)) * _SIZE_UNITS[unit]
    if (minimum is not None and size < minimum) or (maximum is not None and size > maximum):
        raise ValueError(_range_phrase("a size", minimum, maximum, unit=" bytes"))
    return size


def parse_list(text: str) -> tuple[str, ...]:
    """A comma-separated list (Spring's form); blanks around items and empty items are dropped."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def parse_context_names(text: str) -> tuple[str, ...]:
    """A comma-separated list of context names, each valid by Axon's naming rule."""
    names = parse_list(text)
    for name in names:
        if name != ADMIN_CONTEXT and not CONTEXT_NAME.match(name):
            raise ValueError(
                f"context names matching [a-zA-Z][a-zA-Z_-0-9]* (or _admin), not {name!r}"
            )
    return names


def parse_choice(text: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, compared without regard to case; returns the spelling in `choices`."""
    value = text.strip()
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    raise ValueError("one of " + ", ".join(choices))


def _simple_duration(value: str, default_unit: str) -> int | None:
    match = _SIMPLE_DURATION.match(value)
    if match is None:
        return None
    unit = match.group(2).lower() or default_unit
    if unit not in _DURATION_UNITS_MS:
        return None
    return int(Decimal(match.group(1)) * _DURATION_UNITS_MS[unit])


def _iso_duration(value: str) -> int | None:
    match = _ISO_DURATION.match(value)
    if match is None or not any(match.group(i) for i in range(2, 6)):
        return None
    sign, days, hours, minutes, seconds = match.groups()
    try:
        total = (
            Decimal(days or 0) * 86_400_000
            + Decimal(hours or 0) * 3_600_000
            + Decimal(minutes or 0) * 60_000
            + Decimal(seconds or 0) * 1000
        )
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        return None
    return int(-total if sign == "-" else total)


def _range_phrase(what: str, minimum: int | None, maximum: int | None, unit: str = "") -> str:
    if minimum is not None and maximum is not None:
        return f"{what} from {minimum} to {maximum}{unit}"
    if minimum is not None:
        return f"{what} of at least {minimum}{unit}"
    if maximum is not None:
        return f"{what} of at most {maximum}{unit}"
    return what
