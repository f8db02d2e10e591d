"""What popvim's objects are called in OpenStack: ids, names, statuses, times, URLs.

popvim has users and roles but no projects: each PoP is one project (named as the PoP)
in one domain, ``Default``; every user of the PoP is a member of it with a Keystone role
for its popvim role (admin: admin, member, reader; operator: member, reader; reader:
reader), as Keystone's implied roles list them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import Request

from popvim.vim.users import Role

_NAMESPACE = uuid.UUID("8a4f6b8e-5f63-4c1f-9d2e-706f7076696d")
DOMAIN = {"id": "default", "name": "Default"}

KEYSTONE_ROLES: dict[Role, list[str]] = {
    Role.ADMIN: ["admin", "member", "reader"],
    Role.OPERATOR: ["member", "reader"],
    Role.READER: ["reader"],
}


def stable_id(kind: str, name: str) -> str:
    """An id that is the same on every call and every restart (users, projects, roles)."""
    return uuid.uuid5(_NAMESPACE, f"{kind}:{name}").hex


def project(pop_name: str) -> dict[str, object]:
    return {"id": stable_id("project", pop_name), "name": pop_name, "domain": DOMAIN}


def roles(role: Role) -> list[dict[str, str]]:
    return [{"id": stable_id("role", name), "name": name} for name in KEYSTONE_ROLES[role]]


def timestamp(moment: datetime | None, fraction: bool = False) -> str | None:
    """UTC in ISO 8601 with ``Z`` (popvim stores naive UTC; the engine's times are aware)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ")


def root(request: Request) -> str:
    """The URL clients reached this daemon at, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def image_id(docker_id: str) -> str:
    """A Glance-like UUID for a Docker image id (``sha256:<64 hex>``): its first 128 bits."""
    digest = docker_id.split(":", 1)[-1]
    try:
        return str(uuid.UUID(digest[:32]))
    except ValueError:
        return str(uuid.uuid5(_NAMESPACE, f"image:{docker_id}"))


def subnet_id(network_id: str) -> str:
    """A popvim network has one subnet; its id follows from the network's."""
    return str(uuid.uuid5(_NAMESPACE, f"subnet:{network_id}"))


def interface_id(container_id: str, network_id: str) -> str:
    """The port id of a container's interface that no reserved port stands for."""
    return str(uuid.uuid5(_NAMESPACE, f"interface:{container_id}:{network_id}"))
