"""Domain errors.

Every face (REST, Pop gRPC) maps these to its own status codes, so the domain
raises one of these and never an HTTP or gRPC error. ``code`` is the stable,
machine-readable name that REST puts in ``{error: {code, message}}``.
"""

from __future__ import annotations


class VimError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "vim_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(VimError):
    """The request itself is wrong (bad value, missing field)."""

    code = "invalid_argument"


class NotFound(VimError):
    code = "not_found"


class AlreadyExists(VimError):
    """A name or an address is taken."""

    code = "already_exists"


class InvalidState(VimError):
    """The operation is not allowed in the entity's current state."""

    code = "invalid_state"


class AlreadyRunning(InvalidState):
    """Start of a container that has already been started (seed 001: ALREADY_EXISTS)."""

    code = "already_started"


class NotRunning(InvalidState):
    """Stop of a container that is not running (seed 001: FAILED_PRECONDITION)."""

    code = "not_running"


class AlreadyStopped(InvalidState):
    """Stop of a container that is stopping or terminated (seed 001: UNAVAILABLE)."""

    code = "already_stopped"


class Exhausted(VimError):
    """No address or subnet is left."""

    code = "resource_exhausted"


class Unauthenticated(VimError):
    """No credentials were presented."""

    code = "unauthenticated"


class PermissionDenied(VimError):
    """Credentials were presented but are unknown or expired (REST 401: log in again)."""

    code = "permission_denied"


class Forbidden(VimError):
    """The caller is known, but its role does not allow the operation (REST 403).

    Apart from ``PermissionDenied`` because logging in again cannot help.
    """

    code = "forbidden"


class ForbiddenByPolicy(Forbidden):
    """The request asks for what this PoP's ``[policy]`` does not allow; ``key`` names the key."""

    code = "forbidden_by_policy"

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class BadCredentials(VimError):
    code = "bad_credentials"


class Unavailable(VimError):
    """A host facility the request needs is missing (for example ``iw``)."""

    code = "unavailable"


class EngineFailure(VimError):
    """The container engine refused or failed; the message is the engine's."""

    code = "engine_error"


class TooBusy(VimError):
    """A bound on concurrent or repeated work is reached (REST 429, gRPC RESOURCE_EXHAUSTED)."""

    code = "too_many_requests"


class PayloadTooLarge(VimError):
    """A request body or message is larger than this PoP accepts (REST 413)."""

    code = "payload_too_large"
