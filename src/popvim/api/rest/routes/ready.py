"""Readiness for load balancers and orchestrators: public, like /health."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from popvim.vim.service import Vim

router = APIRouter(tags=["system"])


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str]


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(request: Request) -> JSONResponse:
    """200 when the engine answers, the database takes writes and the controllers run;
    503 otherwise, each check with "ok" or its reason. Runs off the request thread pool,
    so a busy PoP still answers its probe."""
    vim: Vim = request.app.state.vim
    checks = await asyncio.get_running_loop().run_in_executor(None, vim.readiness.report)
    body = Readiness(ready=all(v == "ok" for v in checks.values()), checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)
