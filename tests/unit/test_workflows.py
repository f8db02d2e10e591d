"""The orchestrator's workflows against in-memory PoPs: what each leaves on the PoPs and in the records."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.daemon import wait_for
from support.fake_pop import FakePop, FakePops

from popvim.client.models import Event
from popvim.nfv import naming
from popvim.nfv.errors import Conflict, NotFound
from popvim.nfv.orchestrator import Orchestrator
from popvim.nfv.records import NsInstance, OpOcc, VnfcRecord
from popvim.nfv.states import VnfcState
from popvim.store.db import Store

WAIT = 30.0  # an upper bound only: each operation ends as soon as its work does


def vnfd(name: str, vnf_type: str, image: str, max_instances: int = 1, initial: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "type": vnf_type,
        "vdu": [
            {
                "vm_image": [image],
                "scale_in_out": max_instances,
                "vnfc": [{"connection_point": [{"virtual_link_reference": "private"}]}] * initial,
            }
        ],
        "virtual_link": [{"name": "private"}],
        "deployment_flavour": [{"flavour_key": "docker.container"}],
    }


def nsd(servers: int = 1, client_image: str = "client-image") -> dict[str, Any]:
    """A server and a client that depends on it (seed 001's SIPp shape)."""
    client = vnfd("app-client", "client", client_image, max_instances=3)
    client["configurations"] = {"name": "cfg", "configurationParameters": [{"confKey": "RATE", "value": "10"}]}
    return {
        "name": "ns-test",
        "vld": [{"name": "private"}],
        "vnfd": [client, vnfd("app-server", "server", "server-image", max_instances=servers, initial=servers)],
        "vnf_dependency": [
            {"source": {"name": "app-server"}, "target": {"name": "app-client"}, "parameters": ["private"]}
        ],
    }


@pytest.fixture
def pop() -> FakePop:
    return FakePop("here")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'nfv.db'}")
    yield s
    s.close()


@pytest.fixture
def orchestrator(store: Store, pop: FakePop) -> Iterator[Orchestrator]:
    o = Orchestrator(store, FakePops(pop))
    yield o
    o.close()


def ended(orchestrator: Orchestrator, op: OpOcc) -> OpOcc:
    done = orchestrator.wait(op.id, WAIT)
    assert done.operation_state != "PROCESSING", done
    return done


def deploy(orchestrator: Orchestrator, descriptor: dict[str, Any]) -> tuple[NsInstance, OpOcc]:
    onboarded = orchestrator.onboard(descriptor)
    instance = orchestrator.create_instance(onboarded.id, "svc")
    return orchestrator.instance(instance.id), ended(orchestrator, orchestrator.instantiate(instance.id))


def vnfcs(orchestrator: Orchestrator, ns_id: str, vnf_name: str) -> list[VnfcRecord]:
    return next(v for v in orchestrator.instance(ns_id).vnf_instances if v.vnf_name == vnf_name).vnfcs


def test_instantiate_starts_sources_first_and_passes_their_addresses(orchestrator: Orchestrator, pop: FakePop) -> None:
    instance, op = deploy(orchestrator, nsd(servers=2))
    assert op.operation_state == "COMPLETED", op
    record = orchestrator.instance(instance.id)
    assert record.ns_state == "INSTANTIATED"
    servers, (client,) = vnfcs(orchestrator, instance.id, "app-server"), vnfcs(orchestrator, instance.id, "app-client")
    assert [c.index for c in servers] == [0, 1]
    assert pop.started.index(client.name) > max(pop.started.index(s.name) for s in servers)
    assert all(c.state == VnfcState.RUNNING for c in [*servers, client])
    seen = pop.by_name(client.name)
    assert seen.metadata["SERVER_PRIVATE"] == servers[0].addresses["private"]
    assert seen.metadata["SERVER_PRIVATE_ALL"] == ",".join(s.addresses["private"] for s in servers)
    assert seen.metadata["RATE"] == "10"
    assert seen.labels == naming.container_labels(instance.id, client.id)
    assert client.pop_container_id == seen.id and client.container_id == seen.engine_id
    (network,) = pop.networks_by_id.values()
    assert network.labels == naming.network_labels(instance.id)
    assert record.virtual_links == {"private": {"here": network.name}}


