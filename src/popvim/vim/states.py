"""The container states of seed 001's Pop lifecycle (its figure of the lifecycle, Fig. 4.3).

Apart from ``models`` so that errors can carry a state without importing pydantic.
"""

from __future__ import annotations

from enum import StrEnum


class ContainerState(StrEnum):
    """The Pop protocol traverses each state at most once; EXITED and FAILED are terminal
    (only ``vim.containers.restarter`` leads from them back to RUNNING)."""

    UNAVAILABLE = "UNAVAILABLE"
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    EXITED = "EXITED"
    FAILED = "FAILED"
    STOPPING = "STOPPING"

    @property
    def terminal(self) -> bool:
        return self in (ContainerState.EXITED, ContainerState.FAILED)
