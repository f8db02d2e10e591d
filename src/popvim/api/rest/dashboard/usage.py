"""A container's recent CPU and memory, for the dashboard's chart.

Read from the VIM's background usage sampler only: a request never waits on
the engine, however many browsers watch however many containers.
"""

from __future__ import annotations

import itertools

from fastapi import APIRouter
from pydantic import BaseModel

from popvim.api.rest.deps import READER, VimDep
from popvim.vim.usage import HISTORY

router = APIRouter(tags=["containers"], dependencies=READER)


class UsagePoint(BaseModel):
    time: float
    cpu_percent: float
    memory_bytes: float
    memory_limit_bytes: float


class UsageHistory(BaseModel):
    container_id: str
    interval: float
    window_seconds: float
    points: list[UsagePoint]


@router.get("/v1/containers/{ref}/usage")
def usage_history(ref: str, vim: VimDep) -> UsageHistory:
    """CPU (percent of one core, between consecutive samples) and memory of the last
    minutes, oldest first; empty while the container does not run."""
    container_id = vim.containers.get(ref).id
    samples = vim.usage.history(container_id)
    points = []
    for (t0, u0), (t1, u1) in itertools.pairwise(samples):
        elapsed = t1 - t0
        cpu = max(0.0, (u1.cpu_seconds - u0.cpu_seconds) / elapsed * 100) if elapsed > 0 else 0.0
        points.append(
            UsagePoint(
                time=t1,
                cpu_percent=round(cpu, 2),
                memory_bytes=u1.memory_bytes,
                memory_limit_bytes=u1.memory_limit_bytes,
            )
        )
    return UsageHistory(
        container_id=container_id,
        interval=vim.usage.interval,
        window_seconds=HISTORY * vim.usage.interval,
        points=points,
    )
