"""Typed engine errors: the driver classifies every engine failure into one of these.

The classification happens once, in the driver that talks to the engine (by the
engine's status codes, never by its message text), so the domain branches on
the type alone. ``message`` is the engine's own text, for people to read.
"""

from __future__ import annotations


class EngineError(Exception):
    """The engine refused or failed for a reason none of the subclasses names."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class EngineUnavailable(EngineError):
    """The engine did not answer at all (connection refused, reset, timed out): whether the
    request took effect is unknown."""


EngineUnreachable = EngineUnavailable  # the older name, for drivers written against it


class EngineNotFound(EngineError):
    """The referenced object (image, container, network) does not exist (on the engine or its registry)."""


class EngineInvalid(EngineError):
    """The engine rejected the request's values."""


class EngineConflict(EngineError):
    """The object exists already or is in a state that forbids the request."""


class EngineRefused(EngineConflict):
    """The engine forbids the request as it stands (Docker's 403): a new network overlapping one it
    has, or using a bridge name it has. A conflict with the engine's own objects."""
