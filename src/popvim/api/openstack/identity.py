"""Keystone v3 (a subset) under /identity: version discovery, password tokens with a
service catalog, token validation and revocation, the one project.

The tokens are popvim's own (POST /v1/auth/login hands out the same kind): the same
lifetime, the same revocation by ``popvimd user passwd|del``, usable as ``X-Auth-Token``
on every OpenStack route and as ``Authorization: Bearer`` on REST v1.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from popvim.api.openstack import mapping
from popvim.api.openstack.common import AUTHORIZED, VimDep, body_object, caller, link
from popvim.api.openstack.errors import OpenStackError, identity_shape, not_found, route_class
from popvim.vim.errors import BadCredentials, VimError
from popvim.vim.service import Vim

PREFIX = "/identity"
router = APIRouter(prefix=PREFIX, tags=["openstack: identity"], route_class=route_class(identity_shape))
DISCOVERY = frozenset({PREFIX, f"{PREFIX}/", f"{PREFIX}/v3", f"{PREFIX}/v3/"})
TOKENS = f"{PREFIX}/v3/auth/tokens"

_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


def _version(request: Request) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [link(f"{mapping.root(request)}{PREFIX}/v3/")],
        "media-types": _MEDIA,
    }


@router.get("", include_in_schema=False)
@router.get("/")
def versions(request: Request) -> dict[str, Any]:
    return {"versions": {"values": [_version(request)]}}


@router.get("/v3", include_in_schema=False)
@router.get("/v3/")
def version(request: Request) -> dict[str, Any]:
    return {"version": _version(request)}


def catalog(request: Request, region: str) -> list[dict[str, Any]]:
    """Every service of this face, at the address the client reached."""
    base = mapping.root(request)
    services = [
        ("identity", "keystone", f"{base}{PREFIX}"),
        ("compute", "nova", f"{base}/compute/v2.1"),
        ("network", "neutron", f"{base}/network"),
        ("image", "glance", f"{base}/image"),
    ]
    return [
        {
            "type": kind,
            "name": name,
            "id": mapping.stable_id("service", kind),
            "endpoints": [
                {
                    "id": mapping.stable_id("endpoint", f"{kind}:{interface}"),
                    "interface": interface,
                    "region": region,
                    "region_id": region,
                    "url": url,
                }
                for interface in ("public", "internal")
            ],
        }
        for kind, name, url in services
    ]


def _user(vim: Vim, spec: dict[str, Any]) -> str:
    """The popvim user a Keystone user reference names (by name or id, in domain Default)."""
    domain = spec.get("domain") or {}
    if domain and domain.get("id", "default") != "default" and domain.get("name", "Default") != "Default":
        raise OpenStackError(401, "The request you have made requires authentication.")
    if isinstance(spec.get("name"), str):
        return spec["name"]  # type: ignore[no-any-return]
    if isinstance(spec.get("id"), str):
        for name in vim.auth.usernames:
            if mapping.stable_id("user", name) == spec["id"] or name == spec["id"]:
                return name
    raise OpenStackError(401, "The request you have made requires authentication.")


def _check_scope(vim: Vim, scope: Any) -> bool:
    """True when the token is scoped to this PoP's project; 401 for any other scope."""
    if not scope:
        return False
    if scope == "unscoped":
        return False
    project = scope.get("project") if isinstance(scope, dict) else None
    if not isinstance(project, dict):
        raise OpenStackError(401, "only a project scope is offered (the PoP's project)")
    ours = mapping.project(vim.settings.pop_name)
    if project.get("id") not in (None, ours["id"]) or project.get("name") not in (None, ours["name"]):
        raise OpenStackError(401, f"unknown project; this PoP's project is {ours['name']!r}")
    return True


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def token_body(
    request: Request, vim: Vim, user: str, expires: datetime, scoped: bool, with_catalog: bool, methods: list[str]
) -> dict[str, Any]:
    issued = expires - timedelta(seconds=vim.settings.token_ttl_seconds)
    token: dict[str, Any] = {
        "methods": methods,
        "user": {
            "id": mapping.stable_id("user", user),
            "name": user,
            "domain": mapping.DOMAIN,
            "password_expires_at": None,
        },
        "audit_ids": [mapping.stable_id("audit", f"{user}:{issued.isoformat()}")[:22]],
        "expires_at": mapping.timestamp(expires, fraction=True),
        "issued_at": mapping.timestamp(issued, fraction=True),
    }
    if scoped:
        token["project"] = mapping.project(vim.settings.pop_name)
        token["is_domain"] = False
        token["roles"] = mapping.roles(vim.auth.role_of(user))
        if with_catalog:
            token["catalog"] = catalog(request, vim.settings.region)
    return {"token": token}


