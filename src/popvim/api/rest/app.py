"""The REST face: FastAPI over the VIM, OpenAPI at /openapi.json, Swagger UI at /docs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from popvim import __version__
from popvim.api import openstack
from popvim.api.rest import dashboard, docs, errors, metrics
from popvim.api.rest.body_limit import BodyLimit
from popvim.api.rest.routes import compat, containers, images, links, networks, ready, system
from popvim.api.rest.routes import loadtest as loadtest_routes
from popvim.api.rest.routes import nfv as nfv_routes
from popvim.nfv.orchestrator import Orchestrator
from popvim.vim.errors import VimError
from popvim.vim.service import Vim

# Everything else needs a token. The API description is public: it holds no state.
# The dashboard's page and assets are public too; its data calls send the token.
PUBLIC_PATHS = (
    frozenset({"/health", "/ready", "/v1/auth/login", "/openapi.json"}) | docs.PUBLIC_PATHS | dashboard.PUBLIC_PATHS
)


class RequireToken:
    """Refuses a request without a valid token before anything reads its body, so that even a
    malformed request learns nothing but 401. Pure ASGI (no per-request task group or stream
    copy, as ``@app.middleware`` costs): under a flood every microsecond of the loop counts."""

    def __init__(self, app: ASGIApp, vim: Vim) -> None:
        self.app = app
        self.vim = vim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in PUBLIC_PATHS
            or openstack.is_public(scope["method"], scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        face = openstack.face_of(scope["path"])
        if face is not None and bearer is None:  # OpenStack clients send X-Auth-Token
            bearer = headers.get("x-auth-token")
        try:
            user = self.vim.auth.verify_cached(bearer) or await run_in_threadpool(self.vim.auth.verify, bearer)
        except VimError as exc:
            refusal = (
                openstack.unauthorized(face, exc.message)
                if face
                else JSONResponse(
                    errors.error_body(exc.code, exc.message), status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
            )
            await refusal(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user  # request.state.user
        await self.app(scope, receive, send)


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
        system.public,
        ready.router,
        system.router,
        images.router,
        containers.router,
        networks.router,
        links.router,
        nfv_routes.router,
        loadtest_routes.router,
        compat.router,
        *openstack.ROUTERS,
    ):
        app.include_router(router)

    app.add_middleware(RequireToken, vim=vim)
    # Outside every layer that could read a body, so that none does before it is counted.
    limits = vim.settings.limits
    app.add_middleware(BodyLimit, default=limits.body_bytes, per_path={"/v1/auth/login": limits.login_body_bytes})
    metrics.install(app)  # last, so outermost: every request gets an id and is counted, 401s too
    dashboard.install(app)  # its ticket middleware turns /v1/events/sse into /v1/events before all else
    return app
