"""Containers with the Pop lifecycle: create (CREATED), start, stop, delete, and
what a running one offers (exec, logs, stats, commit)."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from popvim.api.rest.deps import VimDep, reads_or_operates
from popvim.api.rest.streams import ReleasingStream
from popvim.vim.images import image_view, split_reference
from popvim.vim.models import PLAIN_TEXT, Container, ContainerConfig, ContainerState, ExecOutput, Image, Logs, Stats
from popvim.vim.service import Vim

router = APIRouter(prefix="/v1/containers", tags=["containers"], dependencies=[Depends(reads_or_operates)])


class ExecRequest(BaseModel):
    command: list[str] = Field(..., min_length=1, description="argv, e.g. ['ip', 'addr']")
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = Field(None, pattern=PLAIN_TEXT)
    timeout: float | None = Field(
        None,
        gt=0,
        description="seconds before the command is killed; [limits].exec_timeout (30) when omitted, "
        "at most [limits].exec_timeout_max (600)",
    )


class CommitRequest(BaseModel):
    repository: str = Field(..., min_length=1, max_length=256, pattern=PLAIN_TEXT, description="'name' or 'name:tag'")
    # Docker's tag grammar, whose \w is ASCII (Go's regexp); spelt out, since pydantic-core's Unicode \w
    # tables cost popvimd 12 MiB of resident memory for this one field
    tag: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    message: str | None = None
    author: str | None = None


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
    return vim.containers.create_and_start(body)


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
    ref: str,
    vim: VimDep,
    wait: Annotated[bool, Query(description="answer once EXITED or FAILED")] = False,
    keep_addresses: Annotated[bool, Query(description="hold the addresses while EXITED, for a restart")] = False,
) -> Container:
    """STOPPING at once; EXITED (or FAILED) when the engine has stopped it."""
    return vim.containers.stop(ref, wait=wait, keep_addresses=keep_addresses)


@router.post("/{ref}/restart")
def restart(
    ref: str,
    vim: VimDep,
    hard: Annotated[bool, Query(description="a running one is killed, not stopped, before it starts again")] = False,
) -> Container:
    """RUNNING again on the same engine container with the same addresses: a running container
    is rebooted (stopped, then started), an EXITED or FAILED one started again."""
    if vim.containers.get(ref).state is ContainerState.RUNNING:
        return vim.containers.reboot(ref, hard=hard)
    return vim.containers.restart(ref)


@router.post("/{ref}/exec")
async def exec_command(ref: str, body: ExecRequest, request: Request) -> ExecOutput:
    """Runs the command with a deadline and an output cap (the answer says when either cut it).

    The command runs on a pool of its own, never on the threads other requests
    need; when the client goes away before the end, the command is killed.
    """
    vim: Vim = request.app.state.vim
    user = getattr(request.state, "user", "-")
    bounds = vim.containers.exec_bounds(body.timeout)
    cancel = threading.Event()
    slots = vim.containers.exec_slots
    slots.take(user)  # 429 at once when too many run
    try:
        future = asyncio.get_running_loop().run_in_executor(
            _pool(request, "exec_pool", vim.settings.limits.execs),
            functools.partial(
                vim.containers.exec_held, ref, body.command, body.env, body.workdir, bounds=bounds, cancel=cancel
            ),
        )
    except BaseException:
        slots.give(user)
        raise
    future.add_done_callback(lambda _f: slots.give(user))  # the slot lasts as long as the command
    # The body is read: the next message is the client hanging up (``is_disconnected`` cannot
    # see it through the HTTP middlewares, which wrap ``receive`` in a task group).
    hang_up = asyncio.ensure_future(_disconnected(request))
    try:
        waiting: set[asyncio.Future[Any]] = {future, hang_up}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not future.done():
            cancel.set()
        return await future
    except asyncio.CancelledError:
        cancel.set()
        raise
    finally:
        hang_up.cancel()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.get("/{ref}/logs", response_model=None)
async def logs(
    ref: str,
    request: Request,
    tail: Annotated[
        int | None, Query(ge=0, le=1_000_000, description="lines; [limits].logs_tail (1000) when omitted")
    ] = None,
    timestamps: bool = False,
    follow: Annotated[
        bool, Query(description="stream the output as it comes (text/plain) until the client hangs up")
    ] = False,
) -> Logs | StreamingResponse:
    """The last lines of output, at most [limits].logs_bytes (1 MiB) of them; ``follow`` streams."""
    vim: Vim = request.app.state.vim
    if not follow:
        return await run_in_threadpool(vim.containers.logs, ref, tail, timestamps)
    user = getattr(request.state, "user", "-")
    vim.streams.take(user)
    try:
        stream = await run_in_threadpool(vim.containers.follow_logs, ref, tail, timestamps)
    except BaseException:
        vim.streams.give(user)
        raise
    pool = _pool(request, "follow_pool", vim.settings.limits.streams)

    async def chunks() -> AsyncIterator[bytes]:
        iterator = iter(stream)
        while True:
            chunk = await asyncio.get_running_loop().run_in_executor(pool, next, iterator, None)
            if chunk is None:
                return
            yield chunk

    def release() -> None:
        stream.close()  # unblocks the thread still reading, if any
        vim.streams.give(user)

    return ReleasingStream(chunks(), release, media_type="text/plain; charset=utf-8")


def _pool(request: Request, name: str, size: int) -> ThreadPoolExecutor:
    """A pool of the app's own for long calls, sized by the slots that admit them."""
    pool = getattr(request.app.state, name, None)
    if pool is None:
        pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"popvim-{name.split('_')[0]}")
        setattr(request.app.state, name, pool)
    return pool


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
