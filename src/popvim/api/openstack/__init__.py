"""The OpenStack face: Keystone v3, Nova v2.1, Neutron v2.0 and Glance v2 subsets on the REST
listener, over the same VIM, users, roles and policy as REST v1 and the Pop protocol."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from popvim.api.openstack import compute, errors, identity, image, network

ROUTERS: tuple[APIRouter, ...] = (identity.router, compute.router, network.router, image.router)

# Version discovery is public, as in OpenStack; so is asking for a token.
PUBLIC_PATHS = identity.DISCOVERY | compute.DISCOVERY | network.DISCOVERY | image.DISCOVERY

_SHAPES: dict[str, errors.Shape] = {
    identity.PREFIX: errors.identity_shape,
    compute.PREFIX: errors.compute_shape,
    network.PREFIX: errors.network_shape,
    image.PREFIX: errors.image_shape,
}


def face_of(path: str) -> str | None:
    """The OpenStack service prefix of ``path``, or None for popvim's own routes."""
    for prefix in _SHAPES:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return None


def is_public(method: str, path: str) -> bool:
    return path in PUBLIC_PATHS or (method == "POST" and path == identity.TOKENS)


def unauthorized(prefix: str, message: str) -> JSONResponse:
    """The refusal of the token middleware, in the service's shape."""
    return errors.answer(_SHAPES[prefix], 401, message)
