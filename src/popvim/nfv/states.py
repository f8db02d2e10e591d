"""The states the orchestrator records: of instances, of operations and of VNFCs.

String enums, so the database and the API keep the plain words they always had.
"""

from __future__ import annotations

from enum import StrEnum


class NsState(StrEnum):
    NOT_INSTANTIATED = "NOT_INSTANTIATED"
    INSTANTIATED = "INSTANTIATED"


class OpState(StrEnum):
    """An op occurrence is PROCESSING until it ends COMPLETED or FAILED."""

    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class Operation(StrEnum):
    INSTANTIATE = "INSTANTIATE"
    SCALE = "SCALE"
    HEAL = "HEAL"
    TERMINATE = "TERMINATE"


class VnfcState(StrEnum):
    """What a VNFC record says of its container.

    CREATING and HEALING are the orchestrator's own: it has asked the PoP and has
    no answer yet. MISSING: the PoP answered and does not list the container.
    The others are the container's status as the PoP last reported it.
    """

    CREATING = "CREATING"
    HEALING = "HEALING"
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    EXITED = "EXITED"
    FAILED = "FAILED"
    UNAVAILABLE = "UNAVAILABLE"
    MISSING = "MISSING"

    @classmethod
    def of_container(cls, status: str) -> VnfcState:
        """A PoP's container status; one this orchestrator does not know reads as UNAVAILABLE
        (neither dead nor alive, so the healer leaves it alone)."""
        try:
            return cls(status)
        except ValueError:
            return cls.UNAVAILABLE

    @property
    def dead(self) -> bool:
        """The container will not run again by itself: the healer replaces it."""
        return self in (VnfcState.EXITED, VnfcState.FAILED, VnfcState.MISSING)
