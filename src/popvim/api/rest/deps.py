"""Dependencies shared by the routes: the VIM and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from popvim.vim.service import Vim

_bearer = HTTPBearer(auto_error=False, description="a token from POST /v1/auth/login")


def get_vim(request: Request) -> Vim:
    return request.app.state.vim  # type: ignore[no-any-return]


VimDep = Annotated[Vim, Depends(get_vim)]


def current_user(
    request: Request, vim: VimDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    user = vim.auth.verify(credentials.credentials if credentials else None)
    request.state.user = user
    return user


def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    return credentials.credentials if credentials else None


User = Annotated[str, Depends(current_user)]
