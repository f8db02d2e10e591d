"""Integration fixtures: a real Docker engine and real popvimd processes.

There is no skipping here: if the engine or the test images are missing the
suite fails, because scripts/test.sh is meant to have provided them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import httpx
import pytest
from support.daemon import BUSYBOX, Daemon
from support.images import shell_image
from support.lab import Lab, LabError


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module marked ``both_databases`` runs once per database (one daemon each, not one per
    test); its tests marked ``one_database`` (engine timing, not state) only on SQLite."""
    if "db_backend" not in metafunc.fixturenames or metafunc.config.getoption("--db") != "both":
        return
    if metafunc.definition.get_closest_marker("both_databases"):
        one = metafunc.definition.get_closest_marker("one_database")
        metafunc.parametrize("db_backend", ["sqlite"] if one else ["sqlite", "postgres"], scope="module")


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    """Where this test's daemons keep their state (see ``--db``)."""
    return "postgres" if request.config.getoption("--db") == "postgres" else "sqlite"


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    try:
        client.ping()
        client.images.get(BUSYBOX)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"a Docker engine with {BUSYBOX} is needed; run scripts/test.sh ({exc})")
    yield client
    client.close()


@pytest.fixture(scope="module")
def daemon(
    request: pytest.FixtureRequest,
    engine: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
    db_backend: str,
) -> Iterator[Daemon]:
    """One popvimd shared by a test module, with the module's ``DAEMON_CONFIG`` (TOML) if it has one."""
    config = getattr(request.module, "DAEMON_CONFIG", None)
    d = Daemon(tmp_path_factory.mktemp("popvimd"), db=db_backend, config_text=config).start()
    yield d
    d.stop()
    d.purge()


@pytest.fixture
def fresh_daemon(engine: docker.DockerClient, tmp_path: Path, db_backend: str) -> Iterator[Daemon]:
    """A popvimd of the test's own, for tests that stop, kill or reconfigure it."""
    d = Daemon(tmp_path / "state", db=db_backend)
    yield d
    d.kill()
    d.purge()


@pytest.fixture
def api(daemon: Daemon) -> Iterator[httpx.Client]:
    with daemon.client() as client:
        yield client


IDLE = "popvim-test/idle:latest"


@pytest.fixture(scope="session")
def idle_image(engine: docker.DockerClient) -> str:
    """A VNF image whose default command runs until stopped (descriptors name no command)."""
    return shell_image(engine, IDLE, "trap 'exit 0' TERM; while true; do sleep 1; done")


@pytest.fixture(scope="session")
def lab_session(engine: docker.DockerClient) -> Iterator[Lab]:
    """A 3-node lab Swarm (scripts/lab.sh), made on first use, torn down at the end (with
    POPVIM_LAB_KEEP=1 one that is up is reused, and left up: ``scripts/lab.sh down`` ends it)."""
    keep = os.environ.get("POPVIM_LAB_KEEP", "") not in ("", "0")
    lab = Lab(name="pvtest", size=3, swarm=True, keep=keep)
    try:
        yield lab
    finally:
        if lab.touched and not keep:
            lab.down()


@pytest.fixture
def lab(lab_session: Lab) -> Lab:
    """The session's lab, up (again, if a test took it down)."""
    try:
        return lab_session.up()
    except LabError as exc:
        pytest.fail(str(exc))
