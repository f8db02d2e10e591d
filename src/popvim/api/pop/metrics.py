"""Pop protocol call metrics (by method and status code, with durations) and a request
id per call (the client's ``x-request-id`` metadata when sane), for the logs and events.

Outermost interceptor, so calls refused for a missing token count too. For a
streaming answer the duration runs until the stream ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import grpc

from popvim.observe import logs, metrics

if TYPE_CHECKING:  # generic only in the type stubs
    Handler = grpc.RpcMethodHandler[Any, Any]


def _code(context: grpc.ServicerContext, failed: bool) -> str:
    code = context.code()  # type: ignore[attr-defined]  # set by abort() or set_code(); None when the call just returned
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


def _request_id(context: grpc.ServicerContext) -> str:
    offered = next((v for k, v in context.invocation_metadata() or () if k == "x-request-id"), None)
    return logs.new_request_id(offered if isinstance(offered, str) else None)


class MetricsInterceptor(grpc.ServerInterceptor):
    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(handler_call_details)
        if handler is None:  # an unknown method: no series for names a client made up
            return handler
        method = handler_call_details.method.lstrip("/")

        def done(context: grpc.ServicerContext, started: float, failed: bool) -> None:
            metrics.GRPC_REQUEST_SECONDS.labels(method).observe(time.perf_counter() - started)
            metrics.GRPC_REQUESTS.labels(method, _code(context, failed)).inc()

        def unary(behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
            def measured(request: Any, context: grpc.ServicerContext) -> Any:
                started, failed = time.perf_counter(), True
                token = logs.request_id.set(_request_id(context))
                try:
                    answer = behaviour(request, context)
                    failed = False
                    return answer
                finally:
                    done(context, started, failed)
                    logs.request_id.reset(token)

            return measured

        def streaming(behaviour: Callable[[Any, grpc.ServicerContext], Iterator[Any]]) -> Callable[..., Any]:
            def measured(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                started, failed = time.perf_counter(), True
                rid = _request_id(context)
                try:
                    # a generator resumes in the caller's context each time: set the id per step
                    iterator = iter(behaviour(request, context))
                    while True:
                        token = logs.request_id.set(rid)
                        try:
                            item = next(iterator)
                        except StopIteration:
                            break
                        finally:
                            logs.request_id.reset(token)
                        yield item
                    failed = False
                finally:
                    done(context, started, failed)

            return measured

        for kind, wrap in (
            ("unary_unary", unary),
            ("stream_unary", unary),
            ("unary_stream", streaming),
            ("stream_stream", streaming),
        ):
            behaviour = getattr(handler, kind)
            if behaviour is not None:
                # grpc's handlers are namedtuples: a copy with one behaviour wrapped
                return cast("Handler", handler._replace(**{kind: wrap(behaviour)}))  # type: ignore[attr-defined]
        return handler
