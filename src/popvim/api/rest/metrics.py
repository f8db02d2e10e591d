"""GET /metrics (Prometheus text format, behind a token) and the REST request metrics.

Requests are labelled by the matched route's template (``/v1/containers/{ref}``),
never the raw path, so the series stay bounded however many containers there
are; a request that matched no route (404s, and 401s refused before routing)
is labelled ``other``.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from popvim.observe import metrics

router = APIRouter(tags=["system"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def scrape() -> Response:
    """Prometheus metrics. Computed from the database and background samples only
    (never the engine), on a thread so that the event loop keeps serving."""
    body = await asyncio.get_running_loop().run_in_executor(None, generate_latest, REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Pure ASGI, so streaming responses pass through untouched; the duration is
    measured until the response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        recorded = False

        def record(status: int) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            route = scope.get("route")
            template = getattr(route, "path", None) or "other"
            method = scope.get("method", "")
            metrics.HTTP_REQUEST_SECONDS.labels(method, template).observe(time.perf_counter() - started)
            metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            record(500)
            raise


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_middleware(RequestMetrics)