def _held_server(orchestrator: Orchestrator, pop: FakePop) -> tuple[str, str, threading.Event]:
    """An instance of ``nsd()`` on a cluster PoP whose server's start is held: (ns id, server name, the hold)."""
    pop.places = True
    instance = orchestrator.create_instance(orchestrator.onboard(nsd()).id, "svc")
    server = naming.container_name("svc", instance.id, "app-server", 0)
    hold = pop.holds[server] = threading.Event()
    return instance.id, server, hold


def test_on_a_cluster_pop_targets_start_as_soon_as_their_sources_are_placed(
    orchestrator: Orchestrator, pop: FakePop
) -> None:
    """Swarm picks a task's addresses when it places it, a second or more before the task runs:
    the client is told the server's placed address and started while the server still starts."""
    ns_id, server, hold = _held_server(orchestrator, pop)
    op = orchestrator.instantiate(ns_id)
    try:
        client = wait_for(lambda: next((n for n in pop.started if "app-client" in n), None), WAIT)
        placed = pop.by_name(server)
        assert placed.status == "CREATED" and placed.node
        assert pop.by_name(client).metadata["SERVER_PRIVATE"] == placed.endpoints[next(iter(placed.endpoints))].address
    finally:
        hold.set()
    assert ended(orchestrator, op).operation_state == "COMPLETED"
    (server_record,) = vnfcs(orchestrator, ns_id, "app-server")
    assert server_record.state == VnfcState.RUNNING
    assert server_record.addresses["private"] == pop.by_name(client).metadata["SERVER_PRIVATE"]


def test_a_placed_source_that_fails_to_start_rolls_back_its_started_targets(
    orchestrator: Orchestrator, pop: FakePop
) -> None:
    ns_id, server, hold = _held_server(orchestrator, pop)
    pop.failing_starts.add(server)
    op = orchestrator.instantiate(ns_id)
    try:
        wait_for(lambda: any("app-client" in n for n in pop.started), WAIT)
    finally:
        hold.set()
    done = ended(orchestrator, op)
    assert done.operation_state == "FAILED" and done.error is not None and "cannot be placed" in done.error
    assert pop.containers_by_id == {} and pop.networks_by_id == {}


def test_a_target_told_only_its_sources_hostname_starts_alongside_it(orchestrator: Orchestrator, pop: FakePop) -> None:
    """``hostname`` (Open Baton's parameter) tells the source's name in the service's names,
    known before it starts: on one engine too, the client starts while the server's start waits."""
    descriptor = nsd(servers=2)
    descriptor["vnf_dependency"][0]["parameters"] = ["hostname"]
    instance = orchestrator.create_instance(orchestrator.onboard(descriptor).id, "svc")
    server = naming.container_name("svc", instance.id, "app-server", 0)
    hold = pop.holds[server] = threading.Event()
    op = orchestrator.instantiate(instance.id)
    try:
        client = wait_for(lambda: next((n for n in pop.started if "app-client" in n), None), WAIT)
        assert server not in pop.started
    finally:
        hold.set()
    assert ended(orchestrator, op).operation_state == "COMPLETED"
    assert pop.by_name(client).metadata["SERVER_HOSTNAME"] == "app-server-0"
    assert pop.by_name(client).metadata["SERVER_HOSTNAME_ALL"] == "app-server-0,app-server-1"
    assert "SERVER_PRIVATE" not in pop.by_name(client).metadata


def test_a_target_told_only_names_starts_without_waiting_for_the_rest_of_its_level(
    orchestrator: Orchestrator, pop: FakePop
) -> None:
    """On a Swarm PoP a container's service is made at its start: a client told only the
    server's name starts once it is created, not once the slowest create of its level ends."""
    descriptor = nsd()
    descriptor["vnf_dependency"][0]["parameters"] = ["hostname"]
    descriptor["vnfd"][0]["vdu"][0]["vnfc"] *= 2  # two clients
    instance = orchestrator.create_instance(orchestrator.onboard(descriptor).id, "svc")
    first, second = (naming.container_name("svc", instance.id, "app-client", i) for i in (0, 1))
    hold = pop.create_holds[second] = threading.Event()
    op = orchestrator.instantiate(instance.id)
    try:
        wait_for(lambda: first in pop.started, WAIT)
        assert second not in pop.created
    finally:
        hold.set()
    assert ended(orchestrator, op).operation_state == "COMPLETED"
    assert {c.state for c in vnfcs(orchestrator, instance.id, "app-client")} == {VnfcState.RUNNING}


