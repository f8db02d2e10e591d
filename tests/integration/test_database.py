"""The database across releases and accidents: migrations keep every record, and a
backup taken while popvimd runs restores to a PoP that reconciles with its engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from support.daemon import Daemon, create_container, free_subnet, unique, wait_for
from support.nslcm import deploy, wait_op

pytestmark = pytest.mark.both_databases


def popvimd_db(d: Daemon, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """``popvimd db ARGS`` on the daemon's database, as an operator runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "popvim.daemon", "db", *args, "--db", d.db_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode == 0) == ok, result
    return result


def revision(d: Daemon) -> str:
    out = popvimd_db(d, "current").stdout
    return dict(line.split(": ", 1) for line in out.splitlines())["revision"]


def nsd(image: str) -> dict[str, Any]:
    """A server and a client that depends on its address on one virtual link."""

    def vnfd(name: str, kind: str) -> dict[str, Any]:
        return {
            "name": name,
            "vendor": "popvim",
            "version": "1.0",
            "type": kind,
            "vdu": [
                {
                    "vm_image": [image],
                    "scale_in_out": 2,
                    "vimInstanceName": [],
                    "vnfc": [{"connection_point": [{"virtual_link_reference": "private"}]}],
                }
            ],
            "virtual_link": [{"name": "private"}],
            "deployment_flavour": [{"flavour_key": "docker.container"}],
        }

    return {
        "name": "db-ns",
        "vendor": "popvim",
        "version": "1.0",
        "vld": [{"name": "private"}],
        "vnfd": [vnfd("db-client", "client"), vnfd("db-server", "server")],
        "vnf_dependency": [
            {"source": {"name": "db-server"}, "target": {"name": "db-client"}, "parameters": ["private"]}
        ],
    }


def fill(api: httpx.Client, engine: docker.DockerClient, image: str) -> dict[str, Any]:
    """One of every kind of record, made through the API; what ``check`` expects back."""
    net = api.post("/v1/networks", json={"name": unique("n"), "subnet": free_subnet(engine)})
    assert net.status_code == 201, net.text
    running = create_container(api, endpoints={net.json()["name"]: None}, metadata={"ROLE": "db"})
    assert api.post(f"/v1/containers/{running['id']}/start").json()["state"] == "RUNNING"
    stopped = create_container(api)
    assert api.post(f"/v1/containers/{stopped['id']}/start").json()["state"] == "RUNNING"
    assert api.post(f"/v1/containers/{stopped['id']}/stop", params={"wait": "true"}).json()["state"] == "EXITED"
    created = create_container(api, endpoints={net.json()["name"]: None})
    pop = api.post(
        "/v1/pops",
        json={"name": unique("site"), "address": "127.0.0.1:1", "username": "u", "password": "p", "site": "lab"},
    )
    assert pop.status_code == 201, pop.text
    instance, op = deploy(api, nsd(image))
    assert op["operationState"] == "COMPLETED", op
    return {
        "network": net.json(),
        "pop": pop.json()["name"],
        "containers": {c["id"]: api.get(f"/v1/containers/{c['id']}").json() for c in (running, stopped, created)},
        "running": running["id"],
        "created": created["id"],
        "ns": api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json(),
    }


def check(d: Daemon, token: str, engine: docker.DockerClient, before: dict[str, Any]) -> None:
    """Every record is back, as it was, and still drives the engine."""
    with httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
        assert api.get("/v1/containers").status_code == 200, "the token made before did not survive"
        for cid, was in before["containers"].items():
            now = api.get(f"/v1/containers/{cid}").json()
            assert (now["name"], now["state"], now["endpoints"]) == (was["name"], was["state"], was["endpoints"])
        net = api.get(f"/v1/networks/{before['network']['id']}").json()
        assert net["subnet"] == before["network"]["subnet"]
        assert before["pop"] in {p["name"] for p in api.get("/v1/pops").json()}
        ns = api.get(f"/nslcm/v1/ns_instances/{before['ns']['id']}").json()
        assert ns["nsState"] == "INSTANTIATED"
        assert [v["vnfcs"] for v in ns["vnfInstances"]] == [v["vnfcs"] for v in before["ns"]["vnfInstances"]]
        # usable: the running container still runs and stops, the created one starts,
        # a new one gets an address no record holds, and the service terminates
        engine_id = before["containers"][before["running"]]["engine_id"]
        assert engine.containers.get(engine_id).status == "running"
        assert api.post(f"/v1/containers/{before['created']}/start").json()["state"] == "RUNNING"
        newcomer = create_container(api, endpoints={net["name"]: None})
        taken = {e["address"] for c in before["containers"].values() for e in c["endpoints"].values()}
        assert newcomer["endpoints"][net["name"]]["address"] not in taken
        assert api.post(f"/v1/containers/{before['running']}/stop", params={"wait": "true"}).json()["state"] == "EXITED"
        done = api.post(f"/nslcm/v1/ns_instances/{before['ns']['id']}/terminate")
        assert wait_op(api, done.headers["Location"])["operationState"] == "COMPLETED"


