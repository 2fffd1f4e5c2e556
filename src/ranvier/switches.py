"""Ranvier's own environment switches (RANVIER_EVENT_LOOP, RANVIER_HELPER_THREADS,
RANVIER_GRPC_WAKEUPS, RANVIER_NATIVE choose from fixed values; RANVIER_LOOP_CPU
takes a CPU): one way to read the fixed ones, one error for all, which start-up
reports before exiting with 78. Axon Server's properties are read by
`ranvier.config`; these choose how this process runs."""

from __future__ import annotations

from collections.abc import Mapping


class SwitchError(ValueError):
    """A switch has a value it cannot take; each switch has its own subclass."""


def env_choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], error: type[SwitchError]) -> str:
    """The value of `name`, case and surrounding blanks ignored; unset or empty
    means the first of `choices`. Anything else raises `error`, naming the
    variable and what it may be (start-up reports it and exits with 78)."""
    default = choices[0]
    value = environ.get(name, default).strip().lower() or default
    if value not in choices:
        raise error(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value