def test_a_target_told_the_address_of_a_vnf_told_only_names_waits_for_it(
    orchestrator: Orchestrator, pop: FakePop
) -> None:
    """server -> relay (its name) -> client (the relay's address): the relay is started as soon as
    it is created, and the client still waits for the relay's start and is told its address."""
    descriptor = nsd()
    relay = vnfd("app-relay", "relay", "relay-image")
    descriptor["vnfd"].append(relay)
    descriptor["vnf_dependency"] = [
        {"source": {"name": "app-server"}, "target": {"name": "app-relay"}, "parameters": ["hostname"]},
        {"source": {"name": "app-relay"}, "target": {"name": "app-client"}, "parameters": ["private"]},
    ]
    _, op = deploy(orchestrator, descriptor)
    assert op.operation_state == "COMPLETED", op
    (relay_record,) = vnfcs(orchestrator, op.ns_instance_id, "app-relay")
    (client,) = vnfcs(orchestrator, op.ns_instance_id, "app-client")
    assert pop.started.index(client.name) > pop.started.index(relay_record.name)
    assert pop.by_name(client.name).metadata["RELAY_PRIVATE"] == relay_record.addresses["private"]


def test_two_rewrites_of_the_names_at_once_leave_the_newer_names(orchestrator: Orchestrator, pop: FakePop) -> None:
    """A server and its client starting together set two rewrites of the service's names going:
    the one that read the server not running yet must not land last, or the client keeps no
    name for its server until some later event."""
    descriptor = nsd()
    descriptor["vnf_dependency"][0]["parameters"] = ["hostname"]
    instance, op = deploy(orchestrator, descriptor)
    assert op.operation_state == "COMPLETED", op
    (server,) = vnfcs(orchestrator, instance.id, "app-server")
    (client,) = vnfcs(orchestrator, instance.id, "app-client")
    balancers = orchestrator.balancers

    def state(record: VnfcRecord, value: str) -> None:
        assert record.pop_container_id is not None
        balancers._on_event(pop.name, Event("container.state", record.pop_container_id, 0.0, {"state": value}))

    state(server, "STARTING")
    hold = pop.exec_holds[client.name] = threading.Event()
    older = threading.Thread(target=balancers.sync_names, args=(instance.id,))
    older.start()
    try:
        wait_for(lambda: client.name not in pop.exec_holds, WAIT)  # its write to the client is held
        state(server, "RUNNING")
        balancers.sync_names(instance.id)
    finally:
        hold.set()
        older.join(WAIT)
    assert "app-server-0" in pop.hosts[client.name]
    assert "app-client-0" in pop.hosts[server.name]


def test_a_target_told_an_address_and_a_hostname_waits_for_the_address(
    orchestrator: Orchestrator, pop: FakePop
) -> None:
    descriptor = nsd()
    descriptor["vnf_dependency"][0]["parameters"] = ["hostname", "private"]
    _, op = deploy(orchestrator, descriptor)
    assert op.operation_state == "COMPLETED", op
    (server,) = vnfcs(orchestrator, op.ns_instance_id, "app-server")
    (client,) = vnfcs(orchestrator, op.ns_instance_id, "app-client")
    assert pop.started.index(client.name) > pop.started.index(server.name)
    told = pop.by_name(client.name).metadata
    assert (told["SERVER_HOSTNAME"], told["SERVER_PRIVATE"]) == ("app-server-0", server.addresses["private"])


def test_a_virtual_links_bandwidth_reaches_its_network(orchestrator: Orchestrator, pop: FakePop) -> None:
    descriptor = nsd()
    descriptor["vld"][0]["bandwidth"] = "10mbit"  # popvim's Open Baton extension; the PoP enforces it (tc)
    _, op = deploy(orchestrator, descriptor)
    assert op.operation_state == "COMPLETED", op
    (network,) = pop.networks_by_id.values()
    assert network.bandwidth == "10mbit"


def test_scale_out_adds_the_next_indexes_and_scale_in_removes_the_newest(
    orchestrator: Orchestrator, pop: FakePop
) -> None:
    instance, _ = deploy(orchestrator, nsd())
    assert orchestrator.last_scaled(instance.id, "app-client") is None
    op = ended(orchestrator, orchestrator.scale(instance.id, "app-client", "out", 2))
    assert op.operation_state == "COMPLETED", op
    scaled = vnfcs(orchestrator, instance.id, "app-client")
    assert [c.index for c in scaled] == [0, 1, 2]
    assert all(c.state == VnfcState.RUNNING for c in scaled)
    assert {c.name for c in scaled} <= pop.names()
    assert orchestrator.last_scaled(instance.id, "app-client") is not None
    with pytest.raises(Conflict, match=r"outside 1\.\.3"):
        orchestrator.scale(instance.id, "app-client", "out")
    op = ended(orchestrator, orchestrator.scale(instance.id, "app-client", "in", 2))
    assert op.operation_state == "COMPLETED", op
    assert [c.id for c in vnfcs(orchestrator, instance.id, "app-client")] == [scaled[0].id]
    assert not {c.name for c in scaled[1:]} & pop.names()
    with pytest.raises(NotFound):
        orchestrator.scale(instance.id, "no-such-vnf", "out")


