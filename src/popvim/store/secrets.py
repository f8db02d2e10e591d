"""Secrets kept at rest (registered PoPs' passwords), encrypted with a key of this install.

The key lives in the state directory (``secret.key``, mode 0600), not in the
database: a copy of the database alone (a backup, a PostgreSQL dump) does not
give the passwords away. Values carry a prefix, so clear values written by an
older popvim are recognised and encrypted at start.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

PREFIX = "fernet:"
KEY_FILE = "secret.key"


def _new_key() -> bytes:
    """A Fernet key (32 random bytes, urlsafe base64), made without importing cryptography."""
    return base64.urlsafe_b64encode(os.urandom(32))


class SecretBox:
    """Cryptography (~9 MiB resident) is imported when a secret is first sealed or opened, not at start."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._box: Fernet | None = None

    @property
    def _fernet(self) -> Fernet:
        if self._box is None:
            from cryptography.fernet import Fernet

            self._box = Fernet(self._key)
        return self._box

    @staticmethod
    def new_key() -> bytes:
        return _new_key()

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> SecretBox:
        """The install's key, made (0600) on first use."""
        path = state_dir / KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(path.read_bytes().strip())
        with os.fdopen(fd, "wb") as out:
            out.write(_new_key())
        return cls(path.read_bytes().strip())

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(PREFIX)

    def seal(self, clear: str) -> str:
        return PREFIX + self._fernet.encrypt(clear.encode()).decode()

    def open(self, value: str) -> str:
        """The clear value; a value written before encryption existed is returned as it is."""
        if not self.is_sealed(value):
            return value
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise ValueError(f"a stored secret cannot be decrypted with {KEY_FILE} (was the key replaced?)") from exc
