"""A real popvimd in a subprocess, on free loopback ports, for one test or module.

Each daemon gets its own PoP name and engine-name prefix, so tests running on
one engine never see each other's containers, and ``purge`` removes exactly
what this daemon made.
"""

from __future__ import annotations

import ipaddress
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
from support import pg

USER, PASSWORD = "tester", "s3cret-pass"
BUSYBOX = "popvim-test/busybox:latest"
REGISTRY = "127.0.0.1:5055"  # scripts/local-registry.sh: the only registry tests may pull from
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
# The same stop behaviour without waking: a thousand SLEEPERs fork thousands of times a second,
# and a benchmark of them measures the machine's load instead of popvim.
IDLE_SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]

_handed_out: set[ipaddress.IPv4Network] = set()


def unique(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# Handed out whole, a /14 per Swarm PoP (support.swarm): no smaller subnet may be taken from it,
# or a long session's /24s (never handed back) leave no /14 free.
_KEPT_WHOLE = (ipaddress.IPv4Network("10.160.0.0/12"),)


def free_subnet(engine: docker.DockerClient, prefix: int = 24, within: str = "10.128.0.0/9") -> str:
    """A subnet that no engine network uses and no earlier call handed out.

    Other test runs share the engine, so the scan starts at a random place in
    ``within`` (outside popvim's default pool) to make collisions unlikely.
    """
    used = [
        ipaddress.ip_network(c["Subnet"])
        for n in engine.api.networks()
        for c in (n.get("IPAM") or {}).get("Config") or []
        if c.get("Subnet")
    ]
    pool = ipaddress.IPv4Network(within)
    used = [u for u in used if u.version == 4] + list(_handed_out)
    used += [kept for kept in _KEPT_WHOLE if not pool.subnet_of(kept)]
    count = 2 ** (prefix - pool.prefixlen)
    start = random.randrange(count)
    size = 2 ** (32 - prefix)
    for i in range(count):
        candidate = ipaddress.IPv4Network((int(pool.network_address) + ((start + i) % count) * size, prefix))
        if not any(candidate.overlaps(u) for u in used):
            _handed_out.add(candidate)
            return str(candidate)
    raise AssertionError(f"no free /{prefix} left in {within}")


def create_container(api: httpx.Client, **body: Any) -> dict:
    """``POST /v1/containers`` with a busybox ``SLEEPER`` under a unique name unless ``body`` says otherwise."""
    body.setdefault("image", BUSYBOX)
    body.setdefault("name", unique())
    body.setdefault("command", SLEEPER)
    r = api.post("/v1/containers", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def start_container(api: httpx.Client, **body: Any) -> dict[str, Any]:
    """``create_container``, then ``POST .../start``: the container as it runs."""
    made = create_container(api, **body)
    r = api.post(f"/v1/containers/{made['id']}/start")
    assert r.status_code == 200, r.text
    return dict(r.json())


def expect_error(response: httpx.Response, *statuses: int, code: str | None = None) -> dict[str, Any]:
    """The ``{"error": {code, message}}`` body of a refused request, checked."""
    assert response.status_code in statuses, f"{response.status_code} not in {statuses}: {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert error["code"] and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll until ``predicate`` returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; last={last!r}")


@dataclass(frozen=True)
class ClientTls:
    """How a test talks to a daemon serving TLS: the CA to trust, and a client certificate for mTLS."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if self.cert and self.key:
            context.load_cert_chain(str(self.cert), str(self.key))
        return context

    def pop_options(self) -> dict[str, Any]:
        """Keyword arguments of popvim.client.PopClient."""
        return {
            "tls": True,
            "ca_certificate": self.ca.read_bytes(),
            "client_certificate": self.cert.read_bytes() if self.cert else None,
            "client_key": self.key.read_bytes() if self.key else None,
        }


class Daemon:
    def __init__(
        self,
        state_dir: Path,
        *,
        name: str | None = None,
        extra_args: list[str] | None = None,
        config_text: str | None = None,
        tls: ClientTls | None = None,
        env: dict[str, str | None] | None = None,
        own_session: bool = False,
        db: str = "sqlite",
        host: str = "127.0.0.1",
        wrapper: list[str] | None = None,
        docker_host: str | None = None,
    ) -> None:
        """``tls``: the daemon serves TLS (its config says how) and tests talk to it so;
        ``env``: changes to its environment (None removes a variable, e.g. POPD_AUTH);
        ``own_session``: no controlling terminal, as under a service manager;
        ``db``: "sqlite" (a file in ``state_dir``) or "postgres" (a fresh database of its own
        on scripts/postgres.sh's cluster, dropped by ``purge``);
        ``host``: the address both faces listen on; ``wrapper``: a command the daemon runs under
        (``ip netns exec NODE``, for a site on a lab node); ``docker_host``: its engine (and purge's)."""
        self.name = name or f"t{uuid.uuid4().hex[:8]}"
        self.db = db
        self.db_url = (
            pg.create_database(f"popvim_{self.name}") if db == "postgres" else f"sqlite:///{state_dir / 'popvim.db'}"
        )
        self.prefix = f"{self.name}-"
        self.state_dir = state_dir
        self.port = free_port()
        self.pop_port = free_port()
        self.tls = tls
        self.host = host
        self.wrapper = wrapper or []
        self.docker_host = docker_host
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.extra_args = extra_args or []
        self.config_text = config_text
        self.env = env or {}
        self.own_session = own_session
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir / "popvimd.log"
        self._token: str | None = None

    # --- process ----------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> Daemon:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        args = [
            *self.wrapper,
            sys.executable,
            "-m",
            "popvim.daemon",
            "--state-dir",
            str(self.state_dir),
            "--listen",
            f"{self.host}:{self.port}",
            "--pop-listen",
            f"{self.host}:{self.pop_port}",
            *(["--docker-host", self.docker_host] if self.docker_host else []),
            "--name",
            self.name,
            "--engine-prefix",
            self.prefix,
            *(["--db", self.db_url] if self.db == "postgres" else []),
            *self.extra_args,
        ]
        if self.config_text is not None:
            config = self.config_path
            config.write_text(self.config_text)
            args += ["--config", str(config)]
        env = {**os.environ, "POPD_AUTH": f"{USER}:{PASSWORD}", **self.env}
        env = {k: v for k, v in env.items() if v is not None}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=self.own_session
            )
        try:
            wait_for(self._healthy, timeout, 0.1, f"popvimd {self.name} to answer /health")
        except BaseException:
            # the fixture never gets to its teardown: leave no process, network or database behind
            self.kill()
            self.purge()
            raise
        self._token = None
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"popvimd exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1, verify=self.verify).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int:
        """SIGTERM, as an operator would; returns the exit code."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.proc = None
        return code

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_with(self, text: str, timeout: float = 15.0) -> str:
        """The log once ``text`` is in it: popvimd's log thread writes a line a moment after the fact."""
        return str(wait_for(lambda: text in (log := self.log()) and log, timeout, 0.05, f"{text!r} in the log"))

    # --- HTTP ---------------------------------------------------------------------
    @property
    def verify(self) -> ssl.SSLContext | bool:
        return self.tls.context() if self.tls else True

    @property
    def token(self) -> str:
        if self._token is None:
            r = httpx.post(
                f"{self.url}/v1/auth/login",
                json={"username": USER, "password": PASSWORD},
                verify=self.verify,
                timeout=60,  # bcrypt on a busy machine
            )
            r.raise_for_status()
            self._token = r.json()["token"]
        return self._token

    def login(self, user: str, password: str) -> str:
        """A token of another user (the config's ``[users]``)."""
        r = httpx.post(f"{self.url}/v1/auth/login", json={"username": user, "password": password}, verify=self.verify)
        r.raise_for_status()
        return str(r.json()["token"])

    def client(self, timeout: float = 60.0, token: str | None = None) -> httpx.Client:
        """REST as the test user, or as whoever ``token`` belongs to."""
        bearer = token or self.token
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {bearer}"}, timeout=timeout, verify=self.verify
        )

    @property
    def config_path(self) -> Path:
        """Where ``config_text`` is written at start (``popvimd user --config`` edits it)."""
        return self.state_dir / "popvimd.toml"

    # --- engine-side clean-up -----------------------------------------------------
    def purge(self) -> None:
        """Remove every engine container and network this daemon's PoP made, and its PostgreSQL database."""
        engine = docker.DockerClient(base_url=self.docker_host) if self.docker_host else docker.from_env()
        label = f"io.popvim.pop={self.name}"
        for c in engine.containers.list(all=True, filters={"label": label}):
            c.remove(force=True)
        for n in engine.networks.list(filters={"label": label}):
            n.remove()
        engine.close()
        if self.db == "postgres":
            pg.drop_database(self.db_url)
