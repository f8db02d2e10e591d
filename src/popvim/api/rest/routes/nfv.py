"""The orchestrator over REST, shaped like ETSI SOL005 (nsd and nslcm), and the PoP registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool

from popvim.api.rest.deps import ADMIN, reads_or_operates
from popvim.nfv.errors import Invalid
from popvim.nfv.orchestrator import Orchestrator
from popvim.nfv.pops import Pop, PopConfig, PopHealth
from popvim.nfv.records import NsDescriptor, NsInstance, OpOcc

# Network services are an operator's; registering and removing PoPs an admin's.
router = APIRouter(dependencies=[Depends(reads_or_operates)])

MAX_DESCRIPTOR_BYTES = 1024 * 1024


def get_nfv(request: Request) -> Orchestrator:
    return request.app.state.nfv  # type: ignore[no-any-return]


Nfv = Annotated[Orchestrator, Depends(get_nfv)]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CreateInstance(_Camel):
    nsd_id: str = Field(..., min_length=1)
    ns_name: str | None = None


class ScaleRequest(_Camel):
    vnf_name: str = Field(..., min_length=1)
    direction: str = Field(..., pattern=r"^(out|in)$")
    steps: int = Field(1, ge=1, le=100)


class TerminateRequest(_Camel):
    force: bool = Field(False, description="treat unreachable or unregistered PoPs as cleaned up")


class HealRequest(_Camel):
    vnfc_instance_ids: list[str] = Field(default_factory=list, description="empty: every VNFC not RUNNING")


def _accepted(response: Response, op: OpOcc) -> OpOcc:
    response.status_code = 202
    response.headers["Location"] = f"/nslcm/v1/ns_lcm_op_occs/{op.id}"
    return op


# --- descriptors --------------------------------------------------------------
@router.post(
    "/nsd/v1/ns_descriptors",
    status_code=201,
    tags=["nsd"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object", "description": "Open Baton NSD"}},
                "application/yaml": {"schema": {"type": "string", "description": "TOSCA NFV template"}},
            },
        }
    },
)
async def onboard(request: Request, nfv: Nfv) -> NsDescriptor:
    """Onboards an Open Baton NSD (JSON) or a TOSCA NFV template (YAML); every problem of a
    bad descriptor is listed in the 422 answer."""
    body = await request.body()
    if len(body) > MAX_DESCRIPTOR_BYTES:
        raise Invalid("a descriptor must be at most 1 MiB")
    return await run_in_threadpool(nfv.onboard, body, request.headers.get("content-type"))


@router.get("/nsd/v1/ns_descriptors", tags=["nsd"])
def descriptors(nfv: Nfv) -> list[NsDescriptor]:
    return nfv.descriptors()


@router.get("/nsd/v1/ns_descriptors/{nsd_id}", tags=["nsd"])
def descriptor(nsd_id: str, nfv: Nfv) -> NsDescriptor:
    return nfv.descriptor(nsd_id)


@router.delete("/nsd/v1/ns_descriptors/{nsd_id}", status_code=204, tags=["nsd"])
def delete_descriptor(nsd_id: str, nfv: Nfv) -> None:
    nfv.delete_descriptor(nsd_id)


# --- instances ----------------------------------------------------------------
@router.post("/nslcm/v1/ns_instances", status_code=201, tags=["nslcm"])
def create_instance(body: CreateInstance, nfv: Nfv, response: Response) -> NsInstance:
    instance = nfv.create_instance(body.nsd_id, body.ns_name)
    response.headers["Location"] = f"/nslcm/v1/ns_instances/{instance.id}"
    return instance


@router.get("/nslcm/v1/ns_instances", tags=["nslcm"])
def instances(nfv: Nfv) -> list[NsInstance]:
    return nfv.instances()


@router.get("/nslcm/v1/ns_instances/{ns_id}", tags=["nslcm"])
def instance(ns_id: str, nfv: Nfv) -> NsInstance:
    return nfv.instance(ns_id)


@router.delete("/nslcm/v1/ns_instances/{ns_id}", status_code=204, tags=["nslcm"])
def delete_instance(ns_id: str, nfv: Nfv) -> None:
    nfv.delete_instance(ns_id)


@router.post("/nslcm/v1/ns_instances/{ns_id}/instantiate", status_code=202, tags=["nslcm"])
def instantiate(ns_id: str, nfv: Nfv, response: Response) -> OpOcc:
    return _accepted(response, nfv.instantiate(ns_id))


@router.post("/nslcm/v1/ns_instances/{ns_id}/scale", status_code=202, tags=["nslcm"])
def scale(ns_id: str, body: ScaleRequest, nfv: Nfv, response: Response) -> OpOcc:
    return _accepted(response, nfv.scale(ns_id, body.vnf_name, body.direction, body.steps))


@router.post("/nslcm/v1/ns_instances/{ns_id}/heal", status_code=202, tags=["nslcm"])
def heal(ns_id: str, nfv: Nfv, response: Response, body: HealRequest | None = None) -> OpOcc:
    return _accepted(response, nfv.heal(ns_id, body.vnfc_instance_ids if body else None))


@router.post("/nslcm/v1/ns_instances/{ns_id}/terminate", status_code=202, tags=["nslcm"])
def terminate(ns_id: str, nfv: Nfv, response: Response, body: TerminateRequest | None = None) -> OpOcc:
    return _accepted(response, nfv.terminate(ns_id, force=bool(body and body.force)))


@router.get("/nslcm/v1/ns_lcm_op_occs", tags=["nslcm"])
def ops(nfv: Nfv, nsInstanceId: str | None = None) -> list[OpOcc]:  # noqa: N803 - SOL005's name
    return nfv.ops(nsInstanceId)


@router.get("/nslcm/v1/ns_lcm_op_occs/{op_id}", tags=["nslcm"])
def op(op_id: str, nfv: Nfv) -> OpOcc:
    return nfv.op(op_id)


# --- PoPs ---------------------------------------------------------------------
@router.get("/v1/pops", tags=["pops"])
def pops(nfv: Nfv) -> list[Pop]:
    return nfv.pops.list()


@router.post("/v1/pops", status_code=201, tags=["pops"], dependencies=ADMIN)
def register_pop(body: PopConfig, nfv: Nfv) -> Pop:
    return nfv.pops.register(body)


@router.get("/v1/pops/{name}", tags=["pops"])
def pop(name: str, nfv: Nfv) -> Pop:
    return nfv.pops.get(name)


@router.get("/v1/pops/{name}/health", tags=["pops"])
def pop_health(name: str, nfv: Nfv) -> PopHealth:
    """Probes the PoP now (at most 2 s): whether it answers the orchestrator, and how fast."""
    nfv.pops.get(name)  # 404 for a PoP that is not registered
    return nfv.pops.probe(name)


@router.delete("/v1/pops/{name}", status_code=204, tags=["pops"], dependencies=ADMIN)
def unregister_pop(name: str, nfv: Nfv) -> None:
    nfv.pops.unregister(name)
