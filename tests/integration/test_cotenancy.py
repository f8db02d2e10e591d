"""Co-tenancy on one engine: what another install made is reported, never removed; the
orchestrator deletes only what it made, and its names never collide."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
from support.daemon import BUSYBOX, SLEEPER, Daemon, unique, wait_for
from support.nslcm import deploy, vnf, wait_op

from popvim.nfv import naming


def _install_id(d: Daemon) -> str:
    return (d.state_dir / "install-id").read_text().strip()


@pytest.fixture
def twin(engine: docker.DockerClient, fresh_daemon: Daemon, tmp_path: Path) -> Iterator[Daemon]:
    """A second install (fresh state dir) under the same PoP name and engine prefix as ``fresh_daemon``."""
    d = Daemon(tmp_path / "twin-state", name=fresh_daemon.name)
    yield d
    d.kill()  # fresh_daemon's purge removes what both made: they share the PoP label


def test_a_second_install_with_the_same_pop_name_leaves_the_first_alone(
    fresh_daemon: Daemon, twin: Daemon, engine: docker.DockerClient
) -> None:
    first = fresh_daemon.start()
    with first.client() as api:
        network = api.post("/v1/networks", json={"name": unique("net")})
        assert network.status_code == 201, network.text
        running = api.post(
            "/v1/containers/run",
            json={"image": BUSYBOX, "name": unique(), "command": SLEEPER, "endpoints": {network.json()["name"]: None}},
        )
        assert running.status_code == 201, running.text
    engine_container, engine_network = running.json()["engine_id"], network.json()["engine_id"]
    assert engine.containers.get(engine_container).labels["io.popvim.install"] == _install_id(first)

    second = twin.start()  # a fresh database: it knows nothing, so it removes nothing
    assert _install_id(second) != _install_id(first)
    assert engine.containers.get(engine_container).status == "running"
    assert engine.networks.get(engine_network)
    assert engine_container[:12] in second.log_with("left alone")

    with second.client() as api:  # the second install makes something of its own ...
        own = api.post("/v1/containers/run", json={"image": BUSYBOX, "name": unique(), "command": SLEEPER})
        assert own.status_code == 201, own.text
    second.stop()
    second.start()  # ... so its database is no longer empty, and it reconciles for real
    with second.client() as api:
        assert api.get(f"/v1/containers/{own.json()['id']}").json()["state"] == "RUNNING"
        assert api.get(f"/v1/containers/{running.json()['id']}").status_code == 404
    assert engine.containers.get(engine_container).status == "running"
    assert engine.networks.get(engine_network)

    first.stop()
    first.start()  # and the first install, restarted, leaves the second's container alone too
    with first.client() as api:
        assert api.get(f"/v1/containers/{running.json()['id']}").json()["state"] == "RUNNING"
    assert engine.containers.get(own.json()["engine_id"]).status == "running"


def _one_vnf(vnf_name: str, image: str, link: str = "private") -> dict:
    return {
        "name": "cotenancy",
        "vendor": "popvim",
        "version": "1.0",
        "vld": [{"name": link}],
        "vnfd": [
            {
                "name": vnf_name,
                "vendor": "popvim",
                "version": "1.0",
                "type": "server",
                "vdu": [
                    {
                        "vm_image": [image],
                        "scale_in_out": 1,
                        "vnfc": [{"connection_point": [{"virtual_link_reference": link}]}],
                        "vimInstanceName": [],
                    }
                ],
                "virtual_link": [{"name": link}],
                "deployment_flavour": [{"flavour_key": "docker.container"}],
            }
        ],
    }


def test_ns_and_vnf_names_that_join_alike_do_not_collide(
    daemon: Daemon, engine: docker.DockerClient, idle_image: str
) -> None:
    base = unique("a")
    with daemon.client() as api:
        one, op_one = deploy(api, _one_vnf("b-c", idle_image), name=base)  # a + b-c
        two, op_two = deploy(api, _one_vnf("c", idle_image), name=f"{base}-b")  # a-b + c
        assert op_one["operationState"] == "COMPLETED", op_one
        assert op_two["operationState"] == "COMPLETED", op_two
        first = vnf(api.get(f"/nslcm/v1/ns_instances/{one['id']}").json(), "b-c")["vnfcs"][0]
        second = vnf(api.get(f"/nslcm/v1/ns_instances/{two['id']}").json(), "c")["vnfcs"][0]
        assert first["containerId"] != second["containerId"]
        for record, ns in ((first, one), (second, two)):
            labels = engine.containers.get(record["containerId"]).labels
            assert labels[naming.LABEL_NS] == ns["id"] and labels[naming.LABEL_VNFC] == record["id"]
            assert engine.containers.get(record["containerId"]).status == "running"
        for ns in (one, two):
            end = api.post(f"/nslcm/v1/ns_instances/{ns['id']}/terminate")
            assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"


def _instance(api: httpx.Client, descriptor: dict, name: str) -> dict:
    onboarded = api.post(
        "/nsd/v1/ns_descriptors", content=json.dumps(descriptor), headers={"Content-Type": "application/json"}
    )
    assert onboarded.status_code == 201, onboarded.text
    created = api.post("/nslcm/v1/ns_instances", json={"nsdId": onboarded.json()["id"], "nsName": name})
    assert created.status_code == 201, created.text
    return created.json()


def _instantiate(api: httpx.Client, instance: dict) -> dict:
    started = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/instantiate")
    assert started.status_code == 202, started.text
    return wait_op(api, started.headers["Location"])


def test_rollback_never_deletes_what_holds_a_name_the_orchestrator_wants(
    daemon: Daemon, engine: docker.DockerClient, idle_image: str
) -> None:
    with daemon.client() as api:
        # a container made directly on the PoP, holding the name the VNFC will want
        instance = _instance(api, _one_vnf("web", idle_image), unique("ns"))
        squatter = api.post(
            "/v1/containers/run",
            json={
                "image": BUSYBOX,
                "command": SLEEPER,
                "name": naming.container_name(instance["nsInstanceName"], instance["id"], "web", 0),
            },
        )
        assert squatter.status_code == 201, squatter.text
        op = _instantiate(api, instance)
        assert op["operationState"] == "FAILED" and "rolled back" in op["error"], op
        assert api.get(f"/v1/containers/{squatter.json()['id']}").json()["state"] == "RUNNING"
        assert engine.containers.get(squatter.json()["engine_id"]).status == "running"
        assert api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()["vnfInstances"] == []

        # a network holding the name of the instance's virtual link
        instance = _instance(api, _one_vnf("web", idle_image), unique("ns"))
        taken = naming.network_name(instance["nsInstanceName"], instance["id"], "private", "private")
        network = api.post("/v1/networks", json={"name": taken})
        assert network.status_code == 201, network.text
        op = _instantiate(api, instance)
        assert op["operationState"] == "FAILED" and "rolled back" in op["error"], op
        assert api.get(f"/v1/networks/{network.json()['id']}").status_code == 200
        assert engine.networks.get(network.json()["engine_id"])

        # with the names free again, what the orchestrator makes it still removes itself
        instance = _instance(api, _one_vnf("web", idle_image), unique("ns"))
        op = _instantiate(api, instance)
        assert op["operationState"] == "COMPLETED", op
        made = vnf(api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json(), "web")["vnfcs"][0]
        end = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/terminate")
        assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
        wait_for(
            lambda: not engine.containers.list(all=True, filters={"id": made["containerId"]}),
            timeout=10,
            what="the orchestrator's own container to be gone",
        )
        assert api.delete(f"/v1/containers/{squatter.json()['id']}").status_code == 204
        assert api.delete(f"/v1/networks/{network.json()['id']}").status_code == 204
