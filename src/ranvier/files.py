"""Small files replaced whole, so that a crash leaves the old one or the new one.

`replace_durably` writes a temporary file beside the target, fsyncs it, renames it
over the target and fsyncs the directory, so the rename itself survives a power
loss. Used for the Raft hard state, the node's incarnation, the `_admin`
configuration and a standalone node's list of contexts.
"""

from __future__ import annotations

import os
from pathlib import Path


def replace_durably(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
