"""Health, login, engine info, flavours, mesh and the event feed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from popvim.api.rest.deps import User, VimDep, bearer_token, current_user
from popvim.api.rest.streams import ReleasingStream
from popvim.observe import metrics
from popvim.vim.events import Event
from popvim.vim.models import Flavour
from popvim.vim.service import Vim

public = APIRouter(tags=["auth"])
router = APIRouter(dependencies=[Depends(current_user)])


class LoginRequest(BaseModel):
    username: str = Field(..., min_length=1, max_length=128)
    password: str = Field(..., min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    token: str
    expires_at: datetime


class Identity(BaseModel):
    username: str
    role: str = Field(description="admin, operator or reader")


class Health(BaseModel):
    status: str
    engine: str


class _EngineProbe:
    """One engine ping at a time, on its own thread, shared by every /health call meanwhile.

    /health must answer while every worker thread is busy and while the engine
    hangs, so it never waits on the thread pool, and at most ``PROBE_WAIT`` on a ping.
    """

    PROBE_WAIT = 2.5

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="popvim-health")
        self._pending: asyncio.Future[bool] | None = None

    async def alive(self, vim: Vim) -> bool:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().run_in_executor(self._pool, vim.engine_alive)
        try:
            return await asyncio.wait_for(asyncio.shield(self._pending), self.PROBE_WAIT)
        except (TimeoutError, Exception):  # noqa: BLE001 - any failure of the probe means "down"
            return False


_probe = _EngineProbe()


@public.get("/health", tags=["system"])
async def health(request: Request) -> Health:
    """Liveness without a token: the daemon answers, and whether the engine does."""
    alive = await _probe.alive(request.app.state.vim)
    return Health(status="ok", engine="up" if alive else "down")


@public.post("/v1/auth/login")
async def login(body: LoginRequest, request: Request) -> TokenResponse:
    """Passwords are checked on a small pool of their own: a flood of logins waits there
    (or is refused, 429) and never takes the threads other requests need."""
    vim: Vim = request.app.state.vim
    client = request.client.host if request.client else ""
    token, expires = await asyncio.wrap_future(vim.auth.submit_login(body.username, body.password, client))
    return TokenResponse(token=token, expires_at=expires)


@router.post("/v1/auth/logout", tags=["auth"], status_code=204)
def logout(vim: VimDep, token: Annotated[str | None, Depends(bearer_token)]) -> None:
    vim.auth.logout([token] if token else [])


@router.get("/v1/auth/me", tags=["auth"])
def me(vim: VimDep, user: User) -> Identity:
    """Who the token belongs to, and that user's role."""
    return Identity(username=user, role=vim.auth.role_of(user).value)


@router.get("/v1/info", tags=["system"])
def info(vim: VimDep) -> dict[str, Any]:
    """This PoP and its engine (the engine's own ``info`` as JSON)."""
    return vim.info()


@router.get("/v1/flavours", tags=["flavours"])
def flavours(vim: VimDep) -> list[Flavour]:
    return vim.flavours.list()


@router.get("/v1/mesh/interfaces", tags=["mesh"])
def mesh_interfaces(vim: VimDep) -> list[dict[str, Any]]:
    """Wireless interfaces (``iw dev``), parsed."""
    return vim.mesh.interfaces()


@router.get("/v1/mesh/interfaces/{interface}/stations", tags=["mesh"])
def mesh_stations(interface: str, vim: VimDep) -> list[dict[str, Any]]:
    """Peers of a mesh or managed interface (``iw dev IF station dump``), parsed."""
    return vim.mesh.stations(interface)


@router.get("/v1/events", tags=["system"])
async def events(request: Request, keepalive: Annotated[float, Query(gt=0, le=60)] = 15.0) -> StreamingResponse:
    """State changes as NDJSON, one object per line, until the client hangs up.

    An asynchronous generator over the domain's bus: an open feed holds no
    thread. Each user may hold a few at once (429 beyond).
    """
    vim: Vim = request.app.state.vim
    user = getattr(request.state, "user", "-")
    vim.streams.take(user)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event] = asyncio.Queue(EVENT_BACKLOG)

    def deliver(event: Event) -> None:  # on the publisher's thread
        loop.call_soon_threadsafe(_offer, queue, event)

    stop = vim.bus.watch(deliver, backlog=queue.qsize)

    async def lines() -> AsyncIterator[str]:
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), keepalive)
            except TimeoutError:
                yield "\n"
                continue
            yield (
                json.dumps(
                    {"kind": event.kind, "subject": event.subject, "time": event.time.isoformat(), **event.data},
                    default=str,
                )
                + "\n"
            )

    def release() -> None:
        stop()
        vim.streams.give(user)

    return ReleasingStream(lines(), release, media_type="application/x-ndjson")


EVENT_BACKLOG = 1000


def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
    try:
        queue.put_nowait(event)
    except asyncio.QueueFull:  # a slow reader loses events rather than growing without bound
        metrics.EVENTS_DROPPED.inc()
