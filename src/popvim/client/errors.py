"""The Pop protocol's failures as Python exceptions, one class per status code."""

from __future__ import annotations

import grpc


class PopError(Exception):
    """A call failed; ``code`` is the gRPC status, ``message`` the server's text."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


class InvalidArgument(PopError): ...


class NotFound(PopError): ...


class AlreadyExists(PopError): ...


class FailedPrecondition(PopError): ...


class PermissionDenied(PopError): ...


class Forbidden(PermissionDenied):
    """The PoP refused the request itself (the user's role, or the PoP's policy), not the token:
    logging in again cannot help. ``reason`` is ``forbidden`` or ``forbidden_by_policy``."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str = "forbidden") -> None:
        super().__init__(code, message)
        self.reason = reason


class Unauthenticated(PopError): ...


class ResourceExhausted(PopError): ...


class Unavailable(PopError): ...


class Unreachable(Unavailable):
    """The PoP could not be reached at all (refused, unresolvable, reset), as opposed to a
    server that answered UNAVAILABLE (e.g. Stop of a container that never started)."""


# gRPC reports transport failures as UNAVAILABLE, the same code the Pop protocol uses for
# some state errors; these phrases from gRPC core tell the two apart.
_TRANSPORT_PHRASES = (
    "failed to connect to all addresses",
    "errors resolving",
    "dns resolution failed",
    "connections to all backends failing",
    "socket closed",
    "connection reset",
    "connection refused",
    "failed to connect to remote host",
)


_BY_CODE: dict[grpc.StatusCode, type[PopError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}


ERROR_CODE_KEY = "popvim-error-code"  # trailing metadata popvimd sets on a Forbidden


def from_rpc_error(exc: grpc.RpcError) -> PopError:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else str(exc)
    if code == grpc.StatusCode.PERMISSION_DENIED and hasattr(exc, "trailing_metadata"):
        reason = next((str(m.value) for m in exc.trailing_metadata() or () if m.key == ERROR_CODE_KEY), "")
        if reason:
            return Forbidden(code, details or code.name, reason)
    if code == grpc.StatusCode.UNAVAILABLE and any(p in (details or "").lower() for p in _TRANSPORT_PHRASES):
        return Unreachable(code, details or code.name)
    return _BY_CODE.get(code, PopError)(code, details or code.name)
