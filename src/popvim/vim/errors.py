"""Domain errors.

Every face (REST, Pop gRPC) answers these with the status of the one table
here (``ANSWERS``), so the domain raises one of these and never an HTTP or
gRPC error. ``code`` is the stable, machine-readable name that REST puts in
``{error: {code, message}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from popvim.vim.states import ContainerState


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
    """The operation is not allowed in the entity's current state; ``state`` is that state
    (None for a non-container entity), so a face can answer without reading it again."""

    code = "invalid_state"

    def __init__(self, message: str, state: ContainerState | None = None) -> None:
        super().__init__(message)
        self.state = state


class AlreadyRunning(InvalidState):
    """Start of a container that has already been started (any state but CREATED)."""

    code = "already_started"


class NotRunning(InvalidState):
    """An operation that needs a running container, on one that is not (or was never) running."""

    code = "not_running"


class AlreadyStopped(InvalidState):
    """Stop of a container that is stopping or terminated."""

    code = "already_stopped"


class Unsupported(VimError):
    """This PoP's engine cannot do what is asked (REST 409, gRPC UNIMPLEMENTED): a restart on a
    cluster engine, which would re-create the unit elsewhere with other addresses."""

    code = "not_supported"


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


class LoginsRefused(TooBusy):
    """A login refused unchecked: its client or user failed too often lately, or too many wait."""


class PayloadTooLarge(VimError):
    """A request body or message is larger than this PoP accepts (REST 413)."""

    code = "payload_too_large"


@dataclass(frozen=True)
class Answer:
    """What every face answers for one error class: an HTTP status and a gRPC status name.

    The gRPC side is a name (``grpc.StatusCode[name]``) so the domain does not import grpc.
    ``grpc_by_state`` refines it by the container state the error carries.
    """

    http: int
    grpc: str
    grpc_by_state: Mapping[ContainerState, str] = field(default_factory=dict)

    def grpc_for(self, exc: VimError) -> str:
        state = getattr(exc, "state", None)
        return self.grpc_by_state.get(state, self.grpc) if state is not None else self.grpc


_PRECONDITION = "FAILED_PRECONDITION"

# The codes of the Pop protocol follow seed 001's reference server (docker-pop-server), so a
# client written for it branches on the same codes: Start of a RUNNING or EXITED container is
# ALREADY_EXISTS but of a FAILED or STOPPING one FAILED_PRECONDITION; Stop of a terminated one
# UNAVAILABLE but of a STOPPING one FAILED_PRECONDITION; a bad password INVALID_ARGUMENT.
# Lookup walks each exception's MRO, so a subclass without a row answers as its base.
ANSWERS: dict[type[VimError], Answer] = {
    InvalidArgument: Answer(400, "INVALID_ARGUMENT"),
    BadCredentials: Answer(401, "INVALID_ARGUMENT"),
    Unauthenticated: Answer(401, "UNAUTHENTICATED"),
    PermissionDenied: Answer(401, "PERMISSION_DENIED"),
    Forbidden: Answer(403, "PERMISSION_DENIED"),
    NotFound: Answer(404, "NOT_FOUND"),
    AlreadyExists: Answer(409, "ALREADY_EXISTS"),
    AlreadyRunning: Answer(
        409, "ALREADY_EXISTS", {ContainerState.FAILED: _PRECONDITION, ContainerState.STOPPING: _PRECONDITION}
    ),
    AlreadyStopped: Answer(409, "UNAVAILABLE", {ContainerState.STOPPING: _PRECONDITION}),
    InvalidState: Answer(409, _PRECONDITION),
    Unsupported: Answer(409, "UNIMPLEMENTED"),
    Exhausted: Answer(409, "RESOURCE_EXHAUSTED"),
    TooBusy: Answer(429, "RESOURCE_EXHAUSTED"),
    PayloadTooLarge: Answer(413, "RESOURCE_EXHAUSTED"),
    Unavailable: Answer(503, "UNAVAILABLE"),
    EngineFailure: Answer(502, "INTERNAL"),
}

_UNEXPECTED = Answer(500, "INTERNAL")


def answer_of(exc: VimError) -> Answer:
    for cls in type(exc).__mro__:
        found = ANSWERS.get(cls)
        if found is not None:
            return found
    return _UNEXPECTED