def test_heal_replaces_a_dead_container_keeping_record_and_address(orchestrator: Orchestrator, pop: FakePop) -> None:
    instance, _ = deploy(orchestrator, nsd())
    (server,) = vnfcs(orchestrator, instance.id, "app-server")
    pop.kill(server.name)
    assert orchestrator.refresh(instance.id)[server.id] == VnfcState.EXITED
    op = ended(orchestrator, orchestrator.heal(instance.id))
    assert op.operation_state == "COMPLETED", op
    (healed,) = vnfcs(orchestrator, instance.id, "app-server")
    assert healed.id == server.id and healed.heals == 1 and healed.state == VnfcState.RUNNING
    assert healed.addresses == server.addresses
    assert healed.pop_container_id != server.pop_container_id
    assert server.pop_container_id not in pop.containers_by_id
    (client,) = vnfcs(orchestrator, instance.id, "app-client")
    assert client.heals == 0  # only what was not running is healed
    with pytest.raises(NotFound):
        orchestrator.heal(instance.id, ["no-such-vnfc"])


def test_dependents_of_a_moved_source_are_found_and_a_heal_tells_them_its_new_address(
    orchestrator: Orchestrator, pop: FakePop
) -> None:
    instance, _ = deploy(orchestrator, nsd(servers=2))
    servers, (client,) = vnfcs(orchestrator, instance.id, "app-server"), vnfcs(orchestrator, instance.id, "app-client")
    orchestrator.refresh(instance.id)
    assert orchestrator.stale_dependents(instance.id) == {}  # nothing moved: nothing to do
    pop.move(servers[1].name)  # the second server: only SERVER_PRIVATE_ALL names it
    orchestrator.refresh(instance.id)
    assert orchestrator.stale_dependents(instance.id) == {client.id: ["SERVER_PRIVATE_ALL"]}
    pop.move(servers[0].name)
    orchestrator.refresh(instance.id)
    moved = vnfcs(orchestrator, instance.id, "app-server")
    assert moved[0].addresses != servers[0].addresses  # the record follows the PoP
    assert orchestrator.stale_dependents(instance.id) == {client.id: ["SERVER_PRIVATE", "SERVER_PRIVATE_ALL"]}
    op = ended(orchestrator, orchestrator.heal(instance.id, [client.id]))
    assert op.operation_state == "COMPLETED", op
    (healed,) = vnfcs(orchestrator, instance.id, "app-client")
    told = pop.by_name(healed.name).metadata
    assert told["SERVER_PRIVATE"] == moved[0].addresses["private"]
    assert told["SERVER_PRIVATE_ALL"] == ",".join(s.addresses["private"] for s in moved)
    assert orchestrator.stale_dependents(instance.id) == {}


def test_scaling_a_source_leaves_its_dependents_alone(orchestrator: Orchestrator, pop: FakePop) -> None:
    descriptor = nsd()
    descriptor["vnfd"][1]["vdu"][0]["scale_in_out"] = 3  # the server may scale out
    instance, _ = deploy(orchestrator, descriptor)
    op = ended(orchestrator, orchestrator.scale(instance.id, "app-server", "out", 2))
    assert op.operation_state == "COMPLETED", op
    orchestrator.refresh(instance.id)
    assert orchestrator.stale_dependents(instance.id) == {}  # as before: a scale does not re-create them


def test_terminate_removes_everything_and_the_instance_can_be_deleted(orchestrator: Orchestrator, pop: FakePop) -> None:
    instance, _ = deploy(orchestrator, nsd())
    with pytest.raises(Conflict, match="terminated"):
        orchestrator.delete_instance(instance.id)
    op = ended(orchestrator, orchestrator.terminate(instance.id))
    assert op.operation_state == "COMPLETED", op
    assert pop.containers_by_id == {} and pop.networks_by_id == {}
    record = orchestrator.instance(instance.id)
    assert record.ns_state == "NOT_INSTANTIATED" and record.vnf_instances == [] and record.virtual_links == {}
    orchestrator.delete_instance(instance.id)
    with pytest.raises(NotFound):
        orchestrator.instance(instance.id)
    assert orchestrator.ops(instance.id) == []


