"""Readiness checks, the JSON log format and the metric helpers, in process."""

from __future__ import annotations

import json
import logging
import threading

from prometheus_client import REGISTRY

from popvim.observe import logs, metrics
from popvim.vim.readiness import Readiness


def test_a_hung_check_gives_a_reason_and_is_not_started_twice() -> None:
    release = threading.Event()
    calls: list[int] = []

    def hung() -> str | None:
        calls.append(1)
        release.wait(10)
        return None

    readiness = Readiness(timeout=0.2)
    readiness.add("engine", hung)
    readiness.add("database", lambda: None)
    readiness.add("controllers", lambda: "the NFV controllers are not running")
    try:
        assert readiness.report() == {
            "engine": "no answer within 0.2s",
            "database": "ok",
            "controllers": "the NFV controllers are not running",
        }
        assert readiness.report()["engine"] == "no answer within 0.2s"
        assert len(calls) == 1  # the second probe waited on the first, still hung, call
    finally:
        release.set()
        readiness.close()


def test_a_check_that_raises_is_a_reason() -> None:
    def broken() -> str | None:
        raise OSError("disk I/O error")

    readiness = Readiness()
    readiness.add("database", broken)
    try:
        assert readiness.report() == {"database": "OSError: disk I/O error"}
    finally:
        readiness.close()


def test_json_lines_carry_the_request_id_and_the_fields_given() -> None:
    formatter = logs.JsonFormatter()
    token = logs.request_id.set("req-1")
    try:
        record = logging.LogRecord("popvim.rest", logging.INFO, __file__, 1, "GET %s %d", ("/x", 200), None)
        record.route, record.status, record.user = "/v1/containers/{ref}", 200, "ops"
        entry = json.loads(formatter.format(record))
    finally:
        logs.request_id.reset(token)
    assert entry["event"] == "GET /x 200" and entry["level"] == "INFO" and entry["logger"] == "popvim.rest"
    assert entry["request_id"] == "req-1" and entry["route"] == "/v1/containers/{ref}" and entry["user"] == "ops"
    assert entry["time"].endswith("+00:00")
    assert "request_id" not in json.loads(formatter.format(record))  # outside the request


def test_a_client_request_id_is_kept_only_when_sane() -> None:
    assert logs.new_request_id("abc-123") == "abc-123"
    for bad in ("", "a b", "x" * 200, "evil\nline"):
        assert logs.new_request_id(bad) != bad


def test_operation_results_are_bounded_codes() -> None:
    class Refused(Exception):
        code = "invalid_state"

    assert metrics.result_of(Refused()) == "invalid_state"
    assert metrics.result_of(ValueError("x")) == "error"
    assert metrics.result_of(type("E", (Exception,), {"code": "no such thing, really"})()) == "error"


def test_engine_calls_are_timed_by_name_and_result() -> None:
    class Engine:
        def ping(self) -> bool:
            return True

        def stats(self, container_id: str) -> dict[str, float]:
            raise RuntimeError(container_id)

    def count(call: str, result: str) -> float:
        return (
            REGISTRY.get_sample_value("popvim_engine_call_duration_seconds_count", {"call": call, "result": result})
            or 0.0
        )

    engine = metrics.InstrumentedEngine(Engine())
    before_ok, before_error = count("ping", "ok"), count("stats", "error")
    assert engine.ping() is True
    try:
        engine.stats("c1")
    except RuntimeError:
        pass
    assert count("ping", "ok") == before_ok + 1
    assert count("stats", "error") == before_error + 1
