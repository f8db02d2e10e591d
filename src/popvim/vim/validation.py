"""Rules for user-given text that more than one entity or face checks, each in one place.

The pydantic models (``popvim.vim.models``) and the faces call these, so an
environment or a metadata entry is judged the same way whichever way it came.
"""

from __future__ import annotations

import re

from popvim.vim.errors import InvalidArgument

# Python's ``$`` also matches before a trailing newline: this pattern is used with fullmatch.
_ENV_KEY = re.compile(r"[^=\x00-\x1f\x7f]+")


def is_text(value: str) -> bool:
    """False for strings the engine and the database cannot store (lone surrogates, NUL)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def env_problem(env: dict[str, str], what: str) -> str | None:
    """What is wrong with an environment (or metadata, which becomes one), or None."""
    for key, value in env.items():
        if not _ENV_KEY.fullmatch(key) or not is_text(key):
            return f"{what} key {key!r} is not a valid environment variable name"
        if not is_text(value):
            return f"{what} value of {key!r} is not valid text"
    return None


def checked_env(env: dict[str, str], what: str = "env") -> dict[str, str]:
    problem = env_problem(env, what)
    if problem:
        raise InvalidArgument(problem)
    return env


def checked_metadata(entries: dict[str, str], what: str = "metadata") -> dict[str, str]:
    """Metadata changes: non-empty keys; an empty value deletes its key, so only others are checked."""
    if any(not key or not is_text(key) for key in entries):
        raise InvalidArgument(f"{what}: metadata keys must be non-empty text")
    checked_env({k: v for k, v in entries.items() if v != ""}, what)
    return entries
