"""Seed 000's routes, methods and JSON keys, each answering JSON and checked on the engine."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import httpx
import pytest
from support.daemon import BUSYBOX, REGISTRY, SLEEPER, Daemon, expect_error, free_subnet, unique, wait_for

SEED_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/info", None),
    ("POST", "/pull", {"imagename": BUSYBOX}),
    ("GET", "/Ilist", None),
    ("POST", "/create", {"imagename": BUSYBOX, "containername": "x"}),
    ("POST", "/start", {"containerid": "x"}),
    ("POST", "/run", {"imagename": BUSYBOX, "containername": "x"}),
    ("GET", "/Clist", None),
    ("POST", "/inspectCont", {"containerID": "x"}),
    (
        "POST",
        "/networkcreate",
        {
            "networkname": "x",
            "subnet": "10.0.0.0/24",
            "iprange": "10.0.0.0/26",
            "gateway": "10.0.0.1",
            "bridgename": "x",
        },
    ),
    ("POST", "/containerexec", {"containername": "x", "command": "true"}),
    ("POST", "/stoponecont", {"containerid": "x"}),
    ("GET", "/stop", None),
    ("DELETE", "/remove", None),
    ("POST", "/meshnet", {"interface": "wlan0"}),
]


@pytest.fixture(scope="module")
def server_image(engine: docker.DockerClient, daemon: Daemon) -> Iterator[str]:
    """An image whose default command keeps running, like the seed's nginx."""
    ref = f"popvim-test/server-{uuid.uuid4().hex[:8]}:latest"
    base = engine.containers.create(BUSYBOX, ["true"], name=unique("imgmaker"))
    base.commit(repository=ref.split(":")[0], tag="latest", changes=[f"CMD {json.dumps(SLEEPER)}"])
    base.remove(force=True)
    yield ref
    daemon.purge()  # its containers first, or the engine keeps the image
    engine.images.remove(ref, force=True)


