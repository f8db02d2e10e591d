"""Token check for every Pop RPC, as a server interceptor.

Seed 001 4.2.1: a client logs in once and sends the token in the gRPC
metadata key ``token`` on every other call. Doing the check in an
interceptor means no RPC, present or added later (including server
reflection), can forget it; only Login and the standard health service are
public, because a client cannot have a token before Login and load balancers
probe health without one.

After the token, the caller's role: ``METHOD_ROLES`` says what each RPC
needs; an RPC missing from it needs admin, so one added later is closed
until someone decides. A role too low is PERMISSION_DENIED marked as
``forbidden`` in the trailing metadata, so that clients do not log in again.

The check runs inside the wrapped handler, i.e. on the worker thread pool,
not in ``intercept_service`` itself: gRPC calls interceptors on its polling
thread, where a database look-up would stall every other call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import grpc

from popvim.api.pop.errors import forbidden
from popvim.vim import errors as e
from popvim.vim.auth import AuthService
from popvim.vim.users import Role

if TYPE_CHECKING:  # generic only in the type stubs
    Handler = grpc.RpcMethodHandler[Any, Any]

log = logging.getLogger(__name__)
access = logging.getLogger("popvim.pop")

TOKEN_KEY = "token"
LOGIN_METHOD = "/vim_pop.Pop/Login"
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/",)
_POP = "/vim_pop.Pop/"
METHOD_ROLES: dict[str, Role] = {
    **{
        _POP + m: Role.READER
        for m in ("Containers", "Flavours", "Images", "Networks", "Info", "Logs", "Stats", "Logout", "Events")
    },
    **{
        _POP + m: Role.OPERATOR
        for m in ("Create", "Delete", "Metadata", "Start", "Stop", "CreateNetwork", "DeleteNetwork", "Pull", "Exec")
    },
}
READER_PREFIXES = ("/grpc.reflection.",)  # describing the service reveals no state


def needed_role(method: str) -> Role:
    if method.startswith(READER_PREFIXES):
        return Role.READER
    return METHOD_ROLES.get(method, Role.ADMIN)


def tokens_of(context: grpc.ServicerContext) -> list[str]:
    """Every value of the ``token`` metadata key (Logout invalidates them all)."""
    return [str(value) for key, value in (context.invocation_metadata() or ()) if key == TOKEN_KEY and value]


def is_public(method: str) -> bool:
    return method == LOGIN_METHOD or method.startswith(PUBLIC_PREFIXES)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Refuses calls without a valid token: none is UNAUTHENTICATED, unknown or expired is PERMISSION_DENIED;
    then calls the user's role does not allow: PERMISSION_DENIED marked ``forbidden``."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
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
        user = None
        try:
            for token in tokens:
                try:
                    user = self._auth.verify(token)
                    break
                except (e.PermissionDenied, e.Unauthenticated) as exc:
                    denial = exc.message
            if user is not None:
                self._auth.authorize(user, needed_role(method), method.rsplit("/", 1)[-1])
                return
        except e.Forbidden as exc:
            access.info("rpc=%s code=PERMISSION_DENIED message=%r", method.rsplit("/", 1)[-1], exc.message)
            forbidden(context, exc.code)
            context.abort(grpc.StatusCode.PERMISSION_DENIED, exc.message)
        except e.PermissionDenied as exc:  # the user went between verify and authorize
            denial = exc.message
        except Exception as exc:
            log.exception("token verification failed: %s", exc)
            context.abort(grpc.StatusCode.INTERNAL, "cannot verify the token; see the daemon's log")
        access.info("rpc=%s code=PERMISSION_DENIED message=%r", method.rsplit("/", 1)[-1], denial)
        context.abort(grpc.StatusCode.PERMISSION_DENIED, denial)


def _guarded(handler: Handler, check: Callable[[grpc.ServicerContext], None]) -> Handler:
    """The same handler, with ``check`` run first whatever its streaming kind."""

    def wrap(behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def checked(request_or_iterator: Any, context: grpc.ServicerContext) -> Any:
            check(context)
            return behaviour(request_or_iterator, context)

        return checked

    for kind in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
        behaviour = getattr(handler, kind)
        if behaviour is not None:
            # grpc's handlers are namedtuples: a copy with one behaviour wrapped
            return cast("Handler", handler._replace(**{kind: wrap(behaviour)}))  # type: ignore[attr-defined]
    return handler
