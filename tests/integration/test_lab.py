"""scripts/lab.sh gives a real multi-host Swarm on one machine, and takes it all away.

These talk to the engines with the docker SDK directly: they prove the lab that
the Swarm engine's tests will stand on. The last test takes the session's lab
down; a later user of the ``lab`` fixture gets it up again.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from docker.types import EndpointSpec, ServiceMode
from support.daemon import BUSYBOX, free_subnet, unique, wait_for
from support.lab import LAB_SH, Lab, traces

VNF_BASE = "popvim-test/vnf-base:latest"
# An HTTP server whose page is its hostname: a reply says who answered.
WEB = ["sh", "-c", "mkdir -p /www && hostname >/www/index.html && exec httpd -f -p 8080 -h /www"]


def fetch(container: Any, address: str) -> str:
    """GET / of the WEB server at ``address``, from inside ``container`` (busybox nc); "" if it fails."""
    code, out = container.exec_run(["sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {address} 8080"])
    return out.decode() if code == 0 else ""


def test_every_node_engine_answers_and_holds_the_test_images(lab: Lab, engine: docker.DockerClient) -> None:
    assert [n.index for n in lab.nodes] == [1, 2, 3]
    for node in lab.nodes:
        client = node.client()
        assert client.ping()
        info = client.info()
        assert info["Name"] == node.name  # its own hostname, so Swarm tells the nodes apart
        assert info["ID"] != engine.info()["ID"]
        for image in (BUSYBOX, VNF_BASE):
            assert client.images.get(image).id == engine.images.get(image).id
        assert ipaddress.ip_address(node.address) in ipaddress.ip_network(lab.status["subnet"])


def test_the_host_manages_a_swarm_of_labelled_workers(lab: Lab) -> None:
    manager = lab.manager()
    nodes = {n.id: n.attrs for n in manager.nodes.list()}
    me = manager.info()["Swarm"]["NodeID"]
    assert nodes[me]["Spec"]["Availability"] == "drain"  # tasks never land beside other users' containers
    assert nodes[me]["ManagerStatus"]["Addr"] == f"{lab.status['host_address']}:2377"
    for node in lab.nodes:
        attrs = nodes[node.swarm_node_id]
        assert attrs["Spec"]["Role"] == "worker"
        assert attrs["Status"]["State"] == "ready"
        assert attrs["Status"]["Addr"] == node.address
        assert attrs["Spec"]["Labels"]["lab.node"] == node.name
        assert attrs["Spec"]["Labels"]["site"] == f"site{node.index}"


@pytest.fixture
def overlay(lab: Lab) -> Iterator[Any]:
    net = lab.manager().networks.create(unique("lab-ov"), driver="overlay", attachable=True)
    yield net
    for node in lab.nodes:  # plain containers a test attached must be gone first
        for c in node.client().containers.list(all=True, filters={"label": "popvim.lab.test"}):
            c.remove(force=True)
    wait_for(lambda: _try_remove(net), timeout=30, interval=0.3, what="overlay removal")


def _try_remove(net: Any) -> bool:
    try:
        net.remove()
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError:
        return False  # tasks still detaching
    return True


@pytest.fixture
def web(lab: Lab, overlay: Any) -> Iterator[Any]:
    service = lab.manager().services.create(
        BUSYBOX,
        command=WEB,
        name=unique("lab-web"),
        networks=[overlay.id],
        endpoint_spec=EndpointSpec(mode="dnsrr"),  # no IPVS here: the VIP would not route
        mode=ServiceMode("replicated", replicas=3),
    )
    yield service
    service.remove()


def running_tasks(service: Any, count: int) -> list[dict[str, Any]] | None:
    tasks = [t for t in service.tasks(filters={"desired-state": "running"}) if t["Status"]["State"] == "running"]
    return tasks if len(tasks) >= count else None


def task_container(lab: Lab, task: dict[str, Any]) -> Any:
    node = lab.node(task["NodeID"])
    return node.client().containers.get(task["Status"]["ContainerStatus"]["ContainerID"])


def overlay_address(task: dict[str, Any], network_id: str) -> str:
    attachment = next(a for a in task["NetworksAttachments"] if a["Network"]["ID"] == network_id)
    return attachment["Addresses"][0].split("/")[0]


def test_a_replicated_service_spreads_and_its_overlay_carries_traffic_across_nodes(
    lab: Lab, overlay: Any, web: Any
) -> None:
    tasks = wait_for(lambda: running_tasks(web, 3), timeout=90, interval=0.3, what="3 running tasks")
    assert len({t["NodeID"] for t in tasks}) >= 2, tasks

    # A plain container with a fixed address on the attachable overlay, on another
    # node than the task it talks to; traffic both ways crosses nodes (VXLAN).
    target = tasks[0]
    other = next(n for n in lab.nodes if n.swarm_node_id != target["NodeID"])
    subnet = ipaddress.ip_network(lab.manager().networks.get(overlay.id).attrs["IPAM"]["Config"][0]["Subnet"])
    fixed = str(subnet.network_address + 200)
    api = other.client().api
    created = api.create_container(
        BUSYBOX,
        WEB,
        name=unique("lab-plain"),
        labels={"popvim.lab.test": "1"},
        host_config=api.create_host_config(network_mode=overlay.name),
        networking_config=api.create_networking_config({overlay.name: api.create_endpoint_config(ipv4_address=fixed)}),
    )
    api.start(created["Id"])
    plain = other.client().containers.get(created["Id"])
    assert plain.attrs["NetworkSettings"]["Networks"][overlay.name]["IPAddress"] == fixed

    target_container = task_container(lab, target)
    reply = wait_for(
        lambda: (r := fetch(plain, overlay_address(target, overlay.id))) and "200 OK" in r and r,
        timeout=30,
        interval=0.3,
        what="the task's page over the overlay",
    )
    assert reply.rstrip().endswith(target_container.attrs["Config"]["Hostname"])
    reply = wait_for(
        lambda: (r := fetch(target_container, fixed)) and "200 OK" in r and r,
        timeout=30,
        interval=0.3,
        what="the plain container's page over the overlay",
    )
    assert reply.rstrip().endswith(plain.attrs["Config"]["Hostname"])

    # dnsrr: the service name resolves to every task, from any node
    code, out = plain.exec_run(["nslookup", f"tasks.{web.name}"])
    assert code == 0, out
    for t in tasks:
        assert overlay_address(t, overlay.id) in out.decode()


def test_host_bridge_networks_still_work_while_the_lab_swarm_is_active(lab: Lab, engine: docker.DockerClient) -> None:
    # The lab's Swarm takes its addresses from the lab's own block, so the host's
    # local pool and other users' explicit subnets are untouched.
    block = ipaddress.ip_network(lab.status["subnet"]).supernet(new_prefix=16)
    for name in ("ingress", "docker_gwbridge"):
        config = engine.networks.get(name).attrs["IPAM"]["Config"]
        assert all(ipaddress.ip_network(c["Subnet"]).subnet_of(block) for c in config), (name, config)

    pooled = engine.networks.create(unique("lab-br"), driver="bridge")
    explicit = engine.networks.create(
        unique("lab-br"),
        driver="bridge",
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=free_subnet(engine))]),
    )
    try:
        for net in (pooled, explicit):
            out = engine.containers.run(BUSYBOX, ["ip", "-4", "addr", "show", "eth0"], network=net.name, remove=True)
            subnet = net.attrs["IPAM"]["Config"][0]["Subnet"]
            address = next(
                w.split("/")[0]
                for line in out.decode().splitlines()
                if "inet " in line
                for w in line.split()
                if "/" in w
            )
            assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
    finally:
        pooled.remove()
        explicit.remove()


def test_a_stopped_node_engine_is_a_lost_host_to_swarm_and_comes_back(lab: Lab) -> None:
    manager = lab.manager()
    node = lab.nodes[-1]

    def state() -> str:
        return str(manager.nodes.get(node.swarm_node_id).attrs["Status"]["State"])

    lab.stop_node(node.index)
    wait_for(lambda: state() == "down", timeout=60, interval=0.3, what=f"{node.name} down in Swarm")
    lab.restart_stopped()
    wait_for(lambda: state() == "ready", timeout=60, interval=0.3, what=f"{node.name} ready again")
    assert node.client().ping()


def test_down_after_a_half_made_up_leaves_no_trace(engine: docker.DockerClient, lab: Lab) -> None:
    """A crash mid-up (here: killed once the first engine socket exists), then down."""
    name = "pvcrash"
    env = {**os.environ, "POPVIM_LAB": name, "LAB_IMAGES": BUSYBOX}
    up = subprocess.Popen(
        [str(LAB_SH), "up", "2"], env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(
            lambda: Path(f"/run/{name}-1.sock").exists() or up.poll() is not None,
            timeout=60,
            interval=0.1,
            what="the first node's dockerd socket",
        )
    finally:
        os.killpg(up.pid, signal.SIGKILL)
        up.wait()
    assert traces(name, engine), "the interrupted up left nothing to clean: the test proves nothing"
    down = subprocess.run([str(LAB_SH), "down"], env=env, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    assert traces(name, engine) == []
    # the session's lab was not touched
    assert all(n.client().ping() for n in lab.nodes)


def test_a_lab_refuses_to_take_over_a_swarm_it_did_not_make(engine: docker.DockerClient, lab: Lab) -> None:
    env = {**os.environ, "POPVIM_LAB": "pvother", "LAB_IMAGES": BUSYBOX}
    up = subprocess.run([str(LAB_SH), "up", "1", "--swarm"], env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 1
    assert "did not make" in up.stderr, up.stderr
    assert traces("pvother", engine) == []  # refused before making anything
    assert engine.info()["Swarm"]["Cluster"]["ID"] == lab.status["swarm"]["cluster_id"]


def test_down_removes_every_trace(lab: Lab, engine: docker.DockerClient) -> None:
    assert traces(lab.name, engine)  # up: the check below sees real objects
    lab.down()
    assert traces(lab.name, engine) == []
    assert engine.info()["Swarm"]["LocalNodeState"] == "inactive"
    names = {n.name for n in engine.networks.list()}
    assert "ingress" not in names
    # idempotent: a second down finds nothing and succeeds
    lab.down()
