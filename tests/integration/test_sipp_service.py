"""Seed 001's validation (chapter 5), for real: Appendix C's NSD, unmodified, deployed
with the stand-in SIPp images, placing calls, scaled to 5 clients, then terminated."""

from __future__ import annotations

import json
import re
from pathlib import Path

import docker
from support.daemon import Daemon, wait_for
from support.nslcm import deploy, env_of, vnf, wait_op

NSD = Path(__file__).parents[1] / "unit" / "fixtures" / "nsd" / "sipp-openbaton.json"
SIPP_KEYS = (
    "SIPP_LENGTH",
    "SIPP_RATE",
    "SIPP_RATE_PERIOD",
    "SIPP_RATE_MAX",
    "SIPP_RATE_INCREASE",
    "SIPP_RTP_ECHO",
    "SIPP_TRANSPORT_MODE",
)


def completed_calls(api, pop_container_id: str, server: str) -> int:
    logs = api.get(f"/v1/containers/{pop_container_id}/logs").json()["logs"]
    return len(re.findall(rf"to {re.escape(server)}:5060 completed", logs))


def test_appendix_c_sipp_service(daemon: Daemon, engine: docker.DockerClient) -> None:
    with daemon.client() as api:
        onboarded = api.post(
            "/nsd/v1/ns_descriptors", content=NSD.read_bytes(), headers={"Content-Type": "application/json"}
        )
        assert onboarded.status_code == 201, onboarded.text
        assert sorted(onboarded.json()["vnfs"]) == ["sipp-client", "sipp-server"]
        instance = api.post("/nslcm/v1/ns_instances", json={"nsdId": onboarded.json()["id"], "nsName": "sipp"}).json()
        started = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/instantiate")
        assert wait_op(api, started.headers["Location"])["operationState"] == "COMPLETED"
        url = f"/nslcm/v1/ns_instances/{instance['id']}"
        record = api.get(url).json()
        assert record["nsState"] == "INSTANTIATED"
        server = vnf(record, "sipp-server")["vnfcs"][0]
        client = vnf(record, "sipp-client")["vnfcs"][0]
        address = server["addresses"]["private"]

        env = env_of(api, client["popContainerId"])
        assert env["SERVER_PRIVATE"] == address
        assert {k: env[k] for k in SIPP_KEYS} == {
            "SIPP_LENGTH": "0",
            "SIPP_RATE": "10",
            "SIPP_RATE_PERIOD": "1000",
            "SIPP_RATE_MAX": "10",
            "SIPP_RATE_INCREASE": "0",
            "SIPP_RTP_ECHO": "10",
            "SIPP_TRANSPORT_MODE": "u1",
        }
        wait_for(
            lambda: completed_calls(api, client["popContainerId"], address) >= 5,
            timeout=30,
            what="the client to complete calls to the server",
        )
        server_logs = api.get(f"/v1/containers/{server['popContainerId']}/logs").json()["logs"]
        assert re.search(rf"from {re.escape(client['addresses']['private'])}:\d+ completed", server_logs)

        out = api.post(f"{url}/scale", json={"vnfName": "sipp-client", "direction": "out", "steps": 4})
        assert wait_op(api, out.headers["Location"])["operationState"] == "COMPLETED"
        clients = vnf(api.get(url).json(), "sipp-client")["vnfcs"]
        assert len(clients) == 5
        for c in clients:
            assert env_of(api, c["popContainerId"])["SERVER_PRIVATE"] == address
            wait_for(
                lambda c=c: completed_calls(api, c["popContainerId"], address) >= 1,
                timeout=30,
                what=f"client {c['name']} to complete a call",
            )
        sixth = api.post(f"{url}/scale", json={"vnfName": "sipp-client", "direction": "out", "steps": 1})
        assert sixth.status_code == 409

        made = {c["containerId"] for v in api.get(url).json()["vnfInstances"] for c in v["vnfcs"]}
        networks = {n for vl in api.get(url).json()["virtualLinks"].values() for n in vl.values()}
        end = api.post(f"{url}/terminate")
        assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
        assert not [c for c in engine.containers.list(all=True) if c.id in made]
        assert not [n for n in engine.networks.list() if n.name in {daemon.prefix + x for x in networks}]
        assert api.delete(url).status_code == 204


TOSCA = Path(__file__).parents[1] / "unit" / "fixtures" / "tosca" / "sipp-tosca.yaml"


def test_the_same_service_from_tosca(daemon: Daemon, engine: docker.DockerClient) -> None:
    with daemon.client() as api:
        onboarded = api.post(
            "/nsd/v1/ns_descriptors", content=TOSCA.read_bytes(), headers={"Content-Type": "application/yaml"}
        )
        assert onboarded.status_code == 201, onboarded.text
        assert onboarded.json()["format"] == "tosca"
        instance = api.post(
            "/nslcm/v1/ns_instances", json={"nsdId": onboarded.json()["id"], "nsName": "sipp-tosca"}
        ).json()
        started = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/instantiate")
        assert wait_op(api, started.headers["Location"])["operationState"] == "COMPLETED"
        url = f"/nslcm/v1/ns_instances/{instance['id']}"
        record = api.get(url).json()
        address = vnf(record, "sipp-server")["vnfcs"][0]["addresses"]["private"]
        client = vnf(record, "sipp-client")["vnfcs"][0]
        assert vnf(record, "sipp-client")["maxInstances"] == 5
        assert env_of(api, client["popContainerId"])["SIPP_RATE"] == "10"
        wait_for(
            lambda: completed_calls(api, client["popContainerId"], address) >= 3,
            timeout=30,
            what="calls from the TOSCA-deployed client",
        )
        end = api.post(f"{url}/terminate")
        assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
        assert not engine.containers.list(
            all=True, filters={"label": f"io.popvim.pop={daemon.name}", "name": "sipp-tosca"}
        )


def test_clients_told_the_servers_hostname_call_it_by_that_name(daemon: Daemon, engine: docker.DockerClient) -> None:
    """Appendix C with the dependency's parameter ``hostname`` instead of ``private``: the client is
    told the server's name in the service's names, starts without waiting for the server, and its
    calls reach the server by that name."""
    nsd = json.loads(NSD.read_text())
    (dependency,) = nsd["vnf_dependency"]
    dependency["parameters"] = ["hostname"]
    with daemon.client() as api:
        instance, op = deploy(api, nsd, "sipp-named")
        assert op["operationState"] == "COMPLETED", op
        url = f"/nslcm/v1/ns_instances/{instance['id']}"
        client = vnf(api.get(url).json(), "sipp-client")["vnfcs"][0]
        env = env_of(api, client["popContainerId"])
        assert env["SERVER_HOSTNAME"] == "sipp-server-0" and "SERVER_PRIVATE" not in env
        try:
            wait_for(lambda: completed_calls(api, client["popContainerId"], "sipp-server-0") >= 3, timeout=30)
        except AssertionError as exc:  # with what the client said
            logs = api.get(f"/v1/containers/{client['popContainerId']}/logs").json()["logs"]
            raise AssertionError(f"no 3 calls to the server by its name: {exc}; client logs:\n{logs[-3000:]}") from None
        end = api.post(f"{url}/terminate")
        assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
        assert not engine.containers.list(all=True, filters={"label": f"io.popvim.nfv.ns={instance['id']}"})
