"""Dependencies shared by the routes: the VIM, the caller's identity, and the role it needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from popvim.vim.service import Vim
from popvim.vim.users import Role

_bearer = HTTPBearer(auto_error=False, description="a token from POST /v1/auth/login")

# Methods that read only: a reader may call them, any other method is a change.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_vim(request: Request) -> Vim:
    return request.app.state.vim  # type: ignore[no-any-return]


VimDep = Annotated[Vim, Depends(get_vim)]


async def current_user(
    request: Request, vim: VimDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    """The caller, as the app's token middleware found it moments ago; checked here again only
    for an app without that middleware. Async and in memory: no thread-pool hop per request."""
    user: str | None = getattr(request.state, "user", None)
    if user is None:
        user = await run_in_threadpool(vim.auth.verify, credentials.credentials if credentials else None)
        request.state.user = user
    return user


async def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    return credentials.credentials if credentials else None


User = Annotated[str, Depends(current_user)]


def _what(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def needs(role: Role) -> Callable[..., Awaitable[str]]:
    """A dependency refusing (403 ``forbidden``) callers whose role is below ``role``."""

    async def dependency(request: Request, vim: VimDep, user: User) -> str:
        vim.auth.authorize(user, role, _what(request))
        return user

    return dependency


async def reads_or_operates(request: Request, vim: VimDep, user: User) -> str:
    """For routers of reads and changes alike: reading needs ``reader``, changing ``operator``."""
    vim.auth.authorize(user, Role.READER if request.method in READ_METHODS else Role.OPERATOR, _what(request))
    return user


READER = [Depends(needs(Role.READER))]
OPERATOR = [Depends(needs(Role.OPERATOR))]
ADMIN = [Depends(needs(Role.ADMIN))]
