"""Where ``pop login`` keeps its tokens: one per PoP address, never a password.

A token is a bearer credential, so the file is created 0600 inside a 0700
directory and replaced atomically (write a temporary file, then rename), so a
crash or a concurrent ``pop`` never leaves a half-written or world-readable file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/popvim``, else ``~/.config/popvim`` (the usual place on Linux)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "popvim"


@dataclass(frozen=True)
class StoredToken:
    user: str
    token: str


class TokenStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "tokens.json"

    def _load(self) -> dict[str, Any]:
        """The stored map; an unreadable or foreign file counts as empty so that ``pop login`` can repair it."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, host: str) -> StoredToken | None:
        entry = self._load().get(host)
        if isinstance(entry, dict) and isinstance(entry.get("token"), str) and entry["token"]:
            return StoredToken(user=str(entry.get("user", "")), token=entry["token"])
        return None

    def put(self, host: str, user: str, token: str) -> None:
        data = self._load()
        data[host] = {"user": user, "token": token}
        self._save(data)

    def remove(self, host: str) -> bool:
        data = self._load()
        if data.pop(host, None) is None:
            return False
        self._save(data)
        return True

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=2, sort_keys=True)
                out.write("\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
