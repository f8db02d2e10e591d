"""Images: list, inspect, pull (optionally streaming progress), remove."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from popvim.api.rest.deps import VimDep, reads_or_operates
from popvim.api.rest.errors import error_body
from popvim.vim.errors import VimError
from popvim.vim.models import ContainerState, Image

router = APIRouter(prefix="/v1/images", tags=["images"], dependencies=[Depends(reads_or_operates)])


class PullRequest(BaseModel):
    image: str = Field(..., min_length=1, max_length=512, description="e.g. 'busybox:latest'")


@router.get("")
def list_images(vim: VimDep) -> list[Image]:
    return vim.images.list()


@router.post("/pull", response_model=None)
def pull(
    body: PullRequest,
    vim: VimDep,
    stream: Annotated[bool, Query(description="stream progress as NDJSON")] = False,
    accept: Annotated[str | None, Header()] = None,
) -> Image | StreamingResponse:
    """Pulls an image; with ``stream=true`` (or ``Accept: application/x-ndjson``) every
    progress message is a line, the last one ``{"status": "pulled", "image": ...}`` or
    ``{"error": {...}}``."""
    progress = vim.images.pull(body.image)  # a bad reference fails here, before streaming
    if stream or (accept or "").startswith("application/x-ndjson"):

        def lines() -> Iterator[str]:
            try:
                for message in progress:
                    yield json.dumps(message) + "\n"
            except VimError as exc:
                yield json.dumps(error_body(exc.code, exc.message)) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")
    *_, last = progress
    return Image(**last["image"])


@router.get("/{ref:path}")
def get_image(ref: str, vim: VimDep) -> Image:
    return vim.images.get(ref)


@router.delete("/{ref:path}", status_code=204)
def remove_image(ref: str, vim: VimDep, force: bool = False) -> None:
    """Refused (409) while a container uses the image, unless ``force``; that includes
    containers created but not started, which exist only in popvim's records."""
    waiting = {c.name: c.image_id for c in vim.containers.list(state=ContainerState.CREATED)}
    vim.images.remove(ref, force=force, waiting=waiting)
