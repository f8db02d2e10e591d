"""The orchestrator end to end: descriptors in, containers and networks on the engine out."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import docker
import pytest
from support.daemon import Daemon, wait_for
from support.nslcm import deploy, env_of, vnf, wait_op

pytestmark = pytest.mark.both_databases


def nsd(
    idle: str,
    *,
    client_max: int = 3,
    client_image: str | None = None,
    scaling: list | None = None,
    name: str = "ns-test",
) -> dict[str, Any]:
    """An Open Baton NSD shaped like seed 001's SIPp one: a server and a client that depends on it."""

    def vnfd(vnf_name: str, vnf_type: str, image: str, max_instances: int) -> dict[str, Any]:
        return {
            "name": vnf_name,
            "vendor": "popvim",
            "version": "1.0",
            "type": vnf_type,
            "vdu": [
                {
                    "vm_image": [image],
                    "scale_in_out": max_instances,
                    "vnfc": [{"connection_point": [{"virtual_link_reference": "private"}]}],
                    "vimInstanceName": [],
                }
            ],
            "virtual_link": [{"name": "private"}],
            "deployment_flavour": [{"flavour_key": "docker.container"}],
        }

    client = vnfd("app-client", "client", client_image or idle, client_max)
    client["configurations"] = {"name": "cfg", "configurationParameters": [{"confKey": "RATE", "value": "10"}]}
    if scaling:
        client["auto_scale_policy"] = scaling
    return {
        "name": name,
        "vendor": "popvim",
        "version": "1.0",
        "vld": [{"name": "private"}],
        "vnfd": [client, vnfd("app-server", "server", idle, 1)],
        "vnf_dependency": [
            {"source": {"name": "app-server"}, "target": {"name": "app-client"}, "parameters": ["private"]}
        ],
    }


def test_deploy_resolves_dependencies_scales_and_terminates(
    daemon: Daemon, engine: docker.DockerClient, idle_image: str
) -> None:
    with daemon.client() as api:
        instance, op = deploy(api, nsd(idle_image))
        assert op["operationState"] == "COMPLETED", op
        record = api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()
        assert record["nsState"] == "INSTANTIATED"
        server = vnf(record, "app-server")["vnfcs"][0]
        client = vnf(record, "app-client")["vnfcs"][0]
        assert server["popName"] == daemon.name and server["state"] == "RUNNING"
        assert engine.containers.get(server["containerId"]).status == "running"
        env = env_of(api, client["popContainerId"])
        assert env["SERVER_PRIVATE"] == server["addresses"]["private"]
        assert env["RATE"] == "10"
        # the server is reachable from the client at that address, over the instance's own network
        ping = api.post(
            f"/v1/containers/{client['popContainerId']}/exec",
            json={"command": ["ping", "-c", "1", "-W", "2", env["SERVER_PRIVATE"]]},
        ).json()
        assert ping["exit_code"] == 0, ping

        out = api.post(
            f"/nslcm/v1/ns_instances/{instance['id']}/scale",
            json={"vnfName": "app-client", "direction": "out", "steps": 2},
        )
        assert out.status_code == 202
        assert wait_op(api, out.headers["Location"])["operationState"] == "COMPLETED"
        clients = vnf(api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json(), "app-client")["vnfcs"]
        assert len(clients) == 3 and {c["state"] for c in clients} == {"RUNNING"}
        for c in clients:
            assert env_of(api, c["popContainerId"])["SERVER_PRIVATE"] == server["addresses"]["private"]
        beyond = api.post(
            f"/nslcm/v1/ns_instances/{instance['id']}/scale",
            json={"vnfName": "app-client", "direction": "out", "steps": 1},
        )
        assert beyond.status_code == 409 and "outside 1..3" in beyond.json()["error"]["message"]
        back = api.post(
            f"/nslcm/v1/ns_instances/{instance['id']}/scale",
            json={"vnfName": "app-client", "direction": "in", "steps": 2},
        )
        assert wait_op(api, back.headers["Location"])["operationState"] == "COMPLETED"
        assert vnf(api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json(), "app-client")["instances"] == 1
        below = api.post(
            f"/nslcm/v1/ns_instances/{instance['id']}/scale",
            json={"vnfName": "app-client", "direction": "in", "steps": 1},
        )
        assert below.status_code == 409

        made = {
            c["containerId"]
            for v in api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()["vnfInstances"]
            for c in v["vnfcs"]
        }
        networks = [
            n for n in engine.networks.list() if n.name.startswith(f"{daemon.prefix}{instance['nsInstanceName']}-")
        ]
        assert networks
        end = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/terminate")
        assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
        assert not [c for c in engine.containers.list(all=True) if c.id in made]
        assert not [n for n in engine.networks.list() if n.id in {x.id for x in networks}]
        assert api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()["nsState"] == "NOT_INSTANTIATED"
        assert api.delete(f"/nslcm/v1/ns_instances/{instance['id']}").status_code == 204
        assert api.get(f"/nslcm/v1/ns_instances/{instance['id']}").status_code == 404