def test_a_failed_instantiate_rolls_back_everything_it_made(orchestrator: Orchestrator, pop: FakePop) -> None:
    pop.broken_images.add("client-image")  # the second level fails, after the server runs
    instance, op = deploy(orchestrator, nsd())
    assert op.operation_state == "FAILED"
    assert op.error is not None and "image 'client-image' not found" in op.error and "rolled back" in op.error
    assert any("app-server" in name for name in pop.created)
    assert pop.containers_by_id == {} and pop.networks_by_id == {}
    record = orchestrator.instance(instance.id)
    assert record.ns_state == "NOT_INSTANTIATED" and record.vnf_instances == []


def test_a_scale_out_failing_part_way_keeps_the_instances_there_were(orchestrator: Orchestrator, pop: FakePop) -> None:
    instance, _ = deploy(orchestrator, nsd())
    before = pop.names()
    pop.broken_images.add("client-image")
    op = ended(orchestrator, orchestrator.scale(instance.id, "app-client", "out", 2))
    assert op.operation_state == "FAILED" and op.error is not None and "not found" in op.error
    assert [c.index for c in vnfcs(orchestrator, instance.id, "app-client")] == [0]
    assert pop.names() == before
    assert orchestrator.last_scaled(instance.id, "app-client") is None  # only a scale that happened counts


def test_terminate_of_an_unreachable_pop_fails_unless_forced(orchestrator: Orchestrator, pop: FakePop) -> None:
    instance, _ = deploy(orchestrator, nsd())
    pop.unreachable = True
    op = ended(orchestrator, orchestrator.terminate(instance.id))
    assert op.operation_state == "FAILED" and op.error is not None and "UNAVAILABLE" in op.error
    assert orchestrator.instance(instance.id).vnf_instances != []  # the records still name what is there
    op = ended(orchestrator, orchestrator.terminate(instance.id, force=True))
    assert op.operation_state == "COMPLETED", op
    assert orchestrator.instance(instance.id).ns_state == "NOT_INSTANTIATED"


def test_one_operation_at_a_time_and_wait_ends_with_it(orchestrator: Orchestrator, pop: FakePop) -> None:
    onboarded = orchestrator.onboard(nsd())
    instance = orchestrator.create_instance(onboarded.id, "svc")
    pop.gate = threading.Event()  # every start waits for it
    op = orchestrator.instantiate(instance.id)
    assert orchestrator.busy(instance.id)
    with pytest.raises(Conflict, match="in progress"):
        orchestrator.terminate(instance.id)
    with pytest.raises(Conflict, match="in progress"):
        orchestrator.delete_instance(instance.id)
    assert orchestrator.wait(op.id, 0.05).operation_state == "PROCESSING"  # as it is when the time is up
    pop.gate.set()
    assert ended(orchestrator, op).operation_state == "COMPLETED"
    assert not orchestrator.busy(instance.id)


def test_an_operation_interrupted_by_a_restart_is_failed(store: Store, pop: FakePop) -> None:
    first = Orchestrator(store, FakePops(pop))
    instance = first.create_instance(first.onboard(nsd()).id, "svc")
    pop.gate = threading.Event()
    op = first.instantiate(instance.id)
    # as the daemon does when it starts again
    second = Orchestrator(store, FakePops(pop))
    try:
        after = second.op(op.id)
        assert after.operation_state == "FAILED" and after.error == "interrupted by a restart of popvimd"
    finally:
        pop.gate.set()
        first.close()
        second.close()


def test_average_cpu_is_over_running_instances(orchestrator: Orchestrator, pop: FakePop) -> None:
    instance, _ = deploy(orchestrator, nsd())
    ended(orchestrator, orchestrator.scale(instance.id, "app-client", "out"))
    first, second = vnfcs(orchestrator, instance.id, "app-client")
    pop.cpu[first.name], pop.cpu[second.name] = 30.0, 50.0
    assert orchestrator.average_cpu(instance.id, "app-client") == pytest.approx(40.0)
    pop.kill(second.name)
    orchestrator.refresh(instance.id)
    assert orchestrator.average_cpu(instance.id, "app-client") == pytest.approx(30.0)
