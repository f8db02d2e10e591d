"""Seed 000's routes, methods and JSON keys, answering JSON.

The seed answered with Python ``str()`` of docker-py objects; these answer
with the same views as ``/v1``, through the same service layer, and need a
token like every other route.
"""

from __future__ import annotations

import shlex
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from popvim.api.rest.deps import VimDep, current_user
from popvim.vim.errors import InvalidArgument, NotFound, NotRunning
from popvim.vim.models import Container, ContainerConfig, ContainerState, Image, Network, NetworkConfig
from popvim.vim.service import Vim

router = APIRouter(tags=["seed 000 compatibility"], dependencies=[Depends(current_user)])

ONE_SHOT_TIMEOUT = 60.0


class PullBody(BaseModel):
    imagename: str = Field(..., min_length=1)


class CreateBody(BaseModel):
    imagename: str = Field(..., min_length=1)
    containername: str | None = None


class ContainerIdBody(BaseModel):
    containerid: str = Field(..., min_length=1)


class InspectBody(BaseModel):
    containerID: str = Field(..., min_length=1)  # noqa: N815 - the seed's key


class NetworkBody(BaseModel):
    networkname: str
    subnet: str | None = None
    iprange: str | None = None
    gateway: str | None = None
    bridgename: str | None = None
    driver: str = "bridge"


class ExecBody(BaseModel):
    containername: str = Field(..., min_length=1)
    command: str | list[str]
    imagename: str | None = None


class MeshBody(BaseModel):
    interface: str


@router.get("/info")
def info(vim: VimDep) -> dict[str, Any]:
    return vim.info()["engine"]


@router.post("/pull")
def pull(body: PullBody, vim: VimDep) -> Image:
    return vim.images.pull_image(body.imagename)


@router.get("/Ilist")
def image_list(vim: VimDep) -> list[Image]:
    return vim.images.list()


@router.post("/create", status_code=201)
def create(body: CreateBody, vim: VimDep) -> Container:
    return vim.containers.create(ContainerConfig(image=body.imagename, name=body.containername))


@router.post("/start")
def start(body: ContainerIdBody, vim: VimDep) -> Container:
    return vim.containers.start(body.containerid)


@router.post("/run", status_code=201)
def run(body: CreateBody, vim: VimDep) -> Container:
    created = vim.containers.create(ContainerConfig(image=body.imagename, name=body.containername))
    return vim.containers.start(created.id)


@router.get("/Clist")
def container_list(vim: VimDep, all: bool = False) -> list[Container]:  # noqa: A002 - docker's flag name
    """Running containers, as ``docker ps``; ``?all=true`` for every state."""
    return vim.containers.list(state=None if all else ContainerState.RUNNING)


@router.post("/inspectCont")
def inspect(body: InspectBody, vim: VimDep) -> Container:
    return vim.containers.get(body.containerID)


@router.post("/networkcreate", status_code=201)
def network_create(body: NetworkBody, vim: VimDep) -> Network:
    """The seed sent every key, an empty string for one it did not mean to set."""
    return vim.networks.create(
        NetworkConfig(
            name=body.networkname,
            driver=body.driver,
            subnet=body.subnet or None,
            ip_range=body.iprange or None,
            gateway=body.gateway or None,
            bridge_name=body.bridgename or None,
        )
    )


@router.post("/containerexec")
def container_exec(body: ExecBody, vim: VimDep, request: Request) -> dict[str, Any]:
    """Runs ``command`` in the running container ``containername``; when there is
    none and ``imagename`` is given, runs a one-shot container of that image with
    the command, as the seed did, and answers its output."""
    argv = _argv(body.command)
    try:
        current = vim.containers.get(body.containername)
    except NotFound:
        current = None
    if current is not None and current.state is ContainerState.RUNNING:
        result = vim.containers.exec(current.id, argv, user=getattr(request.state, "user", "-"))
        return {"container": current.name, "exit_code": result.exit_code, "output": result.stdout + result.stderr}
    if current is not None:
        raise NotRunning(f"container {current.name!r} is {current.state.value}, not running")
    if not body.imagename:
        raise NotFound(f"no running container {body.containername!r} (give imagename to run one)")
    # Built here, not copied, so the name is validated like any other container's.
    config = ContainerConfig(image=body.imagename, name=body.containername, command=argv)
    with vim.containers.exec_slots.held(getattr(request.state, "user", "-")):  # it waits like an exec
        return _one_shot(vim, config)


def _argv(command: str | list[str]) -> list[str]:
    """The seed's command string split like a shell, or an argv list as given."""
    try:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
    except ValueError as exc:
        raise InvalidArgument(f"command cannot be split: {exc}") from exc
    if not argv or any("\x00" in a for a in argv):
        raise InvalidArgument("command must be a non-empty list of arguments without NUL bytes")
    return argv


def _one_shot(vim: Vim, config: ContainerConfig) -> dict[str, Any]:
    created = vim.containers.create(config)
    vim.containers.start(created.id)
    finished = vim.containers.wait(created.id, ONE_SHOT_TIMEOUT)
    return {
        "container": finished.name,
        "state": finished.state,
        "exit_code": finished.exit_code,
        "output": vim.containers.logs(created.id).logs,
    }


@router.post("/stoponecont")
def stop_one(body: ContainerIdBody, vim: VimDep) -> Container:
    return vim.containers.stop(body.containerid, wait=True)


@router.get("/stop")
def stop_all(vim: VimDep) -> list[Container]:
    return vim.containers.stop_all()


@router.delete("/remove")
def remove(vim: VimDep) -> dict[str, list[str]]:
    return {"ContainersDeleted": vim.containers.prune()}


@router.post("/meshnet")
def meshnet(body: MeshBody, vim: VimDep) -> list[dict[str, Any]]:
    return vim.mesh.stations(body.interface)
