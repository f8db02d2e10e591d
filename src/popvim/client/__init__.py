"""The Pop client library: talks the Pop protocol to any popvimd; imports no domain code."""

from popvim.client.errors import (
    AlreadyExists,
    FailedPrecondition,
    Forbidden,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PopError,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unreachable,
)
from popvim.client.events import EventWatch
from popvim.client.models import Container, Event, ExecResult, Flavour, Image, Info, Network, PullProgress
from popvim.client.pop import DEFAULT_ADDRESS, EventStream, PopClient, filter_for
from popvim.client.session import SESSIONS, Credentials

__all__ = [
    "DEFAULT_ADDRESS",
    "SESSIONS",
    "AlreadyExists",
    "Container",
    "Credentials",
    "Event",
    "EventStream",
    "EventWatch",
    "ExecResult",
    "FailedPrecondition",
    "Flavour",
    "Forbidden",
    "Image",
    "Info",
    "InvalidArgument",
    "Network",
    "NotFound",
    "PermissionDenied",
    "PopClient",
    "PopError",
    "PullProgress",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unreachable",
    "filter_for",
]
