"""Health, login, engine info, flavours, mesh and the event feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from popvim.api.rest.deps import VimDep, bearer_token, current_user
from popvim.vim.models import Flavour

public = APIRouter(tags=["auth"])
router = APIRouter(dependencies=[Depends(current_user)])


class LoginRequest(BaseModel):
    username: str = Field(..., min_length=1, max_length=128)
    password: str = Field(..., min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    token: str
    expires_at: datetime


class Health(BaseModel):
    status: str
    engine: str


@public.get("/health", tags=["system"])
def health(vim: VimDep) -> Health:
    """Liveness without a token: the daemon answers, and whether the engine does."""
    return Health(status="ok", engine="up" if vim.engine_alive() else "down")


@public.post("/v1/auth/login")
def login(body: LoginRequest, vim: VimDep) -> TokenResponse:
    token, expires = vim.auth.login(body.username, body.password)
    return TokenResponse(token=token, expires_at=expires)


@router.post("/v1/auth/logout", tags=["auth"], status_code=204)
def logout(vim: VimDep, token: Annotated[str | None, Depends(bearer_token)]) -> None:
    vim.auth.logout([token] if token else [])


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
def events(vim: VimDep, keepalive: Annotated[float, Query(gt=0, le=60)] = 15.0) -> StreamingResponse:
    """State changes as NDJSON, one object per line, until the client hangs up."""
    queue = vim.bus.subscribe()

    def lines() -> Iterator[str]:
        try:
            for event in vim.bus.iterate(queue, keepalive):
                if event is None:
                    yield "\n"
                    continue
                yield json.dumps(
                    {"kind": event.kind, "subject": event.subject, "time": event.time.isoformat(), **event.data},
                    default=str,
                ) + "\n"
        finally:
            vim.bus.unsubscribe(queue)

    return StreamingResponse(lines(), media_type="application/x-ndjson")
