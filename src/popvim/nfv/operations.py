"""The operation runner: every lifecycle operation is an op occurrence, run in the background.

The occurrence is recorded (PROCESSING) before the work starts, so the API can answer
at once with where to watch it. One operation at a time per instance: a second is
refused (Conflict) rather than interleaved. When the work ends the occurrence says
COMPLETED or FAILED (with why), and whoever waits on it is woken.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from popvim.nfv.errors import Conflict, NotFound, describe
from popvim.nfv.records import OpOcc, op_view
from popvim.nfv.rows import now, ns_row
from popvim.nfv.states import Operation, OpState
from popvim.observe import metrics
from popvim.store.db import Store
from popvim.store.nfv_models import NsInstanceRow, OpOccRow

log = logging.getLogger(__name__)

Check = Callable[[NsInstanceRow], None]
Work = Callable[[str], None]


class OperationRunner:
    def __init__(self, store: Store, workers: int = 4) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="popvim-nslcm")
        self._busy: set[str] = set()  # instance ids with an operation running
        self._running: set[str] = set()  # op occurrence ids not yet ended
        self._ended = threading.Condition()  # guards both sets; notified when an operation ends
        self._fail_interrupted()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _fail_interrupted(self) -> None:
        """Operations that were running when the daemon died are over: say so. After this,
        every PROCESSING occurrence is one this runner runs."""
        with self._store.session() as session:
            for op in session.scalars(select(OpOccRow).where(OpOccRow.state == OpState.PROCESSING)).all():
                op.state, op.error, op.finished_at = OpState.FAILED, "interrupted by a restart of popvimd", now()

    def launch(
        self,
        ns_id: str,
        operation: Operation,
        params: dict[str, Any],
        work: Work,
        automatic: bool = False,
        check: Check | None = None,
    ) -> OpOcc:
        """Record the occurrence and run ``work(ns id)`` in the background; ``check`` may
        refuse the operation (raise) from the instance as it is, under the runner's lock."""
        with self._ended:
            with self._store.session() as session:
                ns = ns_row(session, ns_id)  # a name or an id: _busy holds ids
                if ns.id in self._busy:
                    raise Conflict("another operation on this instance is in progress")
                if check:
                    check(ns)
                ns_id = ns.id
                row = OpOccRow(
                    id=str(uuid.uuid4()),
                    ns_id=ns_id,
                    operation=operation,
                    state=OpState.PROCESSING,
                    params=params,
                    automatic=automatic,
                    started_at=now(),
                )
                session.add(row)
            self._busy.add(ns_id)
            self._running.add(row.id)
        log.info("ns_lcm_op_occ %s %s ns=%s params=%s", row.id, operation, ns_id, params)

        def measured(ns: str) -> None:
            with metrics.lcm_operation(operation, automatic, params):
                work(ns)

        self._pool.submit(self._run, row.id, ns_id, measured)
        return op_view(row)

    def _run(self, op_id: str, ns_id: str, work: Work) -> None:
        state, error = OpState.COMPLETED, None
        try:
            work(ns_id)
        except Exception as exc:  # noqa: BLE001 - every failure is reported on the op occurrence
            state, error = OpState.FAILED, describe(exc)
            log.warning("ns_lcm_op_occ %s failed: %s", op_id, error)
        finally:
            try:
                with self._store.session() as session:
                    row = session.get(OpOccRow, op_id)
                    if row is not None:
                        row.state, row.error, row.finished_at = state, error, now()
            finally:  # whatever the database says, the instance must not stay busy
                with self._ended:
                    self._busy.discard(ns_id)
                    self._running.discard(op_id)
                    self._ended.notify_all()
        log.info("ns_lcm_op_occ %s %s", op_id, state)

    def ops(self, ns_id: str | None = None, last: int | None = None) -> list[OpOcc]:
        """Op occurrences, oldest first; ``last``: only the newest that many."""
        with self._store.session() as session:
            query = select(OpOccRow).order_by(OpOccRow.started_at.desc())
            if ns_id:
                query = query.where(OpOccRow.ns_id == ns_id)
            if last:
                query = query.limit(last)
            return [op_view(r) for r in reversed(session.scalars(query).all())]

    def op(self, op_id: str) -> OpOcc:
        with self._store.session() as session:
            row = session.get(OpOccRow, op_id)
            if row is None:
                raise NotFound(f"operation occurrence {op_id!r} not found")
            return op_view(row)

    def wait(self, op_id: str, timeout: float) -> OpOcc:
        """The occurrence once it has ended, or as it is after ``timeout`` seconds."""
        self.op(op_id)  # NotFound for an unknown id
        deadline = time.monotonic() + timeout
        with self._ended:
            self._ended.wait_for(lambda: op_id not in self._running, timeout=max(0.0, deadline - time.monotonic()))
        return self.op(op_id)

    def busy(self, ns_id: str) -> bool:
        with self._ended:
            return ns_id in self._busy

    @contextmanager
    def exclusive(self) -> Iterator[frozenset[str]]:
        """No operation starts or ends while the block runs; yields the busy instance ids."""
        with self._ended:
            yield frozenset(self._busy)
