"""The bad-input battery: every way a review found to hurt a PoP with one valid token, or none,
and its neighbours. Each case must be refused clearly or bounded, and after each one the daemon
still answers ``/health`` and an authenticated list promptly, and another PoP's work on the same
engine is untouched."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import docker
import httpx
import pytest
from support.daemon import BUSYBOX, SLEEPER, Daemon, create_container, expect_error, unique

PROMPT = 5.0  # seconds: a client that waits longer than this for /health calls the daemon frozen


@pytest.fixture(scope="module")
def neighbour(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another PoP on the same engine with a running container: the work nothing here may touch."""
    other = Daemon(tmp_path_factory.mktemp("neighbour")).start()
    with other.client() as api:
        r = api.post("/v1/containers/run", json={"image": BUSYBOX, "name": unique("nb"), "command": SLEEPER})
        assert r.status_code == 201, r.text
        engine_id = r.json()["engine_id"]
    yield engine_id
    other.stop()
    other.purge()


@pytest.fixture(autouse=True)
def still_serving(daemon: Daemon, neighbour: str, engine: docker.DockerClient) -> Iterator[None]:
    yield
    health = httpx.get(f"{daemon.url}/health", timeout=PROMPT)
    assert health.status_code == 200, health.text
    with daemon.client(timeout=PROMPT) as api:
        listed = api.get("/v1/containers")
    assert listed.status_code == 200, listed.text
    assert engine.containers.get(neighbour).status == "running"


def run(api: httpx.Client, **body: object) -> httpx.Response:
    return api.post("/v1/containers/run", json={"image": BUSYBOX, "name": unique(), "command": SLEEPER, **body})