def test_records_made_at_the_first_revision_survive_the_upgrade_to_head(
    fresh_daemon: Daemon, engine: docker.DockerClient, idle_image: str
) -> None:
    from popvim.store import migrate

    first, head = migrate.first(), migrate.head()
    popvimd_db(fresh_daemon, "upgrade", "--revision", first)
    assert revision(fresh_daemon) == first
    d = fresh_daemon.start()
    token = d.token
    with d.client() as api:
        before = fill(api, engine, idle_image)
    d.kill()
    # The records go back to the first revision's schema (a no-op while it is the only
    # one), so what is upgraded below is a first-revision database full of records.
    popvimd_db(d, "downgrade", first)
    assert revision(d) == first
    applied = popvimd_db(d, "upgrade").stdout
    assert revision(d) == head, applied
    d.start()
    check(d, token, engine, before)


def test_backup_while_running_then_restore_reconciles(
    fresh_daemon: Daemon, engine: docker.DockerClient, tmp_path: Path
) -> None:
    d = fresh_daemon.start()
    with d.client() as api:
        kept = create_container(api)
        assert api.post(f"/v1/containers/{kept['id']}/start").json()["state"] == "RUNNING"
        stopped_later = create_container(api)
        assert api.post(f"/v1/containers/{stopped_later['id']}/start").json()["state"] == "RUNNING"
        created = create_container(api)
        backup = tmp_path / "pop.backup"
        wrote = popvimd_db(d, "backup", str(backup)).stdout
        assert backup.stat().st_mode & 0o777 == 0o600, wrote
        # after the snapshot: one container stops, one more is made and started
        api.post(f"/v1/containers/{stopped_later['id']}/stop", params={"wait": "true"})
        later = create_container(api)
        later = api.post(f"/v1/containers/{later['id']}/start").json()
        later_engine_id = later["engine_id"]
    d.stop()
    popvimd_db(d, "restore", str(backup))
    d.start()
    with d.client() as api:
        states = {c["id"]: c["state"] for c in api.get("/v1/containers").json()}
        # the snapshot's records, reconciled with what the engine holds now
        assert states[kept["id"]] == "RUNNING"
        assert states[created["id"]] == "CREATED"
        assert states[stopped_later["id"]] in ("EXITED", "FAILED")
        assert later["id"] not in states
        held = [
            api.get(f"/v1/containers/{cid}").json() for cid, state in states.items() if state in ("CREATED", "RUNNING")
        ]
        addresses = [e["address"] for c in held for e in c["endpoints"].values()]
        assert len(addresses) == len(set(addresses))
    # the container unknown to the restored store is an orphan: removed from the engine
    wait_for(
        lambda: later_engine_id not in {c.id for c in engine.containers.list(all=True)},
        30,
        what="the orphan to be removed",
    )


def test_restore_refuses_what_is_not_a_backup_of_this_kind(fresh_daemon: Daemon, tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_text(json.dumps({"not": "a backup"}))
    failed = popvimd_db(fresh_daemon, "restore", str(junk), ok=False)
    assert failed.returncode == 1 and "popvimd:" in failed.stderr and "Traceback" not in failed.stderr
    missing = popvimd_db(fresh_daemon, "restore", str(tmp_path / "nothing"), ok=False)
    assert "cannot read" in missing.stderr and "Traceback" not in missing.stderr
