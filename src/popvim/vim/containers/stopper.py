"""Stops finished in the background: Stop answers once STOPPING, the engine call follows.

A stop the engine did not answer leaves the container STOPPING with its addresses
held (whether it still runs is unknown); reconciliation finishes it later.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from popvim.engine.errors import EngineError, EngineNotFound, EngineUnavailable
from popvim.store.models import ContainerRow
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.state import STOPPED_KEEPING, STOPPING_KEEPING, keeps_addresses, transition
from popvim.vim.errors import NotFound
from popvim.vim.states import ContainerState

log = logging.getLogger("popvim.vim.containers")
S = ContainerState


class Stopper:
    def __init__(self, parts: Parts, workers: int = 8) -> None:
        self._parts = parts
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="popvim-stop")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def finish_later(self, container_id: str, engine_id: str | None) -> Future[None]:
        """Stops the engine container, then records EXITED (or FAILED)."""
        return self._pool.submit(self._finish, container_id, engine_id)

    def stop_engine_container(self, engine_id: str) -> None:
        """Stops an engine container nobody waits for (one the engine restarted by its policy)."""
        self._pool.submit(self._parts.engine.stop_container, engine_id, self._parts.settings.stop_timeout_seconds)

    def _finish(self, container_id: str, engine_id: str | None) -> None:
        try:
            self._stop(container_id, engine_id)
        except NotFound:
            pass  # deleted meanwhile
        except Exception:
            log.exception("finishing the stop of %s failed; it stays STOPPING until reconciled", container_id)

    def _stop(self, container_id: str, engine_id: str | None) -> None:
        engine, locks = self._parts.engine, self._parts.locks
        final, status, code = S.EXITED, "stopped", None
        if engine_id:
            try:
                engine.stop_container(engine_id, self._parts.settings.stop_timeout_seconds)
            except EngineNotFound:
                status = "stopped (the engine container was gone)"
            except EngineUnavailable as exc:
                self._pending(container_id, exc)
                return
            except EngineError as exc:
                final, status = S.FAILED, f"stop failed: {exc.message}"
            try:
                current = engine.container(engine_id)
                code = current.exit_code
                if current.running:
                    # Still running: its addresses are still in use, so it stays STOPPING
                    # (Delete removes it by force; the next reconcile stops it again).
                    with locks.locked_row(container_id) as (_session, row):
                        row.extended_status = _keeping(row, f"{status}; the container still runs")
                    return
            except EngineUnavailable as exc:
                self._pending(container_id, exc)
                return
            except EngineError:
                pass
        with locks.locked_row(container_id) as (_session, row):
            if row.state == S.STOPPING.value:
                # Stopped to run again (and it can: its engine container is there): addresses stay held.
                keep = keeps_addresses(row) and final is S.EXITED and status == "stopped"
                transition(row, final, STOPPED_KEEPING if keep else status, self._parts.bus, code, keep_addresses=keep)

    def _pending(self, container_id: str, exc: EngineError) -> None:
        log.warning("stop of %s pending: %s", container_id, exc.message)
        with self._parts.locks.locked_row(container_id) as (_session, row):
            if row.state == S.STOPPING.value:
                row.extended_status = _keeping(
                    row, "stopping: the engine is unreachable; the stop finishes when it answers"
                )


def _keeping(row: ContainerRow, status: str) -> str:
    """``status``, still marked as a stop that keeps the addresses when it was one."""
    return f"{STOPPING_KEEPING}; {status}" if keeps_addresses(row) else status
