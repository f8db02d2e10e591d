"""``POST /nslcm/v1/ns_instances/{ns_id}/loadtest``: load a VNF of a service and report (nfv/loadtest.py).

Synchronous on purpose: the answer is the report, after ``duration`` seconds
and the workers' start and removal (a worker thread waits meanwhile, so the
duration is bounded).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from popvim.api.rest.deps import reads_or_operates
from popvim.api.rest.routes.nfv import Nfv
from popvim.client import PopError
from popvim.nfv import loadtest
from popvim.nfv.errors import Conflict

router = APIRouter(dependencies=[Depends(reads_or_operates)])


class LoadTestBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    target: str = Field(..., min_length=1, max_length=128, description="the VNF to load")
    rate: float = Field(10.0, gt=0, le=loadtest.MAX_RATE, description="requests per second, all workers")
    duration: float = Field(10.0, gt=0, le=loadtest.MAX_DURATION, description="seconds")
    workers: int = Field(1, ge=1, le=loadtest.MAX_WORKERS, description="load-generator containers")
    path: str = Field("/", pattern=r"^/[\x21-\x7e]*$", max_length=512)
    port: int | None = Field(None, ge=1, le=65535, description="a load balancer's listen port, else 80")
    image: str | None = Field(None, max_length=256, description="the workers' image (with python3)")


@router.post("/nslcm/v1/ns_instances/{ns_id}/loadtest", tags=["nslcm"])
def run_loadtest(ns_id: str, body: LoadTestBody, nfv: Nfv) -> dict[str, Any]:
    """Start ``workers`` load generators against ``target`` for ``duration`` seconds, then remove them;
    answers requests/s, latency p50/p90/p99 and errors, in total and per backend."""
    request = loadtest.LoadTestRequest(**body.model_dump())
    try:
        return loadtest.run(nfv, ns_id, request).as_dict()
    except PopError as exc:
        raise Conflict(f"the load test could not run: {exc.code.name}: {exc.message}") from exc
