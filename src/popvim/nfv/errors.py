"""Orchestrator errors; the REST face maps them like the VIM's."""

from __future__ import annotations

from popvim.client import PopError
from popvim.nfv.descriptors.model import DescriptorError


class NfvError(Exception):
    code = "nfv_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(NfvError):
    code = "not_found"


class Conflict(NfvError):
    """The instance's state (or another running operation) forbids the request."""

    code = "conflict"


class Invalid(NfvError):
    code = "invalid_request"


__all__ = ["Conflict", "DescriptorError", "Invalid", "NfvError", "NotFound", "describe"]


def describe(exc: BaseException) -> str:
    """An exception as an op occurrence's error: a PoP's status and message, else the message."""
    if isinstance(exc, PopError):
        return f"{exc.code.name}: {exc.message}"
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__
