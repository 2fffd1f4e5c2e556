"""A clustered node's incarnation: which copy of its data a node name stands for.

A node's name says *who* it is to operators; its incarnation says *which data* it
holds. A node creates a random 128-bit incarnation the first time it starts
clustered and keeps it in `<log-storage-folder>/ranvier.incarnation`, beside the Raft
logs and hard states it vouches for: wiping that folder (or starting a new machine
under an old name) yields a new incarnation, so the cluster can tell the new data
from the old and refuse to let it stand in for it (see `ClusterConfiguration` and
the peer checks). The file is written once, atomically and fsynced, and never
changed. Its name has a dot, which context names cannot have, so it never collides
with a group's directory.

A folder that already holds `_admin` state but no incarnation file was written by a
version before incarnations: such a node keeps running as it did (no incarnation,
Raft id derived from its name alone) rather than claim an identity its peers have
never recorded.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from ranvier.errors import RanvierError
from ranvier.files import replace_durably

log = logging.getLogger(__name__)

INCARNATION_FILE = "ranvier.incarnation"
_HEX128 = re.compile(r"^[0-9a-f]{32}$")


class IdentityError(RanvierError):
    """The incarnation file exists but cannot be used: the node must not guess."""


def load_or_create(raft_storage: Path, admin_dir: str = "_admin") -> str:
    """This node's incarnation: read, or created on first start; "" for a node whose
    Raft state predates incarnations."""
    path = raft_storage / INCARNATION_FILE
    if path.exists():
        return _read(path)
    if (raft_storage / admin_dir).exists():
        log.warning("%s holds cluster state but no %s: it was written by an earlier version; this node keeps its "
                    "name-derived Raft id and has no incarnation (to get one, unregister it, wipe the folder and "
                    "register it again)", raft_storage, INCARNATION_FILE)
        return ""
    incarnation = secrets.token_hex(16)
    # After a crash the file is absent (a new one is made next start; nothing
    # depended on it yet) or complete.
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_durably(path, (incarnation + "\n").encode())
    log.info("new incarnation %s in %s", incarnation, path)
    return incarnation


def _read(path: Path) -> str:
    text = path.read_text().strip()
    if not _HEX128.match(text):
        raise IdentityError(f"{path} does not hold an incarnation (32 hex digits): {text[:40]!r}; restore it, or "
                            "wipe the folder and register the node again after `ranvier-cli unregister-node`")
    return text
