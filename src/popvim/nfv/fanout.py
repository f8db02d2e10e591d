"""Running one step on many VNFCs at once, with a failure raised only after all have ended."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")


def parallel(pool: Executor, jobs: Iterable[J], fn: Callable[[J], R]) -> list[R]:
    """``fn`` on every job at once, results in job order; the first failure is raised after
    all have ended, so a rollback never races a job still running."""
    futures = [pool.submit(fn, job) for job in jobs]
    results: list[R] = []
    errors: list[Exception] = []
    for future in futures:
        try:
            results.append(future.result())
        except Exception as exc:  # noqa: BLE001 - collected, the first is raised below
            errors.append(exc)
    if errors:
        raise errors[0]
    return results