def test_failed_instantiate_rolls_back(daemon: Daemon, engine: docker.DockerClient, idle_image: str) -> None:
    ours = {"label": f"io.popvim.pop={daemon.name}"}
    with daemon.client() as api:
        before_containers = {c.id for c in engine.containers.list(all=True, filters=ours)}
        before_networks = {n.id for n in engine.networks.list(filters=ours)}
        instance, op = deploy(api, nsd(idle_image, client_image="popvim-test/does-not-exist:latest"))
        assert op["operationState"] == "FAILED" and "rolled back" in op["error"]
        assert "does-not-exist" in op["error"]
        record = api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()
        assert record["nsState"] == "NOT_INSTANTIATED" and record["vnfInstances"] == []
        assert {c.id for c in engine.containers.list(all=True, filters=ours)} <= before_containers
        assert {n.id for n in engine.networks.list(filters=ours)} <= before_networks


def test_dead_vnfc_is_respawned_with_its_address(daemon: Daemon, engine: docker.DockerClient, idle_image: str) -> None:
    with daemon.client() as api:
        instance, op = deploy(api, nsd(idle_image))
        assert op["operationState"] == "COMPLETED"
        before = vnf(api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json(), "app-server")["vnfcs"][0]
        engine.containers.get(before["containerId"]).kill()

        def healed() -> dict | None:
            now = vnf(api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json(), "app-server")["vnfcs"][0]
            return now if now["heals"] == 1 and now["state"] == "RUNNING" else None

        after = wait_for(healed, timeout=30, what="the healer to respawn the server")
        assert after["containerId"] != before["containerId"] and after["id"] == before["id"]
        assert after["addresses"] == before["addresses"]
        ops = api.get("/nslcm/v1/ns_lcm_op_occs", params={"nsInstanceId": instance["id"]}).json()
        heal = [o for o in ops if o["lcmOperationType"] == "HEAL"]
        assert heal and heal[-1]["isAutomaticInvocation"] and heal[-1]["operationState"] == "COMPLETED"
        api.post(f"/nslcm/v1/ns_instances/{instance['id']}/terminate")


def test_instances_survive_a_daemon_restart(fresh_daemon: Daemon, engine: docker.DockerClient, idle_image: str) -> None:
    d = fresh_daemon.start()
    with d.client() as api:
        instance, op = deploy(api, nsd(idle_image))
        assert op["operationState"] == "COMPLETED"
        record = api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()
    d.kill()
    d.start()
    with d.client() as api:
        again = api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()
        assert again["nsState"] == "INSTANTIATED"
        assert [v["vnfcs"] for v in again["vnfInstances"]] == [v["vnfcs"] for v in record["vnfInstances"]]
        # and the orchestrator still drives it after the restart
        out = api.post(
            f"/nslcm/v1/ns_instances/{instance['id']}/scale",
            json={"vnfName": "app-client", "direction": "out", "steps": 1},
        )
        assert wait_op(api, out.headers["Location"])["operationState"] == "COMPLETED"


