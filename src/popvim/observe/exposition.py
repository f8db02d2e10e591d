"""What a scrape answers: a registry's families, then text that others rendered beforehand.

Families whose figures change only now and then (the per-container usage, one pass of the
sampler every few seconds) are rendered by whoever updates them and appended here as bytes;
only the registry's small, bounded families are formatted per scrape. Both places that
serve metrics, REST ``/metrics`` and the separate ``--metrics-listen`` address, answer
``render()``, so they cannot drift apart.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


class Exposition:
    def __init__(self, registry: CollectorRegistry = REGISTRY, texts: Iterable[Callable[[], bytes]] = ()) -> None:
        self._registry = registry
        self._texts = list(texts)

    def render(self) -> bytes:
        """The Prometheus text format (0.0.4). Family names must not repeat between the registry
        and the texts; each text is whole families, ending with a newline."""
        return b"".join([generate_latest(self._registry), *(text() for text in self._texts)])


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a scrape in progress never holds up the daemon's exit


def serve(exposition: Exposition, host: str, port: int) -> ThreadingHTTPServer:
    """Serves ``render()`` on every path of HOST:PORT, without a token, on a thread of its own
    (the stand-in for prometheus_client's ``start_http_server``, which can only render a registry).
    ``shutdown()`` the answer to stop it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                body, status, kind = exposition.render(), 200, CONTENT_TYPE_LATEST
            except Exception:
                log.exception("rendering the metrics failed")
                body, status, kind = b"cannot render the metrics; see popvimd's log\n", 500, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            pass  # a scrape every few seconds is not worth a log line

    class Server(_Server):
        address_family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0][0]

    server = Server((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="popvim-metrics-http", daemon=True).start()
    return server
