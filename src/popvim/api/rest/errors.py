"""One error shape for every failure: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from popvim.api.rest.tarpit import Tarpit, spread
from popvim.nfv.descriptors.model import DescriptorError
from popvim.nfv.errors import Conflict, Invalid, NfvError
from popvim.nfv.errors import NotFound as NfvNotFound
from popvim.vim import errors as e

log = logging.getLogger(__name__)

REFUSAL_DELAY = 0.5  # seconds before a 429 answer, on average (a refused login: see tarpit.py)
REFUSAL_JITTER = 0.5  # the delay is spread over +-25 % of it


def status_of(exc: e.VimError) -> int:
    return e.answer_of(exc).http


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p != "body") or "body"


def install(app: FastAPI) -> None:
    logins = Tarpit(base=REFUSAL_DELAY, jitter=REFUSAL_JITTER)

    @app.exception_handler(e.VimError)
    async def vim_error(request: Request, exc: e.VimError) -> JSONResponse:
        if isinstance(exc, e.TooBusy):
            # A client refused for doing too much waits a moment (no thread is held): one that
            # retries in a tight loop would otherwise cost the daemon as much as it was refused.
            # Spread, so that clients refused together do not come back together: a flood's
            # retries in step arrive as bursts that everybody else queues behind.
            if isinstance(exc, e.LoginsRefused):
                await asyncio.sleep(logins.delay(request.client.host if request.client else ""))
            else:
                await asyncio.sleep(spread(REFUSAL_DELAY, REFUSAL_JITTER))
        headers = {"WWW-Authenticate": "Bearer"} if status_of(exc) == 401 else None
        extra = {"key": exc.key} if isinstance(exc, e.ForbiddenByPolicy) else {}
        return JSONResponse(error_body(exc.code, exc.message, **extra), status_code=status_of(exc), headers=headers)

    @app.exception_handler(NfvError)
    async def nfv_error(_request: Request, exc: NfvError) -> JSONResponse:
        status = {NfvNotFound: 404, Conflict: 409, Invalid: 422}.get(type(exc), 400)
        return JSONResponse(error_body(exc.code, exc.message), status_code=status)

    @app.exception_handler(DescriptorError)
    async def bad_descriptor(_request: Request, exc: DescriptorError) -> JSONResponse:
        problems = [{"path": p.path, "reason": p.reason} for p in exc.problems]
        return JSONResponse(error_body("invalid_descriptor", str(exc), problems=problems), status_code=422)

    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)  # a model built inside a route (seed 000 routes)
    async def invalid(_request: Request, exc: RequestValidationError | ValidationError) -> JSONResponse:
        problems = [{"path": _location(tuple(p.get("loc", ()))), "reason": p.get("msg", "")} for p in exc.errors()]
        message = "; ".join(f"{p['path']}: {p['reason']}" for p in problems)
        return JSONResponse(error_body("invalid_request", message, problems=problems), status_code=422)

    @app.exception_handler(UnicodeEncodeError)
    async def not_unicode(_request: Request, _exc: UnicodeEncodeError) -> JSONResponse:
        # JSON can carry lone surrogates (\ud800) that no database or engine accepts.
        return JSONResponse(error_body("invalid_argument", "text must be valid Unicode"), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthenticated",
            413: "payload_too_large",
            429: "too_many_requests",
        }.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error: %s", exc)
        return JSONResponse(error_body("internal_error", "internal error; see the daemon's log"), status_code=500)
