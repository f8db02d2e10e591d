"""The state directory: private to popvimd (0700), and home of this install's identity.

The install id is a UUID made at first start. Every engine object popvimd
makes carries it, so a second daemon with a fresh state directory on the same
engine (even under the same PoP name) can tell the first one's objects from
its own and never removes them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

INSTALL_ID_FILE = "install-id"
ADMIN_PASSWORD_FILE = "admin-password"


def prepare(state_dir: Path) -> None:
    """Create the directory if needed and make it (and files made later) private."""
    os.umask(0o077)  # the database, its journal, keys: whatever popvimd writes is ours alone
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)


def install_id(state_dir: Path) -> str:
    path = state_dir / INSTALL_ID_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise ValueError(
                f"{path} does not hold a UUID: remove it only if nothing on the engine was made by this install"
            ) from exc
    value = str(uuid.uuid4())
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def write_private(path: Path, text: str) -> None:
    """A new file readable by us only, replacing any older one."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
