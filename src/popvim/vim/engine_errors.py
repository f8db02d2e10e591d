"""Typed engine errors to domain errors, for calls whose failures mean the same everywhere.

The driver has classified the failure already (``popvim.engine.errors``); this only
says what each class means to a user: a container the engine lost is NotFound, any
other refusal an ``EngineFailure`` carrying the engine's text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from popvim.engine.errors import EngineError, EngineNotFound
from popvim.vim.errors import EngineFailure, NotFound, VimError

T = TypeVar("T")


def domain_error(exc: EngineError) -> VimError:
    if isinstance(exc, EngineNotFound):
        return NotFound(f"the engine container is gone: {exc.message}")
    return EngineFailure(exc.message)


def engine_call(call: Callable[[], T]) -> T:
    try:
        return call()
    except EngineError as exc:
        raise domain_error(exc) from exc
