"""``POST /nslcm/v1/ns_instances/{ns_id}/loadtest``: load a VNF of a service and report (nfv/loadtest.py);
``GET .../loadtests``: the last reports; ``GET .../loadbalancer``: what its load balancers see (nfv/lbview.py).

Synchronous on purpose: the answer is the report, after ``duration`` seconds
and the workers' start and removal (a worker thread waits meanwhile, so the
duration is bounded).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from popvim.api.rest.deps import reads_or_operates
from popvim.api.rest.routes.nfv import Nfv
from popvim.client import PopError
from popvim.nfv import lbview, loadtest
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


@router.get("/nslcm/v1/ns_instances/{ns_id}/loadtests", tags=["nslcm"])
def loadtests(
    ns_id: str, nfv: Nfv, limit: Annotated[int, Query(ge=1, le=lbview.KEEP)] = lbview.KEEP
) -> list[lbview.LoadTest]:
    """The instance's last load tests (at most the last 10 are kept), newest first."""
    return nfv.views.load_tests(ns_id, limit)


@router.get("/nslcm/v1/ns_instances/{ns_id}/loadbalancer", tags=["nslcm"])
def load_balancer(ns_id: str, nfv: Nfv) -> lbview.LoadBalancerView:
    """Each load balancer of the instance with its backends as HAProxy sees them now (state UP,
    DOWN, DRAIN or MAINT; sessions; requests), each named with its VNFC, PoP and site."""
    return nfv.views.load_balancer(ns_id)
