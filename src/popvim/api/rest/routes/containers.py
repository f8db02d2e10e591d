"""Containers with the Pop lifecycle: create (CREATED), start, stop, delete, and
what a running one offers (exec, logs, stats, commit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from popvim.api.rest.deps import VimDep, current_user
from popvim.vim.images import image_view, split_reference
from popvim.vim.models import Container, ContainerConfig, ContainerState, ExecOutput, Image, Stats

router = APIRouter(prefix="/v1/containers", tags=["containers"], dependencies=[Depends(current_user)])


class ExecRequest(BaseModel):
    command: list[str] = Field(..., min_length=1, description="argv, e.g. ['ip', 'addr']")
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None


class CommitRequest(BaseModel):
    repository: str = Field(..., min_length=1, max_length=256, description="'name' or 'name:tag'")
    tag: str | None = Field(None, pattern=r"^[\w][\w.-]{0,127}$")
    message: str | None = None
    author: str | None = None


class Logs(BaseModel):
    logs: str


class Pruned(BaseModel):
    deleted: list[str]


@router.get("")
def list_containers(
    vim: VimDep,
    state: ContainerState | None = None,
    name: str | None = None,
    image: str | None = None,
    network: str | None = None,
    label: Annotated[str | None, Query(description="'key' or 'key=value'")] = None,
) -> list[Container]:
    return vim.containers.list(state=state, name=name, image=image, network=network, label=label)


@router.post("", status_code=201)
def create_container(body: ContainerConfig, vim: VimDep) -> Container:
    """Records the container and reserves its addresses (state CREATED); nothing runs yet."""
    return vim.containers.create(body)


@router.post("/run", status_code=201)
def run_container(body: ContainerConfig, vim: VimDep) -> Container:
    """Create and start in one call."""
    created = vim.containers.create(body)
    return vim.containers.start(created.id)


@router.post("/stop-all")
def stop_all(vim: VimDep) -> list[Container]:
    """Stops every running container of this PoP (others on the engine are left alone)."""
    return vim.containers.stop_all()


@router.post("/prune")
def prune(vim: VimDep) -> Pruned:
    """Deletes every EXITED or FAILED container of this PoP."""
    return Pruned(deleted=vim.containers.prune())


@router.get("/{ref}")
def get_container(ref: str, vim: VimDep) -> Container:
    return vim.containers.get(ref)


@router.delete("/{ref}", status_code=204)
def delete_container(ref: str, vim: VimDep) -> None:
    vim.containers.delete(ref)


@router.post("/{ref}/start")
def start(ref: str, vim: VimDep) -> Container:
    return vim.containers.start(ref)


@router.post("/{ref}/stop", status_code=202)
def stop(
    ref: str, vim: VimDep, wait: Annotated[bool, Query(description="answer once EXITED or FAILED")] = False
) -> Container:
    """STOPPING at once; EXITED (or FAILED) when the engine has stopped it."""
    return vim.containers.stop(ref, wait=wait)


@router.post("/{ref}/exec")
def exec_command(ref: str, body: ExecRequest, vim: VimDep) -> ExecOutput:
    return vim.containers.exec(ref, body.command, body.env, body.workdir)


@router.get("/{ref}/logs")
def logs(
    ref: str,
    vim: VimDep,
    tail: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    timestamps: bool = False,
) -> Logs:
    return Logs(logs=vim.containers.logs(ref, tail, timestamps))


@router.get("/{ref}/stats")
def stats(ref: str, vim: VimDep) -> Stats:
    return vim.containers.stats(ref)


@router.get("/{ref}/metadata")
def get_metadata(ref: str, vim: VimDep) -> dict[str, str]:
    return vim.containers.metadata(ref)


@router.patch("/{ref}/metadata")
def patch_metadata(ref: str, body: dict[str, str], vim: VimDep) -> dict[str, str]:
    """Merges the entries; an empty value deletes its key. Refused once started."""
    return vim.containers.update_metadata(ref, body)


@router.post("/{ref}/commit", status_code=201)
def commit(ref: str, body: CommitRequest, vim: VimDep) -> Image:
    repository, tag = split_reference(body.repository)
    image = vim.containers.commit(ref, repository, body.tag or tag, body.message, body.author)
    return image_view(image)