def call(api: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return api.request(method, path, json=body)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def run(api: httpx.Client, image: str) -> dict:
    return ok(call(api, "POST", "/run", {"imagename": image, "containername": unique()}), 201)


@pytest.mark.parametrize(("method", "path", "body"), SEED_ROUTES, ids=[p for _, p, _ in SEED_ROUTES])
def test_every_seed_route_needs_a_token(daemon: Daemon, method: str, path: str, body: dict | None) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = httpx.request(method, f"{daemon.url}{path}", json=body, headers=headers)
        expect_error(r, 401)


def test_info_is_the_engines(api: httpx.Client, engine: docker.DockerClient) -> None:
    info = ok(call(api, "GET", "/info"))
    assert info["ID"] == engine.info()["ID"] and info["ServerVersion"]
    assert "Containers" in info and "Images" in info


def test_pull_and_image_list(api: httpx.Client, engine: docker.DockerClient) -> None:
    repository = f"{REGISTRY}/popvim-test/compat-{uuid.uuid4().hex[:8]}"
    engine.images.get(BUSYBOX).tag(repository, "v1")
    for message in engine.api.push(repository, tag="v1", stream=True, decode=True):
        assert "error" not in message, message
    engine.images.remove(f"{repository}:v1")
    try:
        pulled = ok(call(api, "POST", "/pull", {"imagename": f"{repository}:v1"}))
        assert f"{repository}:v1" in pulled["tags"] and pulled["id"] == engine.images.get(BUSYBOX).id
        listed = {tag for image in ok(call(api, "GET", "/Ilist")) for tag in image["tags"]}
        assert {BUSYBOX, f"{repository}:v1"} <= listed
    finally:
        engine.images.remove(f"{repository}:v1")
    expect_error(call(api, "POST", "/pull", {"imagename": "Not A Reference"}), 400)
    expect_error(
        call(api, "POST", "/pull", {"imagename": f"{REGISTRY}/popvim-test/absent-{uuid.uuid4().hex[:6]}"}),
        404,
        code="not_found",
    )
    expect_error(call(api, "POST", "/pull", {}), 422)


def test_create_start_inspect(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient, server_image: str
) -> None:
    name = unique()
    created = ok(call(api, "POST", "/create", {"imagename": server_image, "containername": name}), 201)
    assert created["name"] == name and created["state"] == "CREATED"
    expect_error(call(api, "POST", "/create", {"imagename": server_image, "containername": name}), 409)
    started = ok(call(api, "POST", "/start", {"containerid": created["id"]}))
    assert started["state"] == "RUNNING"
    assert engine.containers.get(started["engine_id"]).name == daemon.prefix + name
    assert engine.containers.get(started["engine_id"]).status == "running"
    for ref in (created["id"], name, started["engine_id"], started["engine_id"][:12]):
        inspected = ok(call(api, "POST", "/inspectCont", {"containerID": ref}))
        assert inspected["id"] == created["id"] and inspected["state"] == "RUNNING"
    expect_error(call(api, "POST", "/start", {"containerid": created["id"]}), 409)
    expect_error(call(api, "POST", "/start", {"containerid": "no-such-container"}), 404, code="not_found")
    expect_error(call(api, "POST", "/inspectCont", {"containerID": "no-such-container"}), 404, code="not_found")
    expect_error(call(api, "POST", "/create", {"imagename": "popvim-test/absent:never"}), 404, code="not_found")
    expect_error(call(api, "POST", "/create", {"imagename": BUSYBOX, "containername": "bad name!"}), 400, 422)
    expect_error(call(api, "POST", "/create", {"containername": unique()}), 422)


def test_run_and_container_lists(api: httpx.Client, server_image: str) -> None:
    running = run(api, server_image)
    assert running["state"] == "RUNNING"
    short = run(api, BUSYBOX)  # its default command, sh, ends at once
    wait_for(
        lambda: ok(call(api, "POST", "/inspectCont", {"containerID": short["id"]}))["state"] == "EXITED",
        what="the short-lived container to exit",
    )
    listed = {c["name"]: c["state"] for c in ok(call(api, "GET", "/Clist"))}
    assert listed.get(running["name"]) == "RUNNING" and short["name"] not in listed
    assert set(listed.values()) == {"RUNNING"}
    everything = {c["name"]: c["state"] for c in ok(api.get("/Clist", params={"all": "true"}))}
    assert everything[running["name"]] == "RUNNING" and everything[short["name"]] == "EXITED"
    expect_error(call(api, "POST", "/run", {"imagename": BUSYBOX, "containername": "bad name!"}), 400, 422)


def test_network_create(api: httpx.Client, daemon: Daemon, engine: docker.DockerClient) -> None:
    subnet = ipaddress.IPv4Network(free_subnet(engine))
    iprange, gateway = str(list(subnet.subnets(new_prefix=25))[1]), str(subnet.network_address + 1)
    bridge, name = f"pvc{uuid.uuid4().hex[:8]}", unique("n")
    body = {"networkname": name, "subnet": str(subnet), "iprange": iprange, "gateway": gateway, "bridgename": bridge}
    net = ok(call(api, "POST", "/networkcreate", body), 201)
    assert (net["name"], net["subnet"], net["ip_range"], net["gateway"]) == (name, str(subnet), iprange, gateway)
    inspected = engine.api.inspect_network(net["engine_id"])
    assert inspected["Name"] == daemon.prefix + name and inspected["Driver"] == "bridge"
    [ipam] = inspected["IPAM"]["Config"]
    assert (ipam["Subnet"], ipam["IPRange"], ipam["Gateway"]) == (str(subnet), iprange, gateway)
    assert inspected["Options"]["com.docker.network.bridge.name"] == bridge
    assert subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode == 0
    expect_error(call(api, "POST", "/networkcreate", body), 409)
    for bad in (
        {"networkname": "bad name!"},
        {"networkname": unique("n"), "subnet": "bogus"},
        {"networkname": unique("n"), "subnet": str(subnet), "gateway": "192.0.2.1"},
        {},
    ):
        expect_error(call(api, "POST", "/networkcreate", bad), 400, 409, 422)
    seedlike = ok(
        call(
            api,
            "POST",
            "/networkcreate",
            {"networkname": unique("n"), "subnet": "", "iprange": "", "gateway": "", "bridgename": ""},
        ),
        201,
    )
    assert ipaddress.IPv4Network(seedlike["subnet"]).prefixlen == 24 and seedlike["bridge_name"] is None
    for n in (net, seedlike):
        assert api.delete(f"/v1/networks/{n['id']}").status_code == 204


def test_exec_in_a_running_container(api: httpx.Client, server_image: str) -> None:
    running = run(api, server_image)
    out = ok(call(api, "POST", "/containerexec", {"containername": running["name"], "command": "echo hello seed"}))
    assert out["output"] == "hello seed\n" and out["exit_code"] == 0 and out["container"] == running["name"]
    out = ok(call(api, "POST", "/containerexec", {"containername": running["name"], "command": ["sh", "-c", "exit 4"]}))
    assert out["exit_code"] == 4
    address = running["endpoints"]["private"]["address"]
    out = ok(call(api, "POST", "/containerexec", {"containername": running["name"], "command": "ip -4 addr"}))
    assert address in out["output"]
    expect_error(call(api, "POST", "/containerexec", {"containername": running["name"], "command": ""}), 400, 422)


def test_exec_one_shot_runs_a_container_of_the_image(api: httpx.Client, engine: docker.DockerClient) -> None:
    name = unique("oneshot")
    out = ok(
        call(
            api,
            "POST",
            "/containerexec",
            {"imagename": BUSYBOX, "containername": name, "command": "echo from a one-shot container"},
        )
    )
    assert out["output"] == "from a one-shot container\n"
    assert out["container"] == name and out["state"] == "EXITED" and out["exit_code"] == 0
    record = ok(call(api, "POST", "/inspectCont", {"containerID": name}))
    assert engine.containers.get(record["engine_id"]).status == "exited"
    expect_error(call(api, "POST", "/containerexec", {"containername": unique(), "command": "true"}), 404)
    error = expect_error(
        call(api, "POST", "/containerexec", {"imagename": BUSYBOX, "containername": name, "command": "true"}),
        409,
        code="not_running",
    )
    assert "EXITED" in error["message"]
    expect_error(
        call(api, "POST", "/containerexec", {"imagename": BUSYBOX, "containername": "bad name!", "command": "true"}),
        400,
        422,
    )


def test_stop_one_stop_all_and_remove(api: httpx.Client, engine: docker.DockerClient, server_image: str) -> None:
    one, *others = [run(api, server_image) for _ in range(3)]
    stopped = ok(call(api, "POST", "/stoponecont", {"containerid": one["id"]}))
    assert stopped["state"] == "EXITED"
    assert engine.containers.get(one["engine_id"]).status == "exited"
    expect_error(call(api, "POST", "/stoponecont", {"containerid": one["id"]}), 409)
    expect_error(call(api, "POST", "/stoponecont", {"containerid": "no-such-container"}), 404)

    stopping = {c["id"] for c in ok(call(api, "GET", "/stop"))}
    assert {c["id"] for c in others} <= stopping
    for c in others:
        wait_for(
            lambda c=c: ok(call(api, "POST", "/inspectCont", {"containerID": c["id"]}))["state"] == "EXITED",
            what="/stop to finish",
        )
        assert engine.containers.get(c["engine_id"]).status == "exited"
    assert ok(call(api, "GET", "/Clist")) == []

    removed = ok(call(api, "DELETE", "/remove"))["ContainersDeleted"]
    assert {one["name"]} | {c["name"] for c in others} <= set(removed)
    for c in (one, *others):
        with pytest.raises(docker.errors.NotFound):
            engine.containers.get(c["engine_id"])
        expect_error(call(api, "POST", "/inspectCont", {"containerID": c["id"]}), 404)


def test_meshnet_without_wireless_hardware_is_a_json_error(api: httpx.Client) -> None:
    expect_error(call(api, "POST", "/meshnet", {"interface": "wlan0"}), 404, 503)
    expect_error(call(api, "POST", "/meshnet", {"interface": "../etc"}), 400, code="invalid_argument")
    expect_error(call(api, "POST", "/meshnet", {}), 422)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH"])
def test_wrong_method_is_a_json_error(api: httpx.Client, method: str) -> None:
    expect_error(api.request(method, "/create"), 405)
