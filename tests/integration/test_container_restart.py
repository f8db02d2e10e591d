"""Running a container again through REST v1 (``POST .../restart``), on the real engine.

Not in seed 001's Pop lifecycle (its Start still refuses a second start); issue 11's
``os-start`` and ``reboot`` use the same domain transition.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import docker
import httpx
from support.daemon import (
    BUSYBOX,
    Daemon,
    create_container,
    expect_error,
    free_subnet,
    start_container,
    unique,
    wait_for,
)

VNF_BASE = "popvim-test/vnf-base:latest"  # has tc
IGNORES_TERM = ["sh", "-c", "while true; do sleep 1; done"]  # PID 1 without a TERM handler: a stop waits it out


def _stopped(api: httpx.Client, ref: str, keep: bool = False) -> dict[str, Any]:
    r = api.post(f"/v1/containers/{ref}/stop", params={"wait": True, "keep_addresses": keep})
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "EXITED", r.text
    return dict(r.json())


def test_an_exited_container_restarts_on_its_engine_container_with_its_address(
    api: httpx.Client, engine: docker.DockerClient
) -> None:
    net = unique("rst")
    assert api.post("/v1/networks", json={"name": net, "subnet": free_subnet(engine)}).status_code == 201
    first = start_container(api, endpoints={net: None})
    address = first["endpoints"][net]["address"]
    api.post(f"/v1/containers/{first['id']}/exec", json={"command": ["touch", "/kept"]})
    stopped = _stopped(api, first["id"])
    assert not stopped["endpoints"][net]["active"]  # a plain stop gives the address back (seed 001)
    expect_error(api.post(f"/v1/containers/{first['id']}/start"), 409)  # the Pop Start still refuses

    r = api.post(f"/v1/containers/{first['id']}/restart")
    assert r.status_code == 200, r.text
    again = r.json()
    assert again["state"] == "RUNNING" and again["engine_id"] == first["engine_id"]
    assert again["endpoints"][net] | {"link": None} == first["endpoints"][net] | {"link": None}
    inspected = engine.containers.get(first["engine_id"]).attrs
    assert inspected["State"]["Running"] and inspected["NetworkSettings"]["Networks"]
    assert next(iter(inspected["NetworkSettings"]["Networks"].values()))["IPAddress"] == address
    ran = api.post(f"/v1/containers/{first['id']}/exec", json={"command": ["ls", "/kept"]})
    assert ran.json()["exit_code"] == 0  # the same filesystem

    r = api.post(f"/v1/containers/{first['id']}/restart", params={"hard": True})  # of a running one: a reboot
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "RUNNING" and r.json()["endpoints"][net]["address"] == address
    assert engine.containers.get(first["engine_id"]).status == "running"
    api.delete(f"/v1/containers/{first['id']}")


def test_a_restart_takes_back_its_address_or_says_who_has_it(api: httpx.Client, engine: docker.DockerClient) -> None:
    net = unique("rst")
    assert api.post("/v1/networks", json={"name": net, "subnet": free_subnet(engine)}).status_code == 201
    kept = start_container(api, endpoints={net: None})
    released = start_container(api, endpoints={net: None})
    assert _stopped(api, kept["id"], keep=True)["endpoints"][net]["active"]
    _stopped(api, released["id"])
    newcomer = create_container(api, endpoints={net: None})  # the lowest free address: the released one
    assert newcomer["endpoints"][net]["address"] == released["endpoints"][net]["address"]
    refused = expect_error(api.post(f"/v1/containers/{released['id']}/restart"), 409, code="already_exists")
    assert released["endpoints"][net]["address"] in refused["message"]
    r = api.post(f"/v1/containers/{kept['id']}/restart")
    assert r.status_code == 200, r.text
    assert r.json()["endpoints"][net]["address"] == kept["endpoints"][net]["address"]
    expect_error(api.post(f"/v1/containers/{newcomer['id']}/restart"), 409)  # CREATED: start it instead
    for made in (kept, released, newcomer):
        api.delete(f"/v1/containers/{made['id']}")


def test_a_link_limited_container_is_shaped_again_after_a_restart(
    api: httpx.Client, engine: docker.DockerClient
) -> None:
    net = unique("rst")
    assert api.post("/v1/networks", json={"name": net, "subnet": free_subnet(engine)}).status_code == 201
    shaped = start_container(
        api, image=VNF_BASE, command=["sleep", "infinity"], endpoints={net: None}, links={net: {"bandwidth": "3mbit"}}
    )

    def qdiscs() -> str:
        r = api.post(f"/v1/containers/{shaped['id']}/exec", json={"command": ["tc", "qdisc", "show"]})
        assert r.status_code == 200, r.text
        return str(r.json()["stdout"])

    assert "rate 3Mbit" in qdiscs()
    _stopped(api, shaped["id"])
    assert api.post(f"/v1/containers/{shaped['id']}/restart").status_code == 200
    assert "rate 3Mbit" in qdiscs()
    assert api.post(f"/v1/containers/{shaped['id']}/restart").status_code == 200  # a reboot
    assert "rate 3Mbit" in qdiscs()
    api.delete(f"/v1/containers/{shaped['id']}")


def test_a_reboot_cut_short_by_kill_9_is_finished_when_popvimd_starts_again(
    engine: docker.DockerClient, tmp_path: Path
) -> None:
    d = Daemon(tmp_path / "state", config_text="[pop]\nstop_timeout = 20\n").start()
    try:
        with d.client() as api:
            started = start_container(api, image=BUSYBOX, command=IGNORES_TERM)
            address = started["endpoints"]["private"]["address"]
            # A soft reboot waits out the stop timeout; popvimd dies in the middle of it.
            outcome: list[httpx.Response | httpx.TransportError] = []

            def reboot() -> None:
                try:
                    outcome.append(
                        httpx.post(
                            f"{d.url}/v1/containers/{started['id']}/restart",
                            headers={"Authorization": f"Bearer {d.token}"},
                            timeout=60,
                            verify=d.verify,
                        )
                    )
                except httpx.TransportError as exc:
                    outcome.append(exc)

            rebooting = threading.Thread(target=reboot, daemon=True)
            rebooting.start()
            wait_for(
                lambda: api.get(f"/v1/containers/{started['id']}").json()["extended_status"] == "rebooting",
                what="the reboot to begin",
            )
        d.kill()
        rebooting.join(timeout=30)
        assert len(outcome) == 1 and isinstance(outcome[0], httpx.TransportError), outcome  # cut short, unanswered
        d.start()
        with d.client() as api:
            settled = api.get(f"/v1/containers/{started['id']}").json()
            assert settled["state"] == "RUNNING", settled
            assert (
                settled["engine_id"] == started["engine_id"] and settled["endpoints"]["private"]["address"] == address
            )
            assert settled["extended_status"] != "rebooting"
            wait_for(lambda: engine.containers.get(started["engine_id"]).status == "running", what="it to run")
            assert api.post(f"/v1/containers/{started['id']}/restart", params={"hard": True}).status_code == 200
    finally:
        d.kill()
        d.purge()
