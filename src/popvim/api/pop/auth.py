"""Token check for every Pop RPC, as a server interceptor.

Seed 001 4.2.1: a client logs in once and sends the token in the gRPC
metadata key ``token`` on every other call. Doing the check in an
interceptor means no RPC, present or added later (including server
reflection), can forget it; only Login and the standard health service are
public, because a client cannot have a token before Login and load balancers
probe health without one.

The check runs inside the wrapped handler, i.e. on the worker thread pool,
not in ``intercept_service`` itself: gRPC calls interceptors on its polling
thread, where a database look-up would stall every other call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc

from popvim.vim import errors as e
from popvim.vim.auth import AuthService

log = logging.getLogger(__name__)
access = logging.getLogger("popvim.pop")

TOKEN_KEY = "token"
LOGIN_METHOD = "/vim_pop.Pop/Login"
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/",)


def tokens_of(context: grpc.ServicerContext) -> list[str]:
    """Every value of the ``token`` metadata key (Logout invalidates them all)."""
    return [str(value) for key, value in (context.invocation_metadata() or ()) if key == TOKEN_KEY and value]


def is_public(method: str) -> bool:
    return method == LOGIN_METHOD or method.startswith(PUBLIC_PREFIXES)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Refuses calls without a valid token: none is UNAUTHENTICATED, unknown or expired is PERMISSION_DENIED."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or is_public(handler_call_details.method):
            return handler
        method = handler_call_details.method
        return _guarded(handler, lambda context: self._check(context, method))

    def _check(self, context: grpc.ServicerContext, method: str) -> None:
        """Returns when one of the presented tokens is valid; aborts the call otherwise."""
        tokens = tokens_of(context)
        if not tokens:
            access.info("rpc=%s code=UNAUTHENTICATED", method.rsplit("/", 1)[-1])
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED, "a token is required: call Login and send it in metadata 'token'"
            )
        denial = "invalid token"
        try:
            for token in tokens:
                try:
                    self._auth.verify(token)
                    return
                except (e.PermissionDenied, e.Unauthenticated) as exc:
                    denial = exc.message
        except Exception as exc:  # noqa: BLE001 - e.g. the database is gone; never UNKNOWN
            log.exception("token verification failed: %s", exc)
            context.abort(grpc.StatusCode.INTERNAL, "cannot verify the token; see the daemon's log")
        access.info("rpc=%s code=PERMISSION_DENIED message=%r", method.rsplit("/", 1)[-1], denial)
        context.abort(grpc.StatusCode.PERMISSION_DENIED, denial)


def _guarded(handler: grpc.RpcMethodHandler, check: Callable[[grpc.ServicerContext], None]) -> grpc.RpcMethodHandler:
    """The same handler, with ``check`` run first whatever its streaming kind."""

    def wrap(behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def checked(request_or_iterator: Any, context: grpc.ServicerContext) -> Any:
            check(context)
            return behaviour(request_or_iterator, context)

        return checked

    for kind in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
        behaviour = getattr(handler, kind)
        if behaviour is not None:
            return handler._replace(**{kind: wrap(behaviour)})  # type: ignore[attr-defined, no-any-return]
    return handler
