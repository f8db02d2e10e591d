"""The Pop client library: talks the Pop protocol to any popvimd; imports no domain code.

The names below are loaded on first use (PEP 562): gRPC and the protocol's messages cost a
``pop`` command about a third of its run time, and a command that fails on its arguments,
or only prints help, needs neither.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from popvim.client.defaults import DEFAULT_ADDRESS

if TYPE_CHECKING:
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
    from popvim.client.pop import EventStream, PopClient, filter_for
    from popvim.client.session import SESSIONS, Credentials

_WHERE = {
    **dict.fromkeys(
        (
            "AlreadyExists",
            "FailedPrecondition",
            "Forbidden",
            "InvalidArgument",
            "NotFound",
            "PermissionDenied",
            "PopError",
            "ResourceExhausted",
            "Unauthenticated",
            "Unavailable",
            "Unreachable",
        ),
        "errors",
    ),
    **dict.fromkeys(
        ("Container", "Event", "ExecResult", "Flavour", "Image", "Info", "Network", "PullProgress"), "models"
    ),
    "EventWatch": "events",
    "EventStream": "pop",
    "PopClient": "pop",
    "filter_for": "pop",
    "SESSIONS": "session",
    "Credentials": "session",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"popvim.client.{module}"), name)
    globals()[name] = value
    return value


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
