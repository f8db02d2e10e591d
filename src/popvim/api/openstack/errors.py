"""Errors in each OpenStack service's own shape, so that keystoneauth, openstacksdk and the
``openstack`` command show the message (they read ``message`` one level down, or at the top).

Every OpenStack route uses a route class of this module: whatever a handler raises (a domain
error, a bad body, an unexpected failure) leaves it as that service's error, never as the
REST v1 shape and never as a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from popvim.api.rest.errors import status_of
from popvim.vim.errors import VimError

log = logging.getLogger(__name__)

Shape = Callable[[int, str], dict[str, Any]]


class OpenStackError(Exception):
    """An error the face itself raises, with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> OpenStackError:
    return OpenStackError(400, message)


def not_found(message: str) -> OpenStackError:
    return OpenStackError(404, message)


def conflict(message: str) -> OpenStackError:
    return OpenStackError(409, message)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# Nova's fault names (nova/api/openstack/wsgi.py).
_NOVA_FAULTS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
}


def compute_shape(status: int, message: str) -> dict[str, Any]:
    name = _NOVA_FAULTS.get(status, "computeFault")
    return {name: {"code": status, "message": message}}


def network_shape(status: int, message: str) -> dict[str, Any]:
    kind = "HTTP" + _title(status).replace(" ", "").replace("-", "")
    return {"NeutronError": {"type": kind, "message": message, "detail": ""}}


def identity_shape(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "title": _title(status), "message": message}}


def image_shape(status: int, message: str) -> dict[str, Any]:
    return {"code": status, "title": _title(status), "message": message}


def answer(shape: Shape, status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Keystone uri="/identity"'} if status == 401 else None
    return JSONResponse(shape(status, message), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError | ValidationError) -> str:
    parts = []
    for problem in exc.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {problem.get('msg', '')}")
    return "Invalid input: " + "; ".join(parts)


def to_response(shape: Shape, exc: Exception) -> JSONResponse:
    if isinstance(exc, OpenStackError):
        return answer(shape, exc.status, exc.message)
    if isinstance(exc, VimError):
        return answer(shape, status_of(exc), exc.message)
    if isinstance(exc, RequestValidationError | ValidationError):
        return answer(shape, 400, _validation_message(exc))
    if isinstance(exc, HTTPException):
        return answer(shape, exc.status_code, str(exc.detail))
    if isinstance(exc, UnicodeEncodeError):
        return answer(shape, 400, "text must be valid Unicode")
    log.exception("unexpected error on an OpenStack route: %s", exc)
    return answer(shape, 500, "internal error; see the daemon's log")


def route_class(shape: Shape) -> type[APIRoute]:
    """An APIRoute whose every failure is answered in ``shape``."""

    class Route(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def shaped(request: Request) -> Response:
                try:
                    return await handler(request)
                except Exception as exc:  # noqa: BLE001 - every failure gets the service's shape
                    return to_response(shape, exc)

            return shaped

    return Route
