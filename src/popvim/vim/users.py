"""Users, their roles, and the file they live in.

A user is a bcrypt hash and a role. In a TOML ``[users]`` table the old form
``name = "$2b$..."`` still means an admin; ``[users.name]`` with ``password``
and ``role`` gives any role. The daemon re-reads the file when it changes
(``popvimd user add|passwd|del`` edits it), so a deleted user or a changed
password takes effect without a restart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomli_w

log = logging.getLogger(__name__)

# How often, at most, the file's modification time is looked at.
RELOAD_INTERVAL = 1.0
# The orchestrator's user, which exists only inside the daemon (a random password, never stored).
ORCHESTRATOR_USER = "popvim-orchestrator"


class Role(StrEnum):
    """Ordered: each role may do everything the ones before it may."""

    READER = "reader"  # reads only
    OPERATOR = "operator"  # containers, networks, images, network services
    ADMIN = "admin"  # everything, the PoP registry and users included

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class User:
    password_hash: str
    role: Role = Role.ADMIN


def _hash(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("$2"):
        raise ValueError(f"{where} must be a bcrypt hash (run 'popvimd user passwd' or 'popvimd init')")
    return value


def parse_users(table: Mapping[str, Any], where: str = "[users]") -> dict[str, User]:
    """The users of a ``[users]`` table; a ValueError says which entry is wrong and why."""
    users: dict[str, User] = {}
    for name, entry in table.items():
        if isinstance(entry, dict):
            unknown = sorted(set(entry) - {"password", "role"})
            if unknown:
                raise ValueError(f"{where}.{name}: unknown key {unknown[0]!r} (known: password, role)")
            role = entry.get("role", Role.ADMIN.value)
            if role not in {r.value for r in Role}:
                raise ValueError(f"{where}.{name}.role must be one of {', '.join(r.value for r in Role)}, not {role!r}")
            users[name] = User(_hash(entry.get("password"), f"{where}.{name}.password"), Role(role))
        else:
            users[name] = User(_hash(entry, f"user {name!r}"))
    return users


def users_table(users: Mapping[str, User]) -> dict[str, Any]:
    """The ``[users]`` table: admins in the short form every earlier popvimd reads too."""
    return {
        name: user.password_hash
        if user.role is Role.ADMIN
        else {"password": user.password_hash, "role": user.role.value}
        for name, user in sorted(users.items())
    }


def read_users_file(path: Path) -> dict[str, User]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    return parse_users(data.get("users") or {}, f"{path}: [users]")


def write_users_file(path: Path, users: Mapping[str, User]) -> None:
    """Replace the ``[users]`` table of ``path`` (other sections kept), atomically and 0600."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"cannot read {path}: {exc}") from exc
    data["users"] = users_table(users)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(tomli_w.dumps(data))
    os.replace(staging, path)


class UserDirectory:
    """The users a daemon knows: those of its file, re-read when the file changes, plus
    process-only ones (the orchestrator's), which always win over the file's."""

    def __init__(self, users: Mapping[str, User], path: Path | None = None) -> None:
        self._file_users = dict(users)
        self._own: dict[str, User] = {}
        self._path = path
        self._stamp = self._stat()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _stat(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = self._path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def get(self, name: str) -> User | None:
        return self._own.get(name) or self._file_users.get(name)

    def add(self, name: str, user: User) -> None:
        self._own[name] = user

    @property
    def names(self) -> list[str]:
        return sorted({*self._file_users, *self._own})

    def refresh_due(self) -> bool:
        """True when the next ``refresh`` would look at the file (I/O: not on the event loop)."""
        return self._path is not None and time.monotonic() - self._checked >= RELOAD_INTERVAL

    def refresh(self) -> list[str]:
        """Re-read the file if it changed (looked at once a second at most); returns the users
        whose tokens must end: deleted, or with a new password."""
        if self._path is None or time.monotonic() - self._checked < RELOAD_INTERVAL:
            return []
        with self._lock:
            if time.monotonic() - self._checked < RELOAD_INTERVAL:
                return []
            self._checked = time.monotonic()
            stamp = self._stat()
            if stamp == self._stamp or stamp is None:
                return []  # unchanged, or gone for a moment while being replaced
            try:
                fresh = read_users_file(self._path)
            except ValueError as exc:
                log.warning("users file not re-read, keeping the users known: %s", exc)
                return []
            self._stamp = stamp
            old, self._file_users = self._file_users, fresh
        ended = sorted(
            name
            for name, user in old.items()
            if (new := fresh.get(name)) is None or new.password_hash != user.password_hash
        )
        log.info("users re-read from %s: %d users; tokens ended for %s", self._path, len(fresh), ended or "nobody")
        return ended
