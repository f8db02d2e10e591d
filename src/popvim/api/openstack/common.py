"""What every OpenStack service module needs: the VIM, the caller, role checks, version documents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from popvim.vim.service import Vim
from popvim.vim.users import Role

READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_vim(request: Request) -> Vim:
    return request.app.state.vim  # type: ignore[no-any-return]


VimDep = Annotated[Vim, Depends(get_vim)]


def caller(request: Request) -> str:
    """The user the token middleware found for this request (X-Auth-Token or Bearer)."""
    user: str | None = getattr(request.state, "user", None)
    if user is None:  # an app without the middleware: nothing here is public
        from popvim.vim.errors import Unauthenticated

        raise Unauthenticated("The request you have made requires authentication.")
    return user


async def reads_or_operates(request: Request, vim: VimDep) -> str:
    """Reading needs popvim's ``reader`` role (Keystone ``reader``), changing ``operator`` (``member``)."""
    user = caller(request)
    needed = Role.READER if request.method in READS else Role.OPERATOR
    vim.auth.authorize(user, needed, f"{request.method} {request.url.path}")
    return user


AUTHORIZED = [Depends(reads_or_operates)]


def link(href: str, rel: str = "self") -> dict[str, str]:
    return {"rel": rel, "href": href}


def body_object(body: Any, key: str) -> dict[str, Any]:
    """``body[key]`` as a dict, or a 400 in the service's shape."""
    from popvim.api.openstack.errors import bad_request

    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad_request(f"the request body must be a JSON object with a {key!r} object")
    return body[key]  # type: ignore[no-any-return]