HOST_ESCAPES: dict[str, dict[str, object]] = {
    "host root as a volume": {"volumes": ["/:/host"]},
    "docker socket as a volume": {"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]},
    "dot-dot out of a path": {"volumes": ["/tmp/../etc:/host-etc:ro"]},
    "privileged": {"privileged": True},
    "every capability": {"cap_add": ["ALL"]},
    "SYS_ADMIN": {"cap_add": ["SYS_ADMIN"]},
    "a privileged host port": {"ports": {"80/tcp": 22}},
}


@pytest.mark.parametrize("body", HOST_ESCAPES.values(), ids=HOST_ESCAPES.keys())
def test_host_escapes_are_forbidden_by_policy(daemon: Daemon, body: dict[str, object]) -> None:
    with daemon.client() as api:
        error = expect_error(run(api, **body), 403, code="forbidden_by_policy")
    assert "policy." in error["message"], error


def test_macvlan_on_a_host_nic_is_forbidden_by_policy(daemon: Daemon) -> None:
    with daemon.client() as api:
        r = api.post("/v1/networks", json={"name": unique("mv"), "driver": "macvlan", "parent": "lo"})
    expect_error(r, 403, code="forbidden_by_policy")


BAD_FIELDS: dict[str, dict[str, object]] = {
    "port with a trailing newline": {"ports": {"80/tcp\n": 8080}},
    "restart policy with a trailing newline": {"restart_policy": "always\n"},
    "name with a trailing newline": {"name": "web\n"},
    "name with a control character": {"name": "we\x1bb"},
}


@pytest.mark.parametrize("body", BAD_FIELDS.values(), ids=BAD_FIELDS.keys())
def test_fields_refuse_newlines_and_control_characters(daemon: Daemon, body: dict[str, object]) -> None:
    with daemon.client() as api:
        expect_error(run(api, **body), 422)


@pytest.mark.parametrize(
    "subnet", ["0.0.0.0/1", "127.0.0.0/24", "169.254.0.0/16", "224.0.0.0/24", "0.0.0.0/8", "10.0.0.0/8"]
)
def test_subnets_that_cannot_be_a_virtual_link_are_refused(daemon: Daemon, subnet: str) -> None:
    with daemon.client() as api:
        expect_error(api.post("/v1/networks", json={"name": unique("n"), "subnet": subnet}), 400)


def test_references_are_not_patterns(daemon: Daemon) -> None:
    with daemon.client() as api:
        net = api.post("/v1/networks", json={"name": unique("lk")})
        assert net.status_code == 201, net.text
        for ref in ("_" * 12, "%", net.json()["name"][:-1] + "_", (net.json()["engine_id"] or "")[:11] + "_"):
            expect_error(api.delete(f"/v1/networks/{ref}"), 404, code="not_found")
            expect_error(api.get(f"/v1/containers/{ref}"), 404, code="not_found")
        assert api.get(f"/v1/networks/{net.json()['id']}").status_code == 200
        assert api.delete(f"/v1/networks/{net.json()['id']}").status_code == 204


def test_yaml_alias_bomb_is_refused_small(daemon: Daemon) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    levels += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    bomb = "\n".join(levels) + "\n"
    assert len(bomb) < 600
    with daemon.client() as api:
        r = api.post("/nsd/v1/ns_descriptors", content=bomb, headers={"Content-Type": "application/yaml"})
    expect_error(r, 422)
    assert len(r.content) < 16 * 1024


def test_descriptor_with_twenty_thousand_bad_entries_lists_a_bounded_number(daemon: Daemon) -> None:
    descriptor = {
        "name": "x",
        "vld": [{"name": "a"}],
        "vnfd": [{"name": f"v{i}", "vdu": [{"scale_in_out": "many"}]} for i in range(20_000)],
    }
    with daemon.client(timeout=30) as api:
        r = api.post(
            "/nsd/v1/ns_descriptors", content=json.dumps(descriptor), headers={"Content-Type": "application/json"}
        )
    error = expect_error(r, 422, 413)
    if r.status_code == 422:
        assert 1 <= len(error["problems"]) <= 101, len(error["problems"])


def test_oversized_bodies_are_413(daemon: Daemon) -> None:
    big = b'{"username": "' + b"u" * (2 * 1024 * 1024) + b'", "password": "p"}'
    expect_error(
        httpx.post(f"{daemon.url}/v1/auth/login", content=big, headers={"Content-Type": "application/json"}), 413
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(64):
            yield b" " * 65536

    with daemon.client() as api:
        r = api.post("/v1/networks", content=chunks(), headers={"Content-Type": "application/json"})
    expect_error(r, 413)


def test_a_bad_login_flood_does_not_starve_authenticated_requests(daemon: Daemon) -> None:
    stop = threading.Event()
    statuses: list[int] = []

    def flood() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                statuses.append(
                    client.post(
                        f"{daemon.url}/v1/auth/login", json={"username": "tester", "password": "wrong"}
                    ).status_code
                )

    with ThreadPoolExecutor(60) as pool, daemon.client(timeout=PROMPT) as api:
        floods = [pool.submit(flood) for _ in range(60)]
        try:
            answered = [api.get("/v1/containers").status_code for _ in range(20)]
        finally:
            stop.set()
        for f in floods:
            f.result()
    assert answered == [200] * 20
    assert 429 in statuses and set(statuses) <= {401, 429}, sorted(set(statuses))


def test_abandoned_slow_execs_do_not_freeze_the_api(daemon: Daemon) -> None:
    with daemon.client() as api:
        target = create_container(api)
        assert api.post(f"/v1/containers/{target['id']}/start").status_code == 200

    def abandon() -> None:
        with daemon.client(timeout=3) as client:
            try:
                client.post(f"/v1/containers/{target['id']}/exec", json={"command": ["sleep", "600"]})
            except httpx.TimeoutException:
                pass

    with ThreadPoolExecutor(45) as pool:
        list(pool.map(lambda _: abandon(), range(45)))
    # still_serving checks /health and the list right after.


def test_a_huge_exec_output_is_capped_and_flagged(daemon: Daemon) -> None:
    with daemon.client(timeout=120) as api:
        target = create_container(api)
        assert api.post(f"/v1/containers/{target['id']}/start").status_code == 200
        r = api.post(
            f"/v1/containers/{target['id']}/exec",
            json={"command": ["sh", "-c", "head -c 209715200 /dev/zero | tr '\\0' x"]},
        )
    assert r.status_code == 200, r.text[:300]
    out = r.json()
    assert out["stdout_truncated"] is True
    assert len(out["stdout"]) < 209715200


def test_event_streams_are_capped_per_user(daemon: Daemon) -> None:
    opened: list[httpx.Response] = []
    refused = 0
    with daemon.client(timeout=PROMPT) as api:
        try:
            for _ in range(45):
                response = api.send(api.build_request("GET", "/v1/events"), stream=True)
                if response.status_code == 429:
                    refused += 1
                    response.close()
                else:
                    assert response.status_code == 200
                    opened.append(response)
            assert refused > 0 and opened
            assert api.get("/v1/containers").status_code == 200
        finally:
            for response in opened:
                response.close()
