"""What is done to a started container on the engine: logs, exec, stats, commit."""

from __future__ import annotations

import threading

from popvim.engine.driver import EngineImage, ExecBounds, LogStream
from popvim.vim.containers.locks import get_row
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.state import check_running, check_started
from popvim.vim.engine_errors import engine_call
from popvim.vim.errors import InvalidArgument, NotRunning
from popvim.vim.models import ExecOutput, Logs, Stats
from popvim.vim.validation import checked_env, is_text


def _running_engine_id(parts: Parts, ref: str) -> str:
    with parts.store.session() as session:
        return check_running(get_row(session, ref))


def _engine_id(parts: Parts, ref: str) -> str | None:
    with parts.store.session() as session:
        return get_row(session, ref).engine_id


def logs(parts: Parts, ref: str, tail: int | None = None, timestamps: bool = False) -> Logs:
    """The last ``tail`` lines (the configured default when None), at most ``logs_bytes`` of them
    (the newest are kept; ``truncated`` says when older ones were cut)."""
    limits = parts.settings.limits
    engine_id = _engine_id(parts, ref)
    if not engine_id:
        return Logs(logs="", truncated=False)
    lines = limits.logs_tail if tail is None else tail
    stream = engine_call(lambda: parts.engine.logs_stream(engine_id, lines, timestamps, False))
    kept, truncated = bytearray(), False
    try:
        for chunk in stream:
            kept += chunk
            if len(kept) > limits.logs_bytes:
                del kept[: len(kept) - limits.logs_bytes]
                truncated = True
    finally:
        stream.close()
    return Logs(logs=bytes(kept).decode(errors="replace"), truncated=truncated)


def follow_logs(parts: Parts, ref: str, tail: int | None = None, timestamps: bool = False) -> LogStream:
    engine_id = _engine_id(parts, ref)
    if not engine_id:
        raise NotRunning(f"container {ref!r} has not been started: there is no output to follow")
    lines = parts.settings.limits.logs_tail if tail is None else tail
    return engine_call(lambda: parts.engine.logs_stream(engine_id, lines, timestamps, True))


def stats(parts: Parts, ref: str) -> Stats:
    engine_id = _running_engine_id(parts, ref)
    sample = engine_call(lambda: parts.engine.stats(engine_id))
    return Stats(
        cpu_percent=sample.cpu_percent,
        memory_usage=sample.memory_usage,
        memory_limit=sample.memory_limit,
        pids=sample.pids,
        rx_bytes=sample.rx_bytes,
        tx_bytes=sample.tx_bytes,
        read=sample.read,
    )


def exec_bounds(parts: Parts, timeout: float | None) -> ExecBounds:
    limits = parts.settings.limits
    if timeout is not None and not 0 < timeout <= limits.exec_timeout_max:
        raise InvalidArgument(f"timeout must be above 0 and at most {limits.exec_timeout_max:g} seconds")
    return ExecBounds(timeout=timeout or limits.exec_timeout, max_output=limits.exec_output_bytes)


def exec_held(
    parts: Parts,
    ref: str,
    command: list[str],
    env: dict[str, str] | None,
    workdir: str | None,
    *,
    bounds: ExecBounds,
    cancel: threading.Event | None = None,
) -> ExecOutput:
    if not command or not all(is_text(a) for a in command):
        raise InvalidArgument("command must be a non-empty list of text arguments")
    checked_env(env or {}, "env")
    engine_id = _running_engine_id(parts, ref)
    result = engine_call(lambda: parts.engine.exec(engine_id, command, env, workdir, bounds, cancel))
    return ExecOutput(
        exit_code=result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
        stdout_truncated=result.stdout_truncated,
        stderr_truncated=result.stderr_truncated,
        timed_out=result.timed_out,
    )


def _normalised(repository: str) -> str:
    """The name as the engine measures it: with its default registry (and ``library/``) when none is given."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return repository
    return f"docker.io/{repository}" if rest else f"docker.io/library/{repository}"


def commit(
    parts: Parts, ref: str, repository: str, tag: str | None, message: str | None, author: str | None
) -> EngineImage:
    if len(_normalised(repository)) > 255:  # the engine's own limit, said before anything is done
        raise InvalidArgument(f"repository name {repository[:40]!r}... is longer than the engine's 255 characters")
    with parts.store.session() as session:
        engine_id = check_started(get_row(session, ref), "there is nothing to commit")
    image = engine_call(lambda: parts.engine.commit(engine_id, repository, tag, message, author))
    parts.bus.publish("image.committed", image.id, container=ref, repository=repository, tag=tag or "latest")
    return image
