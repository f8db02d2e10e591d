"""The Pop gRPC server that popvimd runs next to its REST API.

A synchronous ``grpc.Server`` on a thread pool: the domain is blocking
(SQLAlchemy sessions, docker-py), so threads are the honest model, and the
same ``Vim`` object serves both faces. Besides ``vim_pop.Pop`` it serves the
standard health service (public, for probes) and server reflection (behind a
token like everything else, so that ``grpcurl -H token:...`` can explore it).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from popvim.api.pop.auth import TokenAuthInterceptor
from popvim.api.pop.metrics import MetricsInterceptor
from popvim.api.pop.servicer import PopServicer
from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc
from popvim.vim.service import Vim

log = logging.getLogger(__name__)

POP_SERVICE = pb.DESCRIPTOR.services_by_name["Pop"].full_name  # "vim_pop.Pop"


class PopServer:
    """Owns the grpc.Server; the daemon only calls ``start`` and ``stop``."""

    def __init__(self, vim: Vim, max_workers: int = 32) -> None:
        self._vim = vim
        self._max_workers = max_workers
        self._server: grpc.Server | None = None
        self._health = health.HealthServicer()
        self.port: int | None = None

    def start(self, address: str, tls: grpc.ServerCredentials | None = None) -> int:
        """Bind ``address`` (HOST:PORT) and serve, over TLS with ``tls``; returns the bound port.

        Raises ``RuntimeError`` when the address cannot be bound. SO_REUSEPORT
        is turned off (gRPC enables it by default) so that a second daemon on
        the same port fails loudly instead of silently sharing the calls.
        """
        if self._server is not None:
            raise RuntimeError("the Pop server is already running")
        limits = self._vim.settings.limits
        server = grpc.server(
            ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="popvim-grpc"),
            interceptors=[MetricsInterceptor(), TokenAuthInterceptor(self._vim.auth)],
            options=[
                ("grpc.so_reuseport", 0),
                # Bounded work per call: requests and replies of bounded size (an exec reply
                # carries up to two capped streams), and RESOURCE_EXHAUSTED past a number of calls.
                ("grpc.max_receive_message_length", limits.grpc_message_bytes),
                ("grpc.max_send_message_length", 2 * limits.grpc_message_bytes + 2 * limits.exec_output_bytes),
            ],
            maximum_concurrent_rpcs=limits.grpc_concurrent_rpcs,
        )
        pb_grpc.add_PopServicer_to_server(PopServicer(self._vim), server)  # type: ignore[no-untyped-call]
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection((POP_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        try:
            port = server.add_secure_port(address, tls) if tls else server.add_insecure_port(address)
        except RuntimeError as exc:
            raise RuntimeError(f"cannot listen for the Pop protocol on {address}: {exc}") from exc
        if not port:
            raise RuntimeError(f"cannot listen for the Pop protocol on {address}")
        server.start()
        for service in ("", POP_SERVICE):
            self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        self._server, self.port = server, port
        log.info("pop protocol listening on %s (port %d, %s)", address, port, "tls" if tls else "plain text")
        return port

    def set_ready(self, ready: bool) -> None:
        """The health service follows the PoP's readiness (vim.readiness), not mere liveness."""
        status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
        for service in ("", POP_SERVICE):
            self._health.set(service, status)

    def stop(self, grace: float | None = 5.0) -> None:
        """Refuse new calls, let running ones finish for ``grace`` seconds, then cancel them."""
        if self._server is None:
            return
        self._health.enter_graceful_shutdown()
        self._server.stop(grace).wait()
        self._server = None
        log.info("pop protocol stopped")
