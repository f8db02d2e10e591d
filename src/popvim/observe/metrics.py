"""The daemon's Prometheus metrics, in one place so that names stay consistent.

Naming follows Prometheus: one ``popvim_`` prefix, base units (seconds, bytes),
counters end in ``_total`` (prometheus_client adds it), and every label has a
bounded set of values: operation names, result codes, route templates (never
raw paths), gRPC method names. Per-container series are bounded by the PoP's
containers, as in cAdvisor.

Every layer records here; this module imports nothing of popvim, so ``vim``,
``nfv`` and the faces may all use it without breaking the layering.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram

F = TypeVar("F", bound=Callable[..., Any])

# Engine calls are mostly milliseconds; lifecycle operations and LCM operations take seconds.
FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SLOW = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

CONTAINER_OPERATIONS = Counter(
    "popvim_container_operations",
    "Container lifecycle operations by operation and result (ok, or the error code such as CONFLICT or NOT_FOUND).",
    ["operation", "result"],
)
CONTAINER_OPERATION_SECONDS = Histogram(
    "popvim_container_operation_duration_seconds",
    "Duration of container lifecycle operations.",
    ["operation"],
    buckets=SLOW,
)
CONTAINER_TRANSITIONS = Counter(
    "popvim_container_transitions",
    "Container state changes by the state entered (a container that dies or is killed enters EXITED or FAILED).",
    ["state"],
)
ENGINE_CALL_SECONDS = Histogram(
    "popvim_engine_call_duration_seconds",
    "Duration of calls to the container engine by call and result.",
    ["call", "result"],
    buckets=FAST,
)
HTTP_REQUESTS = Counter(
    "popvim_http_requests", "REST requests by method, route template and status code.", ["method", "route", "status"]
)
HTTP_REQUEST_SECONDS = Histogram(
    "popvim_http_request_duration_seconds",
    "REST request duration by method and route template (until the response starts, for streams).",
    ["method", "route"],
    buckets=FAST,
)
GRPC_REQUESTS = Counter("popvim_grpc_requests", "Pop protocol calls by method and status code.", ["method", "code"])
GRPC_REQUEST_SECONDS = Histogram(
    "popvim_grpc_request_duration_seconds", "Pop protocol call duration by method.", ["method"], buckets=FAST
)
NS_LCM_OPERATIONS = Counter(
    "popvim_ns_lcm_operations",
    "Network-service lifecycle operations by operation, result "
    "(COMPLETED or FAILED) and whether a controller started it.",
    ["operation", "result", "automatic"],
)
NS_LCM_OPERATION_SECONDS = Histogram(
    "popvim_ns_lcm_operation_duration_seconds",
    "Duration of network-service lifecycle operations.",
    ["operation"],
    buckets=SLOW,
)
NS_HEALS = Counter("popvim_ns_heals", "Completed heal operations.", ["automatic"])
NS_SCALINGS = Counter("popvim_ns_scalings", "Completed scaling operations.", ["direction", "automatic"])
EVENTS = Counter("popvim_events", "Events published on the PoP's event stream by kind.", ["kind"])
EVENTS_DROPPED = Counter(
    "popvim_event_stream_dropped_events", "Events a slow event-stream subscriber lost (its backlog was full)."
)
LOG_LINES_DROPPED = Counter(
    "popvim_log_lines_dropped", "Log lines lost because the log writer was stuck and its queue full."
)
ENGINE_EVENT_LAG_SECONDS = Histogram(
    "popvim_engine_event_lag_seconds", "Delay between the engine's event time and popvimd handling it.", buckets=FAST
)


def result_of(exc: BaseException) -> str:
    """A bounded result label: the domain's error code (``not_found``, ``invalid_state``...) when it has one."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and 0 < len(code) <= 40 and code.replace("_", "").isalpha():
        return code
    return "error"


@contextmanager
def container_operation(operation: str) -> Iterator[None]:
    started = time.perf_counter()
    result = "ok"
    try:
        yield
    except BaseException as exc:
        result = result_of(exc)
        raise
    finally:
        CONTAINER_OPERATION_SECONDS.labels(operation).observe(time.perf_counter() - started)
        CONTAINER_OPERATIONS.labels(operation, result).inc()


def timed_operation(operation: str) -> Callable[[F], F]:
    """Decorates a container lifecycle method."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with container_operation(operation):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def lcm_operation(operation: str, automatic: bool, params: dict[str, Any]) -> Iterator[None]:
    started = time.perf_counter()
    result = "COMPLETED"
    try:
        yield
    except BaseException:
        result = "FAILED"
        raise
    finally:
        auto = "true" if automatic else "false"
        NS_LCM_OPERATION_SECONDS.labels(operation).observe(time.perf_counter() - started)
        NS_LCM_OPERATIONS.labels(operation, result, auto).inc()
        if result == "COMPLETED" and operation == "HEAL":
            NS_HEALS.labels(auto).inc()
        if result == "COMPLETED" and operation == "SCALE":
            NS_SCALINGS.labels(str(params.get("direction", "")), auto).inc()


class InstrumentedEngine:
    """Wraps an engine driver so that every call's duration is recorded by name."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._engine, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = "ok"
            try:
                return attr(*args, **kwargs)
            except BaseException:
                result = "error"
                raise
            finally:
                ENGINE_CALL_SECONDS.labels(name, result).observe(time.perf_counter() - started)

        return call
