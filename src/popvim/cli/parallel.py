"""Deleting many containers at once: ``pop delete '*'`` or several names.

One delete waits for the engine to kill and remove the container (a few hundred
milliseconds for a running one), so fifty of them one after another took over eight
seconds. A few at a time keep the PoP busy without flooding it: its Pop service
has a bounded thread pool, and each delete locks only its own container. Each
failure is reported with the container's name and the others go on; on a
terminal a progress bar shows how far it got.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from popvim.cli.output import Output
    from popvim.client import PopClient

WORKERS = 8  # deletes in flight at once: well under the PoP's 32 gRPC workers, so others' calls still get one


def delete_all(
    client: PopClient, targets: list[tuple[str, str]], out: Output, *, missing_ok: bool, workers: int = WORKERS
) -> dict[str, Any]:
    """Delete ``targets`` ((ref, name) pairs), ``workers`` at a time; ``{"deleted": [names]}`` in the
    order they went, plus ``"errors"`` ([{name, code, message}]) when some could not be deleted.
    ``missing_ok``: one already gone counts as neither (``'*'`` listed it just before someone else
    deleted it)."""
    from popvim.client import NotFound, PopError

    deleted: list[str] = []
    errors: list[dict[str, str]] = []
    if not targets:
        return {"deleted": deleted}
    with _Progress(out, len(targets)) as progress, ThreadPoolExecutor(min(workers, len(targets))) as pool:
        pending: dict[Future[None], str] = {pool.submit(client.delete, ref): name for ref, name in targets}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                name = pending.pop(future)
                try:
                    future.result()
                except NotFound as exc:
                    if not missing_ok:
                        errors.append(progress.failed(name, exc.code.name, exc.message))
                except PopError as exc:
                    errors.append(progress.failed(name, exc.code.name, exc.message))
                else:
                    deleted.append(name)
                    progress.deleted(name)
    outcome: dict[str, Any] = {"deleted": deleted}
    if errors:
        outcome["errors"] = errors
    return outcome


class _Progress:
    """``deleted NAME`` lines on stdout for people (none for --json/--yaml), a ``pop: NAME: CODE: message``
    line on stderr per failure, and on a terminal a bar on stderr while it lasts."""

    def __init__(self, out: Output, total: int) -> None:
        self.out = out
        self.total = total
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        if not self.out.machine and self.out.err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("deleting"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.out.err,
                transient=True,
            )
            self.task = self.bar.add_task("delete", total=self.total)
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def deleted(self, name: str) -> None:
        self._advance()
        if not self.out.machine:  # while the bar shows, rich redirects stdout so the line goes above it
            self.out.console.print(f"deleted {name}", markup=False, highlight=False)

    def failed(self, name: str, code: str, message: str) -> dict[str, str]:
        self._advance()
        line = f"pop: {name}: {code}: {message}"
        if self.bar is not None:
            self.bar.console.print(line, markup=False, highlight=False)
        else:
            self.out.err.print(line, markup=False, highlight=False, soft_wrap=True)
        return {"name": name, "code": code, "message": message}
