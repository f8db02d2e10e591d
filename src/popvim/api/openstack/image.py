"""Glance v2 (a subset) under /image/v2: the engine's images, as ``container_format: docker``.

A Glance id is a UUID: an image's is the first 128 bits of its Docker id, so it is the same
on every call and every PoP that has the image. The image's name is its first tag.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from popvim.api.openstack import mapping
from popvim.api.openstack.common import AUTHORIZED, VimDep
from popvim.api.openstack.errors import OpenStackError, image_shape, not_found, route_class
from popvim.vim.models import ContainerState, Image
from popvim.vim.service import Vim

PREFIX = "/image"
router = APIRouter(prefix=PREFIX, tags=["openstack: image"], route_class=route_class(image_shape))
DISCOVERY = frozenset({PREFIX, f"{PREFIX}/", f"{PREFIX}/v2", f"{PREFIX}/v2/"})


def find_image(vim: Vim, ref: str) -> Image | None:
    """The image with this Glance id, Docker id (or its short form), name or tag."""
    for image in vim.images.list():
        short = image.id.split(":", 1)[-1]
        if ref in (mapping.image_id(image.id), image.id, short[:12], short) or ref in image.tags:
            return image
    return None


def _version(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.16",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": f"{mapping.root(request)}/image/v2/"}],
    }


@router.get("", include_in_schema=False)
@router.get("/")
@router.get("/versions", include_in_schema=False)
def versions(request: Request) -> dict[str, Any]:
    return {"versions": [_version(request)]}


@router.get("/v2", include_in_schema=False)
@router.get("/v2/")
def version(request: Request) -> dict[str, Any]:
    return {"versions": [_version(request)]}


def image_view(vim: Vim, image: Image) -> dict[str, Any]:
    glance_id = mapping.image_id(image.id)
    created = mapping.timestamp(image.created)
    return {
        "id": glance_id,
        "name": image.tags[0] if image.tags else image.id,
        "status": "active",
        "visibility": "public",
        "protected": False,
        "os_hidden": False,
        "container_format": "docker",
        "disk_format": "raw",
        "size": image.size,
        "virtual_size": None,
        "checksum": None,
        "os_hash_algo": "sha256",
        "os_hash_value": image.id.split(":", 1)[-1],
        "min_disk": 0,
        "min_ram": 0,
        "owner": mapping.project(vim.settings.pop_name)["id"],
        "tags": [],
        "created_at": created,
        "updated_at": created,
        "architecture": image.architecture or None,
        "os_type": image.os or None,
        "docker_id": image.id,
        "docker_tags": image.tags,
        "self": f"/v2/images/{glance_id}",
        "file": f"/v2/images/{glance_id}/file",
        "schema": "/v2/schemas/image",
    }


_FILTERS = ("name", "status", "visibility", "container_format", "disk_format", "id", "owner", "os_hidden")


@router.get("/v2/images", dependencies=AUTHORIZED)
def list_images(request: Request, vim: VimDep) -> dict[str, Any]:
    """Filters by the fields Glance filters by (exact values); the answer is one page."""
    views = [image_view(vim, image) for image in vim.images.list()]
    for key in _FILTERS:
        wanted = request.query_params.get(key)
        if wanted is not None:
            views = [v for v in views if str(v[key]).lower() == wanted.lower()]
    return {"images": views, "schema": "/v2/schemas/images", "first": "/v2/images"}


def _image(vim: Vim, ref: str) -> Image:
    found = find_image(vim, ref)
    if found is None:
        raise not_found(f"No image found with ID {ref}")
    return found


@router.get("/v2/images/{ref}", dependencies=AUTHORIZED)
def get_image(ref: str, vim: VimDep) -> dict[str, Any]:
    return image_view(vim, _image(vim, ref))


@router.delete("/v2/images/{ref}", status_code=204, dependencies=AUTHORIZED)
def delete_image(ref: str, vim: VimDep) -> Response:
    """Refused (409) while a container uses the image, as on REST v1."""
    image = _image(vim, ref)
    waiting = {c.name: c.image_id for c in vim.containers.list(state=ContainerState.CREATED)}
    vim.images.remove(image.id, force=False, waiting=waiting)
    return Response(status_code=204)


_SCHEMA_PROPERTIES = {
    key: {"type": ["null", "string"]}
    for key in ("id", "name", "status", "visibility", "container_format", "disk_format", "owner", "checksum")
}


@router.get("/v2/schemas/image", dependencies=AUTHORIZED)
def image_schema() -> dict[str, Any]:
    return {"name": "image", "additionalProperties": {"type": "string"}, "properties": _SCHEMA_PROPERTIES}


@router.get("/v2/schemas/images", dependencies=AUTHORIZED)
def images_schema() -> dict[str, Any]:
    return {
        "name": "images",
        "properties": {"images": {"type": "array", "items": {"name": "image", "properties": _SCHEMA_PROPERTIES}}},
    }


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], include_in_schema=False)
async def unknown(rest: str) -> JSONResponse:
    raise OpenStackError(404, f"the image API here has no /{rest} (a Glance v2 subset)")
