"""A Unix-socket proxy in front of the real Docker engine, which a test can cut, pause or mute.

A daemon started with ``--docker-host unix://<proxy.path>`` talks to the
engine only through it, so a test can make the engine unreachable for that
daemon alone (``cut``), make it hang like a wedged dockerd (``pause`` holds
every byte until ``resume``), or make it miss events (``mute_events``: the
event stream stays open but nothing more arrives), without touching the
engine that every other test shares.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path


def engine_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


class _Link:
    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.events = False  # this connection carries an event stream

    def close(self) -> None:
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


class EngineProxy:
    def __init__(self, path: Path, upstream: str | None = None) -> None:
        self.path = path
        self.upstream = upstream or engine_socket()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._muted = False
        self._closed = False
        self._flowing = threading.Event()
        self._flowing.set()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> EngineProxy:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server.bind(str(self.path))
        self._server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def cut(self) -> None:
        """The engine becomes unreachable: every connection is closed, new ones are refused."""
        with self._lock:
            self._cut = True
            links = list(self._links)
        for link in links:
            link.close()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def pause(self) -> None:
        """The engine stops answering: connections stay open, no byte passes either way."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def mute_events(self) -> None:
        """Event streams stay connected, but from now on deliver nothing."""
        with self._lock:
            self._muted = True

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        self.cut()
        with contextlib.suppress(OSError):
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._cut:
                client.close()
                continue
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.upstream)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._pump, args=(link, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(link, False), daemon=True).start()

    def _pump(self, link: _Link, outbound: bool) -> None:
        source, target = (link.client, link.upstream) if outbound else (link.upstream, link.client)
        try:
            while True:
                data = source.recv(65536)
                self._flowing.wait()
                if not data or self._closed:
                    break
                if outbound and b"/events" in data.split(b"\r\n", 1)[0]:
                    link.events = True
                if not outbound and link.events and self._muted:
                    continue  # swallowed: the daemon waits for events that never come
                target.sendall(data)
        except OSError:
            pass
        finally:
            link.close()
            with self._lock:
                self._links.discard(link)
