"""The OpenStack face through the real openstacksdk (and keystoneauth) against a running popvimd."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import httpx
import openstack
import pytest
from openstack import exceptions
from openstack.connection import Connection
from support.daemon import BUSYBOX, PASSWORD, USER, Daemon, create_container, free_subnet, unique, wait_for
from support.images import shell_image

# Its own address pool for the default network: other test runs on this engine take
# 172.16.0.0/12's sixteen /16s (popvim's default pool) quickly.
DAEMON_CONFIG = '[network]\npool = "10.64.0.0/10"\n'  # for the shared ``daemon`` fixture


def connect(daemon: Daemon, password: str = PASSWORD) -> Connection:
    return openstack.connect(
        auth_url=f"{daemon.url}/identity",
        username=USER,
        password=password,
        project_name=daemon.name,
        user_domain_name="Default",
        project_domain_name="Default",
        region_name="RegionOne",
        identity_interface="public",
    )


@pytest.fixture(scope="module")
def conn(daemon: Daemon) -> Connection:
    return connect(daemon)


def _engine_container(engine: docker.DockerClient, daemon: Daemon, name: str) -> docker.models.containers.Container:
    return engine.containers.get(f"{daemon.prefix}{name}")


def test_token_has_the_subject_header_and_a_catalog_of_four_services(daemon: Daemon) -> None:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": USER, "password": PASSWORD, "domain": {"name": "Default"}}},
            },
            "scope": {"project": {"name": daemon.name, "domain": {"id": "default"}}},
        }
    }
    r = httpx.post(f"{daemon.url}/identity/v3/auth/tokens", json=body)
    assert r.status_code == 201, r.text
    token = r.headers["X-Subject-Token"]
    answer = r.json()["token"]
    assert {"expires_at", "issued_at", "user", "project", "roles", "methods", "catalog"} <= set(answer)
    assert {s["type"] for s in answer["catalog"]} == {"identity", "compute", "network", "image"}
    assert {e["interface"] for s in answer["catalog"] for e in s["endpoints"]} == {"public", "internal"}
    assert "admin" in {r["name"] for r in answer["roles"]}
    # A popvim token: it works on REST v1 as Bearer, and revoking it ends it everywhere.
    assert httpx.get(f"{daemon.url}/v1/info", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    assert httpx.get(f"{daemon.url}/identity/v3/auth/tokens", headers=headers).status_code == 200
    assert httpx.delete(f"{daemon.url}/identity/v3/auth/tokens", headers=headers).status_code == 204
    refused = httpx.get(f"{daemon.url}/compute/v2.1/servers", headers={"X-Auth-Token": token})
    assert refused.status_code == 401
    assert refused.json()["unauthorized"]["message"]


def test_wrong_password_is_the_clients_unauthorized_error(daemon: Daemon) -> None:
    with pytest.raises(exceptions.SDKException, match=r"requires authentication. \(HTTP 401\)"):
        connect(daemon, password="wrong-password").authorize()


def test_server_create_to_active_runs_the_container_then_list_and_delete(
    conn: Connection, daemon: Daemon, engine: docker.DockerClient, idle_image: str
) -> None:
    image = conn.image.find_image(idle_image, ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    name = unique("os")
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, metadata={"ROLE": "x"})
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
    assert server.status == "ACTIVE"
    assert _engine_container(engine, daemon, name).status == "running"
    assert name in {s.name for s in conn.compute.servers()}
    assert conn.compute.get_server(server.id).metadata == {"ROLE": "x"}
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=30)
    with pytest.raises(docker.errors.NotFound):
        _engine_container(engine, daemon, name)


WEB = "popvim-test/hostname-httpd:latest"  # answers its hostname on port 8080 and stops at once on TERM


@pytest.fixture(scope="module")
def web_image(engine: docker.DockerClient) -> str:
    return shell_image(
        engine,
        WEB,
        "mkdir -p /www && hostname > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait",
    )


def _answers(api: httpx.Client, prober: str, address: str) -> str:
    """What the server says on its address, asked from another container on its network."""

    def fetch() -> str | None:
        r = api.post(
            f"/v1/containers/{prober}/exec",
            json={"command": ["wget", "-qO-", f"http://{address}:8080/index.html"], "timeout": 5},
        )
        assert r.status_code == 200, r.text
        return r.json()["stdout"] if r.json()["exit_code"] == 0 else None

    return str(wait_for(fetch, timeout=20, what=f"the server to answer on {address}"))


def test_stop_start_and_reboot_keep_the_servers_fixed_ip_and_it_answers_on_it_after_each(
    conn: Connection, engine: docker.DockerClient, daemon: Daemon, web_image: str
) -> None:
    cidr = free_subnet(engine)
    network = conn.network.create_network(name=unique("osnet"))
    subnet = conn.network.create_subnet(network_id=network.id, ip_version=4, cidr=cidr, name="sub")
    fixed = str(next(ipaddress.ip_network(cidr).hosts()) + 5)
    port = conn.network.create_port(network_id=network.id, fixed_ips=[{"subnet_id": subnet.id, "ip_address": fixed}])
    image = conn.image.find_image(web_image, ignore_missing=False)
    name = unique("os")
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id="m1.tiny", networks=[{"port": port.id}])
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
    engine_id = _engine_container(engine, daemon, name).id
    with daemon.client() as api:
        prober = create_container(api, endpoints={network.name: None})["id"]
        assert api.post(f"/v1/containers/{prober}/start").status_code == 200
        hostname = _answers(api, prober, fixed)

        conn.compute.stop_server(server)
        stopped = conn.compute.wait_for_server(server, status="SHUTOFF", wait=60)
        assert stopped.addresses[network.name][0]["addr"] == fixed  # a SHUTOFF server keeps its address
        conn.compute.start_server(server)
        started = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
        assert started.addresses[network.name][0]["addr"] == fixed
        assert _answers(api, prober, fixed) == hostname  # the same container: its hostname is its engine id's
        with pytest.raises(exceptions.ConflictException):
            conn.compute.start_server(server)  # Nova's own rule: only a SHUTOFF server starts

        for kind in ("SOFT", "HARD"):
            conn.compute.reboot_server(server, kind)
            rebooted = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
            assert rebooted.addresses[network.name][0]["addr"] == fixed
            assert _answers(api, prober, fixed) == hostname
        inspected = _engine_container(engine, daemon, name)
        assert inspected.id == engine_id and inspected.status == "running"
        assert inspected.attrs["NetworkSettings"]["Networks"][f"{daemon.prefix}{network.name}"]["IPAddress"] == fixed
        # The Pop view agrees, and the Pop protocol's own Start still refuses a second start of it.
        assert api.get(f"/v1/containers/{server.id}").json()["state"] == "RUNNING"
        conn.compute.stop_server(server)
        conn.compute.wait_for_server(server, status="SHUTOFF", wait=60)
        assert api.post(f"/v1/containers/{server.id}/start").status_code == 409
        api.delete(f"/v1/containers/{prober}")
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=30)
    conn.network.delete_port(port)
    conn.network.delete_subnet(subnet)
    conn.network.delete_network(network)


def test_a_shutoff_server_keeps_its_address_from_other_servers_and_starts_with_it(
    conn: Connection, idle_image: str
) -> None:
    image = conn.image.find_image(idle_image, ignore_missing=False)
    server = conn.compute.create_server(name=unique("os"), image_id=image.id, flavor_id="m1.tiny")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
    (network, [entry]) = next(iter(server.addresses.items()))
    conn.compute.stop_server(server)
    conn.compute.wait_for_server(server, status="SHUTOFF", wait=60)
    other = conn.compute.create_server(name=unique("os"), image_id=image.id, flavor_id="m1.tiny")
    other = conn.compute.wait_for_server(other, status="ACTIVE", wait=60)
    assert other.addresses[network][0]["addr"] != entry["addr"]
    with pytest.raises(exceptions.ConflictException):
        conn.compute.reboot_server(server, "SOFT")  # a soft reboot needs an ACTIVE server
    conn.compute.start_server(server)
    started = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
    assert started.addresses[network][0]["addr"] == entry["addr"]
    for made in (server, other):
        conn.compute.delete_server(made)


def test_port_with_a_fixed_ip_is_reserved_and_the_server_on_it_has_that_ip(
    conn: Connection, engine: docker.DockerClient, daemon: Daemon, idle_image: str
) -> None:
    cidr = free_subnet(engine)
    network = conn.network.create_network(name=unique("osnet"))
    assert network.subnet_ids == []
    subnet = conn.network.create_subnet(network_id=network.id, ip_version=4, cidr=cidr, name="sub")
    assert subnet.cidr == cidr
    assert conn.network.get_network(network.id).subnet_ids == [subnet.id]
    fixed = str(next(ipaddress.ip_network(cidr).hosts()) + 9)
    port = conn.network.create_port(network_id=network.id, fixed_ips=[{"subnet_id": subnet.id, "ip_address": fixed}])
    assert port.fixed_ips == [{"subnet_id": subnet.id, "ip_address": fixed}]
    # Reserved: REST v1 cannot give the address to another container.
    with daemon.client() as api:
        taken = api.post(
            "/v1/containers", json={"image": BUSYBOX, "name": unique(), "endpoints": {network.name: fixed}}
        )
        assert taken.status_code == 409, taken.text
    with pytest.raises(exceptions.ConflictException):
        conn.network.create_port(network_id=network.id, fixed_ips=[{"ip_address": fixed}])
    assert [p.id for p in conn.network.ports(network_id=network.id)] == [port.id]

    image = conn.image.find_image(idle_image, ignore_missing=False)
    name = unique("os")
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id="m1.tiny", networks=[{"port": port.id}])
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
    assert server.addresses[network.name][0]["addr"] == fixed
    inspected = _engine_container(engine, daemon, name).attrs["NetworkSettings"]["Networks"]
    assert inspected[f"{daemon.prefix}{network.name}"]["IPAddress"] == fixed
    assert conn.network.get_port(port.id).device_id == server.id
    assert [p.id for p in conn.network.ports(device_id=server.id)] == [port.id]

    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_network(network)  # a port is on it
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=30)
    conn.network.delete_port(port)
    conn.network.delete_subnet(subnet)
    assert conn.network.get_network(network.id).subnet_ids == []
    conn.network.delete_network(network)
    assert conn.network.find_network(network.name) is None


def test_images_and_flavors(conn: Connection, idle_image: str) -> None:
    images = {i.name: i for i in conn.image.images()}
    assert images[idle_image].container_format == "docker"
    assert conn.image.get_image(images[idle_image].id).name == idle_image
    flavors = {f.name: f for f in conn.compute.flavors()}
    assert (flavors["m1.small"].vcpus, flavors["m1.small"].ram) == (1, 512)
    limits = conn.compute.get_limits()
    assert limits.absolute.instances == -1


def test_missing_image_and_missing_flavor_are_the_clients_errors(conn: Connection, idle_image: str) -> None:
    with pytest.raises(exceptions.ResourceNotFound):
        conn.image.find_image("no-such-image", ignore_missing=False)
    with pytest.raises(exceptions.ResourceNotFound):
        conn.compute.find_flavor("no-such-flavor", ignore_missing=False)
    image = conn.image.find_image(idle_image, ignore_missing=False)
    with pytest.raises(exceptions.BadRequestException, match="Image no-such-image could not be found"):
        conn.compute.create_server(name=unique("os"), image_id="no-such-image", flavor_id="m1.tiny")
    with pytest.raises(exceptions.BadRequestException, match="Flavor no-such-flavor could not be found"):
        conn.compute.create_server(name=unique("os"), image_id=image.id, flavor_id="no-such-flavor")


def test_a_server_is_a_pop_container_and_the_other_way_round(
    conn: Connection, daemon: Daemon, idle_image: str, tmp_path: Path
) -> None:
    image = conn.image.find_image(idle_image, ignore_missing=False)
    server = conn.compute.create_server(name=unique("os"), image_id=image.id, flavor_id="m1.tiny")
    env = {k: v for k, v in os.environ.items() if k not in ("POP_AUTH", "POP_HOST")}
    env.update(POP_HOST=f"127.0.0.1:{daemon.pop_port}", POP_AUTH=f"{USER}:{PASSWORD}", HOME=str(tmp_path))
    listed = subprocess.run(
        [sys.executable, "-m", "popvim.cli.main", "--json", "servers"], env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert server.name in {s["name"] for s in json.loads(listed.stdout)}  # `pop servers` over the Pop protocol
    with daemon.client() as api:
        container = api.get(f"/v1/containers/{server.id}").json()
        assert container["name"] == server.name and container["state"] == "RUNNING"
        made = create_container(api)
        api.post(f"/v1/containers/{made['id']}/start").raise_for_status()
    seen = conn.compute.get_server(made["id"])
    assert (seen.name, seen.status) == (made["name"], "ACTIVE")
    assert seen.addresses  # on the default network
    (interface,) = conn.network.ports(device_id=made["id"])  # as a MANO finds a server's interfaces
    address = next(iter(made["endpoints"].values()))["address"]
    assert interface.fixed_ips[0]["ip_address"] == address
    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_port(interface)  # it goes with its server
    conn.compute.delete_server(seen)
    conn.compute.delete_server(server)


def test_errors_are_openstack_shaped_never_500(daemon: Daemon) -> None:
    headers = {"X-Auth-Token": daemon.token}
    cases = [
        ("GET", "/compute/v2.1/servers/nope", 404, "itemNotFound"),
        ("POST", "/compute/v2.1/servers", 400, "badRequest"),
        ("GET", "/compute/v2.1/no/such/route", 404, "itemNotFound"),
        ("GET", "/network/v2.0/networks/nope", 404, "NeutronError"),
        ("POST", "/network/v2.0/ports", 400, "NeutronError"),
        ("GET", "/identity/v3/projects/nope", 404, "error"),
    ]
    for method, path, status, key in cases:
        r = httpx.request(method, f"{daemon.url}{path}", headers=headers, content=b"{not json")
        assert r.status_code == status, (path, r.text)
        assert key in r.json(), (path, r.text)
    r = httpx.get(f"{daemon.url}/image/v2/images/nope", headers=headers)
    assert r.status_code == 404 and r.json()["message"]
    for path in ("/identity", "/identity/v3", "/compute/v2.1", "/network", "/image"):
        assert httpx.get(f"{daemon.url}{path}").status_code == 200, path  # version discovery is public
    assert httpx.get(f"{daemon.url}/network/v2.0/networks").status_code == 401


def test_a_reader_gets_the_reader_role_and_may_not_create(
    engine: docker.DockerClient, tmp_path: Path, idle_image: str
) -> None:
    users: dict[str, str | None] = {"POPD_AUTH": f"{USER}:{PASSWORD},rita:rita-pass-1:reader"}
    daemon = Daemon(tmp_path / "state", env=users, config_text=DAEMON_CONFIG).start()
    try:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "rita", "password": "rita-pass-1"}},
                },
                "scope": {"project": {"name": daemon.name}},
            }
        }
        r = httpx.post(f"{daemon.url}/identity/v3/auth/tokens", json=body)
        assert r.status_code == 201, r.text
        assert [role["name"] for role in r.json()["token"]["roles"]] == ["reader"]
        headers = {"X-Auth-Token": r.headers["X-Subject-Token"]}
        assert httpx.get(f"{daemon.url}/compute/v2.1/servers", headers=headers).status_code == 200
        server = {"server": {"name": unique("os"), "imageRef": idle_image, "flavorRef": "m1.tiny"}}
        refused = httpx.post(f"{daemon.url}/compute/v2.1/servers", headers=headers, json=server)
        assert refused.status_code == 403
        assert "reader" in refused.json()["forbidden"]["message"]
        refused = httpx.post(f"{daemon.url}/network/v2.0/networks", headers=headers, json={"network": {"name": "x"}})
        assert refused.status_code == 403 and refused.json()["NeutronError"]["type"] == "HTTPForbidden"
        other_project = {**body["auth"], "scope": {"project": {"name": "not-this-pop"}}}
        assert httpx.post(f"{daemon.url}/identity/v3/auth/tokens", json={"auth": other_project}).status_code == 401
    finally:
        daemon.stop()
        daemon.purge()


def test_no_server_error_from_generated_requests_on_the_openstack_routes(daemon: Daemon, tmp_path: Path) -> None:
    """schemathesis on the OpenStack face's routes alone (test_fuzz_openapi.py leaves them out,
    to stay within its time): whatever it sends, never a 5xx."""
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            "run",
            f"{daemon.url}/openapi.json",
            "-H",
            f"X-Auth-Token: {daemon.token}",
            "--checks",
            "not_a_server_error",
            "--include-path-regex",
            r"^/(identity|compute|network|image)(/|$)",
            "--max-examples",
            "10",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--generation-deterministic",
        ],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
