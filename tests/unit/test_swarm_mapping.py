"""How the Swarm driver reads services and tasks as containers, and its config (no engine needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from popvim import config as cfg
from popvim.engine.errors import EngineError
from popvim.engine.swarm_driver import (
    _constraints,
    _moved_task,
    _on_node,
    _restart_condition,
    _swarm_range,
    container_view,
    current_task,
)


def service(replicas: int) -> dict[str, Any]:
    return {
        "ID": "svc1",
        "Spec": {
            "Name": "p-web",
            "Mode": {"Replicated": {"Replicas": replicas}},
            "TaskTemplate": {
                "ContainerSpec": {"Image": "sha256:abc", "Labels": {"io.popvim.id": "c1"}},
                "Networks": [{"Target": "p-private"}],
            },
        },
    }


def task(state: str, desired: str, created: str, node: str = "n1", code: int | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state, "Err": "task: non-zero exit (1)" if state == "failed" else ""}
    if code is not None:
        status["ContainerStatus"] = {"ContainerID": "cid", "ExitCode": code}
    return {
        "NodeID": node,
        "DesiredState": desired,
        "CreatedAt": created,
        "Status": status,
        "NetworksAttachments": [{"Network": {"Spec": {"Name": "p-private"}}, "Addresses": ["10.0.0.130/24"]}],
    }


NAMES = {"n1": "pvlab-1", "n2": "pvlab-2"}


def test_a_service_never_scaled_up_is_a_created_container() -> None:
    c = container_view(service(0), [], NAMES)
    assert (c.status, c.running, c.restarting, c.node) == ("created", False, False, "")
    assert c.networks == {"p-private": ""}
    assert c.labels == {"io.popvim.id": "c1"}


def test_the_newest_task_meant_to_run_stands_for_the_container() -> None:
    old = task("failed", "shutdown", "2026-01-01T00:00:01Z", "n1", 137)
    new = task("running", "running", "2026-01-01T00:00:05Z", "n2")
    assert current_task([new, old]) is new
    c = container_view(service(1), [old, new], NAMES)
    assert (c.status, c.running, c.node, c.networks) == ("running", True, "pvlab-2", {"p-private": "10.0.0.130"})


def test_the_task_query_slows_down_only_once_every_waited_task_is_on_its_node() -> None:
    # on its node, the next change is a container event (it nudges the query); before, only the manager knows
    assert _on_node([task("starting", "running", "2"), task("failed", "shutdown", "1")])
    assert _on_node([task("running", "shutdown", "1")])  # a Stop: the container's death is an event
    assert not _on_node([task("assigned", "running", "2"), task("running", "running", "1")])
    assert not _on_node([task("failed", "shutdown", "1")])  # its replacement is still to be made
    assert not _on_node([])
    assert not _on_node(EngineError("the manager did not answer"))


def test_a_container_starting_or_ending_nudges_the_task_query_and_an_exec_does_not() -> None:
    def event(action: str, service: str | None = "svc1") -> dict[str, Any]:
        attributes = {"com.docker.swarm.service.id": service} if service else {}
        return {"Type": "container", "Action": action, "Actor": {"Attributes": attributes}}

    assert [_moved_task(event(a)) for a in ("create", "start", "die", "destroy")] == ["svc1"] * 4
    assert _moved_task(event("exec_start: sh -c printf")) is None  # names being written
    assert _moved_task(event("exec_die")) is None
    assert _moved_task(event("start", service=None)) is None  # not a Swarm task


def test_a_task_being_replaced_is_restarting_and_a_clean_exit_is_exited() -> None:
    replacing = [task("failed", "shutdown", "1", code=137), task("pending", "running", "2")]
    c = container_view(service(1), replacing, NAMES)
    assert (c.running, c.restarting) == (False, True)
    done = container_view(service(1), [task("complete", "shutdown", "1", code=0)], NAMES)
    assert (done.status, done.running, done.restarting, done.exit_code) == ("exited", False, False, 0)
    stopped = container_view(service(0), [task("shutdown", "shutdown", "1", code=143)], NAMES)
    assert (stopped.status, stopped.running, stopped.exit_code) == ("exited", False, 143)


def test_restart_policies_keep_lost_tasks_coming_back() -> None:
    assert _restart_condition(None)["Condition"] == "on-failure"
    assert _restart_condition("no")["Condition"] == "on-failure"
    assert _restart_condition("always")["Condition"] == "any"
    assert _restart_condition("on-failure:3") == {"Condition": "on-failure", "Delay": 500_000_000, "MaxAttempts": 3}


def test_sites_and_constraints_from_labels_and_swarm_s_half_of_the_subnet() -> None:
    labels = {"io.popvim.site": "site2", "io.popvim.constraints": "node.role==worker; node.labels.disk==ssd"}
    assert _constraints(labels) == ["node.role==worker", "node.labels.disk==ssd", "node.labels.site==site2"]
    assert _constraints({}) == []
    assert _swarm_range("10.1.2.0/24") == "10.1.2.128/25"


def test_config_engine_and_swarm_nodes(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[pop]\nengine = "swarm"\n[swarm.nodes]\nnode2 = "tcp://10.0.0.12:2376"\n')
    loaded = cfg.load(path)
    assert (loaded.engine, loaded.swarm_nodes) == ("swarm", {"node2": "tcp://10.0.0.12:2376"})
    path.write_text('[pop]\nengine = "kubernetes"\n')
    with pytest.raises(ValueError, match="engine"):
        cfg.load(path)
    path.write_text("[swarm]\nnodes = 3\n")
    with pytest.raises(ValueError, match="nodes"):
        cfg.load(path)