@router.post("/v3/auth/tokens", status_code=201)
def issue_token(
    request: Request,
    vim: VimDep,
    body: Annotated[Any, Body()] = None,
    nocatalog: str | None = None,
    x_auth_token: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Password auth (or re-scoping an existing token, which answers the same token)."""
    auth = body_object(body, "auth")
    identity = auth.get("identity")
    methods = identity.get("methods") if isinstance(identity, dict) else None
    if not isinstance(identity, dict) or not isinstance(methods, list) or not methods:
        raise OpenStackError(400, "auth.identity.methods must list 'password' or 'token'")
    scoped = _check_scope(vim, auth.get("scope"))
    if "password" in methods:
        password = _object(identity.get("password"))
        spec = _object(password.get("user"))
        secret = spec.get("password")
        if not isinstance(secret, str):
            raise OpenStackError(400, "auth.identity.password.user.password is required")
        user = _user(vim, spec)
        client = request.client.host if request.client else ""
        try:
            token, expires = vim.auth.login(user, secret, client)
        except BadCredentials as exc:
            raise OpenStackError(401, "The request you have made requires authentication.") from exc
        methods = ["password"]
    elif "token" in methods:
        spec = _object(identity.get("token"))
        token = spec.get("id") or x_auth_token or ""
        try:
            user, expires = vim.auth.expiry(token)
        except VimError as exc:
            raise OpenStackError(401, "The request you have made requires authentication.") from exc
        methods = ["token"]
    else:
        raise OpenStackError(401, "only the password and token methods are offered")
    answer = token_body(request, vim, user, expires, scoped, nocatalog is None, methods)
    return JSONResponse(answer, status_code=201, headers={"X-Subject-Token": token})


def _subject(vim: Vim, subject: str | None) -> tuple[str, datetime]:
    try:
        return vim.auth.expiry(subject)
    except VimError as exc:
        raise not_found("Could not find token") from exc


@router.get("/v3/auth/tokens", dependencies=AUTHORIZED)
def validate_token(
    request: Request,
    vim: VimDep,
    x_subject_token: Annotated[str | None, Header()] = None,
    nocatalog: str | None = None,
) -> JSONResponse:
    user, expires = _subject(vim, x_subject_token)
    answer = token_body(request, vim, user, expires, True, nocatalog is None, ["password"])
    return JSONResponse(answer, headers={"X-Subject-Token": x_subject_token or ""})


@router.head("/v3/auth/tokens", status_code=200, dependencies=AUTHORIZED)
def check_token(vim: VimDep, x_subject_token: Annotated[str | None, Header()] = None) -> Response:
    _subject(vim, x_subject_token)
    return Response(status_code=200)


@router.delete("/v3/auth/tokens", status_code=204)
def revoke_token(request: Request, vim: VimDep, x_subject_token: Annotated[str | None, Header()] = None) -> Response:
    """A user may revoke its own tokens; an admin anyone's."""
    user = caller(request)
    owner, _expires = _subject(vim, x_subject_token)
    if owner != user:
        from popvim.vim.users import Role

        vim.auth.authorize(user, Role.ADMIN, "revoking another user's token")
    vim.auth.logout([x_subject_token or ""])
    return Response(status_code=204)


@router.get("/v3/auth/catalog", dependencies=AUTHORIZED)
def get_catalog(request: Request, vim: VimDep) -> dict[str, Any]:
    return {"catalog": catalog(request, vim.settings.region), "links": {"self": str(request.url)}}


def _projects(request: Request, vim: Vim) -> dict[str, Any]:
    ours = dict(mapping.project(vim.settings.pop_name))
    ours.update(
        domain_id="default",
        enabled=True,
        is_domain=False,
        parent_id="default",
        description=f"the PoP {vim.settings.pop_name}",
        tags=[],
        links={"self": f"{mapping.root(request)}{PREFIX}/v3/projects/{ours['id']}"},
    )
    ours.pop("domain")
    return ours


@router.get("/v3/auth/projects", dependencies=AUTHORIZED)
@router.get("/v3/projects", dependencies=AUTHORIZED)
def list_projects(request: Request, vim: VimDep) -> dict[str, Any]:
    return {"projects": [_projects(request, vim)], "links": {"self": str(request.url), "next": None}}


@router.get("/v3/projects/{ref}", dependencies=AUTHORIZED)
def get_project(ref: str, request: Request, vim: VimDep) -> dict[str, Any]:
    project = _projects(request, vim)
    if ref not in (project["id"], project["name"]):
        raise not_found(f"Could not find project: {ref}.")
    return {"project": project}


@router.get("/v3/users/{ref}", dependencies=AUTHORIZED)
def get_user(ref: str, request: Request, vim: VimDep) -> dict[str, Any]:
    for name in vim.auth.usernames:
        if ref in (name, mapping.stable_id("user", name)):
            user_id = mapping.stable_id("user", name)
            return {
                "user": {
                    "id": user_id,
                    "name": name,
                    "domain_id": "default",
                    "enabled": True,
                    "password_expires_at": None,
                    "links": {"self": f"{mapping.root(request)}{PREFIX}/v3/users/{user_id}"},
                }
            }
    raise not_found(f"Could not find user: {ref}.")


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], include_in_schema=False)
async def unknown(rest: str) -> None:
    raise not_found(f"the identity API here has no /{rest} (a Keystone v3 subset)")


async def _run(call: Any, *args: Any) -> Any:
    return await run_in_threadpool(call, *args)
