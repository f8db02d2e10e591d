"""The REST face: FastAPI over the VIM, OpenAPI at /openapi.json, Swagger UI at /docs."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from popvim import __version__
from popvim.api.rest import docs, errors, metrics
from popvim.api.rest.body_limit import BodyLimit
from popvim.api.rest.routes import compat, containers, images, networks, ready, system
from popvim.api.rest.routes import nfv as nfv_routes
from popvim.logtext import shown
from popvim.nfv.orchestrator import Orchestrator
from popvim.vim.errors import VimError
from popvim.vim.service import Vim

log = logging.getLogger("popvim.rest")

# Everything else needs a token. The API description is public: it holds no state.
PUBLIC_PATHS = frozenset({"/health", "/ready", "/v1/auth/login", "/openapi.json"}) | docs.PUBLIC_PATHS


def create_app(vim: Vim, nfv: Orchestrator) -> FastAPI:
    app = FastAPI(
        title="popvim",
        docs_url=None,
        redoc_url=None,
        version=__version__,
        description="A Virtualised Infrastructure Manager that runs VNFs as containers. "
        "Log in with POST /v1/auth/login, then send `Authorization: Bearer <token>`.",
    )
    app.state.vim = vim
    app.state.nfv = nfv
    errors.install(app)
    docs.install(app)
    for router in (
        system.public, ready.router, system.router, images.router, containers.router, networks.router, nfv_routes.router,
        compat.router,
    ):
        app.include_router(router)

    @app.middleware("http")
    async def require_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Refuse a request without a valid token before anything reads its body, so that
        even a malformed request learns nothing but 401."""
        if request.url.path not in PUBLIC_PATHS:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            try:
                request.state.user = await run_in_threadpool(
                    vim.auth.verify, token.strip() if scheme.lower() == "bearer" else None
                )
            except VimError as exc:
                return JSONResponse(errors.error_body(exc.code, exc.message), status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        elapsed, user = (time.perf_counter() - started) * 1000, getattr(request.state, "user", "-")
        route = getattr(request.scope.get("route"), "path", None)
        log.info(
            "%s %s %d %.1fms user=%s",
            shown(request.method, 16),
            shown(request.url.path, 200),
            response.status_code,
            elapsed,
            shown(user),
            extra={"method": request.method, "route": route, "status": response.status_code,
                   "duration_ms": round(elapsed, 1), "user": user},
        )
        return response

    # Outside every layer that could read a body, so that none does before it is counted.
    limits = vim.settings.limits
    app.add_middleware(BodyLimit, default=limits.body_bytes, per_path={"/v1/auth/login": limits.login_body_bytes})
    metrics.install(app)  # last, so outermost: every request gets an id and is counted, 401s too
    return app
