"""Domain errors to gRPC status codes, in one place.

The domain raises ``VimError`` subclasses and knows nothing of gRPC; the
code of each is in the table every face shares (``vim.errors.ANSWERS``),
and this module turns it into what a Pop client sees. Anything unexpected becomes INTERNAL
with a pointer to the daemon's log, never UNKNOWN and never a traceback on
the wire.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import grpc
from pydantic import ValidationError

from popvim.vim import errors as e

log = logging.getLogger(__name__)
access = logging.getLogger("popvim.pop")  # one line per call, like the REST face's popvim.rest

Code = grpc.StatusCode

# Trailing metadata key telling a refusal that a new login cannot cure (role, policy) from a
# refused token: both are PERMISSION_DENIED, as seed 001's reference answers a bad token.
ERROR_CODE_KEY = "popvim-error-code"

# Domain field names differ from the protocol's in a few places; errors speak the protocol's.
_PROTO_FIELD = {"image": "image_id", "flavour": "flavour_id", "metadata": "md", "mac_address": "endpoints.mac"}


class PopStatus(Exception):
    """A status decided by the face itself (a missing filter, a per-RPC refinement)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> PopStatus:
    return PopStatus(Code.INVALID_ARGUMENT, message)


def code_of(exc: e.VimError) -> grpc.StatusCode:
    """The status of the shared table (``vim.errors.ANSWERS``), refined by the state the error carries."""
    return grpc.StatusCode[e.answer_of(exc).grpc_for(exc)]


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for problem in exc.errors():
        loc = [str(p) for p in problem.get("loc", ())]
        if loc:
            loc[0] = _PROTO_FIELD.get(loc[0], loc[0])
        reason = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc) or 'request'}: {reason}")
    return "; ".join(parts)


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The code and message a client gets for ``exc``."""
    if isinstance(exc, PopStatus):
        return exc.code, exc.message
    if isinstance(exc, e.VimError):
        return code_of(exc), exc.message
    if isinstance(exc, ValidationError):
        return Code.INVALID_ARGUMENT, _validation_message(exc)
    log.exception("unexpected error in a Pop RPC: %s", exc)
    return Code.INTERNAL, "internal error; see the daemon's log"


def _log_call(method: str, started: float, code: grpc.StatusCode, message: str = "") -> None:
    elapsed = (time.perf_counter() - started) * 1000
    extra = {"method": method, "status": code.name, "duration_ms": round(elapsed, 1)}
    if message:
        access.info("rpc=%s code=%s %.1fms message=%r", method, code.name, elapsed, message, extra=extra)
    else:
        access.info("rpc=%s code=%s %.1fms", method, code.name, elapsed, extra=extra)


def forbidden(context: grpc.ServicerContext, code: str) -> None:
    """Mark a PERMISSION_DENIED as a refusal of the request, not of the token (clients do not re-login)."""
    context.set_trailing_metadata(((ERROR_CODE_KEY, code),))


def _abort(context: grpc.ServicerContext, exc: BaseException, method: str, started: float) -> NoReturn:
    code, message = status_for(exc)
    _log_call(method, started, code, message)
    if isinstance(exc, e.Forbidden):
        forbidden(context, exc.code)
    context.abort(code, message)
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


F = TypeVar("F", bound=Callable[..., Any])


def unary(method: F) -> F:
    """Turn any exception of a unary RPC into its status (``context.abort``).

    ``context.abort`` raises a bare ``Exception``, so it is called outside the
    ``try``: catching it again would turn every status into INTERNAL.
    """

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        started = time.perf_counter()
        try:
            result = method(self, request, context)
        except Exception as exc:  # noqa: BLE001 - mapped, and logged when unexpected
            failure = exc
        else:
            _log_call(method.__name__, started, Code.OK)
            return result
        _abort(context, failure, method.__name__, started)

    return wrapper  # type: ignore[return-value]


def streaming(method: F) -> F:
    """``unary`` for server-streaming RPCs: errors before or between messages end the stream with a status."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        started = time.perf_counter()
        try:
            yield from method(self, request, context)
        except Exception as exc:  # noqa: BLE001 - mapped, and logged when unexpected
            failure = exc
        else:
            _log_call(method.__name__, started, Code.OK)
            return
        _abort(context, failure, method.__name__, started)

    return wrapper  # type: ignore[return-value]
