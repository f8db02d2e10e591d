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

from popvim.api.rest.deps import OPERATOR, VimDep, current_user
from popvim.vim.errors import InvalidArgument, NotFound, NotRunning
from popvim.vim.models import Container, ContainerConfig, ContainerState, Image, Network, NetworkConfig
from popvim.vim.service import Vim

# Reads (any role) and changes (operator) by what a route does, not its method: seed 000's
# GET /stop stops everything, its POST /inspectCont only reads.
router = APIRouter(tags=["seed 000 compatibility"], dependencies=[Depends(current_user)])

ONE_SHOT_TIMEOUT = 60.0


class PullBody(BaseModel):
    imagename: str = Field(..., min_length=1)


class CreateBody(BaseModel):
    imagename: str = Field(..., min_length=1)
    containername: str | None = None
    # Optional, as docker-py's containers.create() names them (the seed's "future work"); the same
    # validation and [policy] as /v1 apply.
    command: list[str] | str | None = None
    ports: dict[str, int | None] | None = None
    volumes: list[str] | None = None
    privileged: bool | None = None
    cap_add: list[str] | None = None

    def config(self, **extra: Any) -> ContainerConfig:
        """The /v1 request this body means; keys the client did not send keep /v1's defaults."""
        given = self.model_dump(exclude={"imagename", "containername"}, exclude_none=True)
        return ContainerConfig(image=self.imagename, name=self.containername, **given, **extra)


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
    parent: str | None = None  # macvlan/ipvlan
    options: dict[str, str] | None = None  # driver options, within [policy].network_options


class ExecBody(BaseModel):
    containername: str = Field(..., min_length=1)
    command: str | list[str]
    imagename: str | None = None


class MeshBody(BaseModel):
    interface: str


@router.get("/info")
def info(vim: VimDep) -> dict[str, Any]:
    engine: dict[str, Any] = vim.info()["engine"]
    return engine


@router.post("/pull", dependencies=OPERATOR)
def pull(body: PullBody, vim: VimDep) -> Image:
    return vim.images.pull_image(body.imagename)


@router.get("/Ilist")
def image_list(vim: VimDep) -> list[Image]:
    return vim.images.list()


@router.post("/create", status_code=201, dependencies=OPERATOR)
def create(body: CreateBody, vim: VimDep) -> Container:
    return vim.containers.create(body.config())


@router.post("/start", dependencies=OPERATOR)
def start(body: ContainerIdBody, vim: VimDep) -> Container:
    return vim.containers.start(body.containerid)


@router.post("/run", status_code=201, dependencies=OPERATOR)
def run(body: CreateBody, vim: VimDep) -> Container:
    return vim.containers.create_and_start(body.config())


@router.get("/Clist")
def container_list(vim: VimDep, all: bool = False) -> list[Container]:  # noqa: A002 - docker's flag name
    """Running containers, as ``docker ps``; ``?all=true`` for every state."""
    return vim.containers.list(state=None if all else ContainerState.RUNNING)


@router.post("/inspectCont")
def inspect(body: InspectBody, vim: VimDep) -> Container:
    return vim.containers.get(body.containerID)


@router.post("/networkcreate", status_code=201, dependencies=OPERATOR)
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
            parent=body.parent or None,
            options=body.options or {},
        )
    )


@router.post("/containerexec", dependencies=OPERATOR)
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
    created = vim.containers.create_and_start(config)
    finished = vim.containers.wait(created.id, ONE_SHOT_TIMEOUT)
    return {
        "container": finished.name,
        "state": finished.state,
        "exit_code": finished.exit_code,
        "output": vim.containers.logs(created.id).logs,
    }


@router.post("/stoponecont", dependencies=OPERATOR)
def stop_one(body: ContainerIdBody, vim: VimDep) -> Container:
    return vim.containers.stop(body.containerid, wait=True)


@router.get("/stop", dependencies=OPERATOR)
def stop_all(vim: VimDep) -> list[Container]:
    return vim.containers.stop_all()


@router.delete("/remove", dependencies=OPERATOR)
def remove(vim: VimDep) -> dict[str, list[str]]:
    return {"ContainersDeleted": vim.containers.prune()}


@router.post("/meshnet")
def meshnet(body: MeshBody, vim: VimDep) -> list[dict[str, Any]]:
    return vim.mesh.stations(body.interface)