@pytest.mark.one_database
def test_bad_descriptor_lists_every_problem(daemon: Daemon) -> None:
    with daemon.client() as api:
        broken = {
            "name": "x",
            "vld": [{"name": "a"}],
            "vnfd": [
                {
                    "name": "v",
                    "vdu": [{"scale_in_out": 0, "vnfc": [{"connection_point": [{"virtual_link_reference": "b"}]}]}],
                }
            ],
            "vnf_dependency": [{"source": {"name": "nope"}, "target": {"name": "v"}, "parameters": ["a"]}],
        }
        r = api.post("/nsd/v1/ns_descriptors", content=json.dumps(broken), headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        problems = r.json()["error"]["problems"]
        assert len(problems) >= 3, problems
        assert all(p["path"] and p["reason"] for p in problems)
        garbage = api.post(
            "/nsd/v1/ns_descriptors", content=b"\x00\xff not a descriptor", headers={"Content-Type": "application/json"}
        )
        assert garbage.status_code == 422


def _policy(name: str, operator: str, idle: int, action: str) -> dict[str, Any]:
    return {
        "name": name,
        "threshold": 100,
        "comparisonOperator": ">=",
        "period": 2,
        "cooldown": 3,
        "mode": "REACTIVE",
        "type": "VOTED",
        "alarms": [
            {
                "metric": "system.cpu.util[,idle]",
                "statistic": "avg",
                "comparisonOperator": operator,
                "threshold": idle,
                "weight": 1,
            }
        ],
        "actions": [{"type": action, "value": "1"}],
    }


@pytest.mark.one_database
def test_autoscaling_follows_cpu_load(daemon: Daemon, idle_image: str) -> None:
    """Out when the clients' average CPU stays >= 50 % for the period, in when it stays <= 10 %."""
    policies = [_policy("out", "<=", 50, "SCALE_OUT"), _policy("in", ">=", 90, "SCALE_IN")]
    with daemon.client() as api:
        instance, op = deploy(api, nsd(idle_image, scaling=policies))
        assert op["operationState"] == "COMPLETED"
        url = f"/nslcm/v1/ns_instances/{instance['id']}"
        first = vnf(api.get(url).json(), "app-client")["vnfcs"][0]
        burn = api.post(
            f"/v1/containers/{first['popContainerId']}/exec",
            json={"command": ["sh", "-c", "sh -c 'while :; do :; done' >/dev/null 2>&1 & echo $! > /tmp/burn"]},
        )
        assert burn.json()["exit_code"] == 0
        wait_for(
            lambda: vnf(api.get(url).json(), "app-client")["instances"] >= 2,
            timeout=60,
            what="an automatic scale-out under load",
        )
        api.post(
            f"/v1/containers/{first['popContainerId']}/exec", json={"command": ["sh", "-c", "kill $(cat /tmp/burn)"]}
        )
        wait_for(
            lambda: vnf(api.get(url).json(), "app-client")["instances"] == 1,
            timeout=90,
            what="an automatic scale-in once idle",
        )
        scales = [
            o
            for o in api.get("/nslcm/v1/ns_lcm_op_occs", params={"nsInstanceId": instance["id"]}).json()
            if o["lcmOperationType"] == "SCALE"
        ]
        assert {o["operationParams"]["direction"] for o in scales} == {"out", "in"}
        assert all(o["isAutomaticInvocation"] and o["operationState"] == "COMPLETED" for o in scales)
        api.post(f"{url}/terminate")


def test_vnfs_land_on_the_pop_their_descriptor_names(
    daemon: Daemon, fresh_daemon: Daemon, engine: docker.DockerClient, idle_image: str
) -> None:
    from support.daemon import PASSWORD, USER

    remote = fresh_daemon.start()
    descriptor = nsd(idle_image)
    descriptor["vnfd"][1]["vdu"][0]["vimInstanceName"] = ["site2"]  # the server goes to the other PoP
    with daemon.client() as api:
        unknown = api.post(
            "/nsd/v1/ns_descriptors", content=json.dumps(descriptor), headers={"Content-Type": "application/json"}
        )
        assert unknown.status_code == 422 and "site2" in unknown.text
        registered = api.post(
            "/v1/pops",
            json={
                "name": "site2",
                "address": f"127.0.0.1:{remote.pop_port}",
                "username": USER,
                "password": PASSWORD,
                "site": "lab-2",
            },
        )
        assert registered.status_code == 201 and "password" not in registered.json()
        assert {p["name"] for p in api.get("/v1/pops").json()} == {daemon.name, "site2"}
        instance, op = deploy(api, descriptor)
        assert op["operationState"] == "COMPLETED", op
        record = api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()
        server = vnf(record, "app-server")["vnfcs"][0]
        client = vnf(record, "app-client")["vnfcs"][0]
        assert server["popName"] == "site2" and client["popName"] == daemon.name
        assert engine.containers.get(server["containerId"]).labels["io.popvim.pop"] == remote.name
        assert engine.containers.get(client["containerId"]).labels["io.popvim.pop"] == daemon.name
        assert env_of(api, client["popContainerId"])["SERVER_PRIVATE"] == server["addresses"]["private"]
        assert api.delete("/v1/pops/site2").status_code == 409  # in use
        end = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/terminate")
        assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
        assert not engine.containers.list(
            all=True, filters={"label": f"io.popvim.pop={remote.name}", "name": instance["nsInstanceName"]}
        )
        assert api.delete("/v1/pops/site2").status_code == 204


OPTED_OUT = """
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
description: one VNF whose failures are only logged, never respawned
topology_template:
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      properties:
        image: {image}
        monitoring_policy:
          name: noop
          actions:
            failure: log
    CP1:
      type: tosca.nodes.nfv.CP.Tacker
      requirements:
        - virtualLink:
            node: VL1
        - virtualBinding:
            node: VDU1
    VL1:
      type: tosca.nodes.nfv.VL
      properties:
        network_name: net0
        vendor: popvim
"""


@pytest.mark.one_database
def test_opted_out_vnfc_stays_dead_until_healed_on_demand(
    daemon: Daemon, engine: docker.DockerClient, idle_image: str
) -> None:
    with daemon.client() as api:
        onboarded = api.post(
            "/nsd/v1/ns_descriptors",
            content=OPTED_OUT.format(image=idle_image),
            headers={"Content-Type": "application/yaml"},
        )
        assert onboarded.status_code == 201, onboarded.text
        instance = api.post("/nslcm/v1/ns_instances", json={"nsdId": onboarded.json()["id"]}).json()
        started = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/instantiate")
        assert wait_op(api, started.headers["Location"])["operationState"] == "COMPLETED"
        witness, _ = deploy(api, nsd(idle_image))  # a default (respawning) service alongside
        url, witness_url = f"/nslcm/v1/ns_instances/{instance['id']}", f"/nslcm/v1/ns_instances/{witness['id']}"
        before = vnf(api.get(url).json(), "VDU1")["vnfcs"][0]
        engine.containers.get(before["containerId"]).kill()
        engine.containers.get(vnf(api.get(witness_url).json(), "app-server")["vnfcs"][0]["containerId"]).kill()
        # once the controllers have healed the witness they have looked at both services
        wait_for(
            lambda: vnf(api.get(witness_url).json(), "app-server")["vnfcs"][0]["heals"] == 1,
            timeout=30,
            what="the witness to be healed",
        )
        dead = vnf(api.get(url).json(), "VDU1")["vnfcs"][0]
        assert dead["state"] == "FAILED" and dead["heals"] == 0
        assert not [
            o
            for o in api.get("/nslcm/v1/ns_lcm_op_occs", params={"nsInstanceId": instance["id"]}).json()
            if o["lcmOperationType"] == "HEAL"
        ]
        healed = api.post(f"{url}/heal", json={})
        assert healed.status_code == 202
        assert wait_op(api, healed.headers["Location"])["operationState"] == "COMPLETED"
        after = vnf(api.get(url).json(), "VDU1")["vnfcs"][0]
        assert after["state"] == "RUNNING" and after["heals"] == 1 and after["addresses"] == before["addresses"]
        heal = [
            o
            for o in api.get("/nslcm/v1/ns_lcm_op_occs", params={"nsInstanceId": instance["id"]}).json()
            if o["lcmOperationType"] == "HEAL"
        ]
        assert len(heal) == 1 and not heal[0]["isAutomaticInvocation"]
        api.post(f"{url}/terminate")
        api.post(f"{witness_url}/terminate")


@pytest.mark.one_database
def test_failing_heals_back_off(daemon: Daemon, engine: docker.DockerClient, idle_image: str) -> None:
    """A VNFC that cannot come back (its image is gone) is retried ever less often."""
    doomed = f"popvim-test/doomed:{uuid.uuid4().hex[:8]}"
    engine.images.get(idle_image).tag(doomed)
    descriptor = nsd(idle_image)
    descriptor["vnfd"][1]["vdu"][0]["vm_image"] = [doomed]
    with daemon.client() as api:
        instance, op = deploy(api, descriptor)
        assert op["operationState"] == "COMPLETED"
        server = vnf(api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json(), "app-server")["vnfcs"][0]
        engine.containers.get(server["containerId"]).kill()
        engine.images.remove(doomed, force=True)

        def failed_heals() -> list[dict]:
            ops = api.get("/nslcm/v1/ns_lcm_op_occs", params={"nsInstanceId": instance["id"]}).json()
            return [o for o in ops if o["lcmOperationType"] == "HEAL" and o["operationState"] == "FAILED"]

        heals = wait_for(
            lambda: h if len(h := failed_heals()) >= 3 else None, timeout=60, what="three failed automatic heals"
        )
        assert all(h["isAutomaticInvocation"] and "doomed" in h["error"] for h in heals)
        t = [(datetime.fromisoformat(h["startTime"]), datetime.fromisoformat(h["stateEnteredTime"])) for h in heals]
        assert (t[1][0] - t[0][1]).total_seconds() >= 2
        assert (t[2][0] - t[1][1]).total_seconds() >= 4
        end = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/terminate")
        assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"


@pytest.mark.one_database
def test_a_pop_gone_for_good_can_be_forced_out(daemon: Daemon, fresh_daemon: Daemon, idle_image: str) -> None:
    from support.daemon import PASSWORD, USER

    remote = fresh_daemon.start()
    descriptor = nsd(idle_image)
    descriptor["vnfd"][1]["vdu"][0]["vimInstanceName"] = ["lost-site"]
    with daemon.client() as api:
        api.post(
            "/v1/pops",
            json={
                "name": "lost-site",
                "address": f"127.0.0.1:{remote.pop_port}",
                "username": USER,
                "password": PASSWORD,
            },
        )
        instance, op = deploy(api, descriptor)
        assert op["operationState"] == "COMPLETED"
        remote.kill()  # the site is gone
        url = f"/nslcm/v1/ns_instances/{instance['id']}"
        plain = wait_op(api, api.post(f"{url}/terminate").headers["Location"])
        assert plain["operationState"] == "FAILED" and "UNAVAILABLE" in plain["error"], plain
        assert api.get(url).json()["vnfInstances"], "a failed terminate keeps the records of what is left"
        forced = wait_op(api, api.post(f"{url}/terminate", json={"force": True}).headers["Location"])
        assert forced["operationState"] == "COMPLETED", forced
        assert api.get(url).json()["nsState"] == "NOT_INSTANTIATED"
        assert api.delete(url).status_code == 204
        assert api.delete("/v1/pops/lost-site").status_code == 204
