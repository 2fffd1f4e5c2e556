"""Which implementation runs the append path's per-event work: C or Python.

`_native.c` reads each appended event's aggregate fields and frames the record
body in C; `codec.py` and `records.py` keep the same work in Python, as the
reference the tests compare the C code with and as the fallback where the
extension was not built (no C compiler when the package was installed).
`_syncer.c` runs the committer's fsyncs on a thread without the GIL; without it
they run in asyncio's worker thread (`syncer.py`).

`RANVIER_NATIVE` chooses: `auto` (the default) uses the extension when it is
there, `python` never does, `native` insists (start-up fails without it).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType

from ranvier.switches import SwitchError, env_choice

MODES = ("auto", "native", "python")


class NativeChoiceError(SwitchError):
    pass


def mode(environ: Mapping[str, str] = os.environ) -> str:
    return env_choice(environ, "RANVIER_NATIVE", MODES, NativeChoiceError)


def load(environ: Mapping[str, str] = os.environ, name: str = "_native") -> ModuleType | None:
    """The extension module `name` (`_native` or `_syncer`), or None for the
    Python implementation."""
    chosen = mode(environ)
    if chosen == "python":
        return None
    try:
        module = importlib.import_module(f"{__package__}.{name}")
    except ImportError as exc:
        if chosen == "native":
            raise NativeChoiceError(
                f"RANVIER_NATIVE=native but the C extension {name} is not built ({exc}); "
                "reinstall with a C compiler, or use auto"
            ) from exc
        return None
    return module


def describe(module: ModuleType | None) -> str:
    return "C" if module is not None else "Python"


try:
    extension = load()
except NativeChoiceError:
    # A bad value: the node reports it at start-up (ranvier.main) and exits; a
    # library user gets the reference implementation.
    extension = None
