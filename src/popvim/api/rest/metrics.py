"""GET /metrics (Prometheus text format, behind a token) and the REST request metrics.

Requests are labelled by the matched route's template (``/v1/containers/{ref}``),
never the raw path, so the series stay bounded however many containers there
are; a request that matched no route (404s, and 401s refused before routing)
is labelled ``other``.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from popvim.api.rest.deps import VimDep
from popvim.logtext import shown
from popvim.observe import logs, metrics

log = logging.getLogger("popvim.rest")

router = APIRouter(tags=["system"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def scrape(vim: VimDep) -> Response:
    """Prometheus metrics. Computed from the database and background samples only
    (never the engine; the per-container families are the sampler's text of its last
    pass), on a thread so that the event loop keeps serving."""
    body = await asyncio.get_running_loop().run_in_executor(None, vim.exposition.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Outermost, pure ASGI (streaming responses pass through untouched): gives the
    request its id (``X-Request-ID``, echoed in the answer), records it and writes its
    access-log line (refusals included); the duration is measured until the response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        recorded = False
        offered = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), None)
        rid = logs.new_request_id(offered)
        token = logs.request_id.set(rid)

        def record(status: int) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            route = scope.get("route")
            template = getattr(route, "path", None) or "other"
            method = scope.get("method", "")
            elapsed = time.perf_counter() - started
            metrics.HTTP_REQUEST_SECONDS.labels(method, template).observe(elapsed)
            metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
            _access_log(scope, method, route, status, elapsed * 1000)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(int(message["status"]))
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            record(500)
            raise
        finally:
            logs.request_id.reset(token)


def _access_log(scope: Scope, method: str, route: object, status: int, elapsed_ms: float) -> None:
    """The access-log line, written where the request is timed for the metrics anyway; the user
    is the one the token middleware (further in) put in the scope's state."""
    user = scope.get("state", {}).get("user", "-")
    log.info(
        "%s %s %d %.1fms user=%s",
        shown(method, 16),
        shown(scope.get("path", ""), 200),
        status,
        elapsed_ms,
        shown(user),
        extra={
            "method": method,
            "route": getattr(route, "path", None),
            "status": status,
            "duration_ms": round(elapsed_ms, 1),
            "user": user,
        },
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_middleware(RequestMetrics)
