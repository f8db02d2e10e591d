"""Where ``pop login`` keeps its tokens: one per PoP address, never a password.

With POP_AUTH, ``pop`` caches the token it logged in with under ``USER@HOST`` in the
same file, so the next command with the same credentials reuses it instead of
logging in again (a password check on the PoP and one more live token each time).
The entry also holds a salted scrypt digest of the password, so a POP_AUTH with
another password does not ride on the cached token: it logs in, and fails if wrong.

A token is a bearer credential, so the file is created 0600 inside a 0700
directory and replaced atomically (write a temporary file, then rename), so a
crash or a concurrent ``pop`` never leaves a half-written or world-readable file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/popvim``, else ``~/.config/popvim`` (the usual place on Linux)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "popvim"


def _password_check(password: str, token: str) -> str:
    """scrypt of the password salted with the token: a few milliseconds, so a copy of the file
    does not make guessing the password cheap."""
    return hashlib.scrypt(password.encode(), salt=token.encode(), n=2**10, r=8, p=1, dklen=32).hex()


def _cache_key(host: str, user: str) -> str:
    """Apart from the hosts' keys (``HOST:PORT``, no ``@``), so that POP_AUTH never replaces what
    ``pop login`` stored, nor ``pop logout`` a token POP_AUTH's user still uses."""
    return f"{user}@{host}"


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

    def get_for(self, host: str, user: str, password: str) -> str | None:
        """The token cached for POP_AUTH's ``user`` on ``host``, if it was obtained with ``password``."""
        entry = self._load().get(_cache_key(host, user))
        if not isinstance(entry, dict) or entry.get("user") != user:
            return None
        token, check = entry.get("token"), entry.get("password_check")
        if not isinstance(token, str) or not token or not isinstance(check, str):
            return None
        return token if hmac.compare_digest(check, _password_check(password, token)) else None

    def put_for(self, host: str, user: str, password: str, token: str) -> None:
        data = self._load()
        data[_cache_key(host, user)] = {
            "user": user,
            "token": token,
            "password_check": _password_check(password, token),
        }
        self._save(data)

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
        import tempfile  # (and shutil, random...) only when the file changes, not on every command

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
