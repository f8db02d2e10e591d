"""The real ``openstack`` command (python-openstackclient) against a running popvimd,
configured by a clouds.yaml as its users write one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml
from support.daemon import PASSWORD, USER, Daemon, free_subnet, unique, wait_for

OPENSTACK = str(Path(sys.executable).with_name("openstack"))


# Its own address pool for the default network: other test runs on this engine take
# 172.16.0.0/12's sixteen /16s (popvim's default pool) quickly.
DAEMON_CONFIG = '[network]\npool = "10.64.0.0/10"\n'  # for the shared ``daemon`` fixture


class Cli:
    def __init__(self, daemon: Daemon, directory: Path, password: str = PASSWORD) -> None:
        clouds = {
            "clouds": {
                "popvim": {
                    "auth": {
                        "auth_url": f"{daemon.url}/identity",
                        "username": USER,
                        "password": password,
                        "project_name": daemon.name,
                        "user_domain_name": "Default",
                        "project_domain_name": "Default",
                    },
                    "region_name": "RegionOne",
                    "identity_api_version": 3,
                }
            }
        }
        self.config = directory / "clouds.yaml"
        self.config.write_text(yaml.safe_dump(clouds))
        self.env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(self.config), "OS_CLOUD": "popvim"}
        for key in [k for k in self.env if k.startswith("OS_") and k not in ("OS_CLIENT_CONFIG_FILE", "OS_CLOUD")]:
            del self.env[key]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([OPENSTACK, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def ok(self, *args: str) -> Any:
        done = self.run(*args, "-f", "json")
        assert done.returncode == 0, f"openstack {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None


@pytest.fixture(scope="module")
def cli(daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(daemon, tmp_path_factory.mktemp("clouds"))


def test_server_create_wait_list_delete(cli: Cli, daemon: Daemon, engine: docker.DockerClient, idle_image: str) -> None:
    name = unique("cli")
    network = unique("clinet")
    cli.ok("network", "create", network)
    cli.ok("subnet", "create", "--network", network, "--subnet-range", free_subnet(engine), f"{network}-sub")
    assert network in {n["Name"] for n in cli.ok("network", "list")}
    assert idle_image in {i["Name"] for i in cli.ok("image", "list")}
    assert "m1.tiny" in {f["Name"] for f in cli.ok("flavor", "list")}

    server = cli.ok(
        "server", "create", "--image", idle_image, "--flavor", "m1.tiny", "--network", network, "--wait", name
    )
    assert server["status"] == "ACTIVE"
    assert engine.containers.get(f"{daemon.prefix}{name}").status == "running"
    listed = {s["Name"]: s for s in cli.ok("server", "list")}
    assert listed[name]["Status"] == "ACTIVE"
    assert network in str(listed[name]["Networks"])

    done = cli.run("server", "delete", "--wait", name)
    assert done.returncode == 0, done.stderr
    assert name not in {s["Name"] for s in cli.ok("server", "list")}
    deleted = cli.run("network", "delete", network)
    assert deleted.returncode == 0, deleted.stderr
    assert network not in {n["Name"] for n in cli.ok("network", "list")}


def test_server_stop_start_and_reboot_keep_its_address(cli: Cli, idle_image: str) -> None:
    name = unique("cli")
    server = cli.ok("server", "create", "--image", idle_image, "--flavor", "m1.tiny", "--wait", name)
    addresses = server["addresses"]

    def status_is(wanted: str) -> bool:
        return bool(cli.ok("server", "show", name)["status"] == wanted)

    done = cli.run("server", "stop", name)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: status_is("SHUTOFF"), timeout=60, what="SHUTOFF")
    done = cli.run("server", "start", name)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: status_is("ACTIVE"), timeout=60, what="ACTIVE")
    assert cli.ok("server", "show", name)["addresses"] == addresses
    for kind in ("--soft", "--hard"):
        done = cli.run("server", "reboot", kind, "--wait", name)
        assert done.returncode == 0, done.stderr
        shown = cli.ok("server", "show", name)
        assert shown["status"] == "ACTIVE" and shown["addresses"] == addresses
    refused = cli.run("server", "start", name)  # Nova's rule: only a SHUTOFF server starts
    assert refused.returncode != 0 and "409" in refused.stderr
    done = cli.run("server", "delete", "--wait", name)
    assert done.returncode == 0, done.stderr


def test_wrong_password_missing_image_and_missing_flavor_are_clear(
    cli: Cli, daemon: Daemon, idle_image: str, tmp_path: Path
) -> None:
    wrong = Cli(daemon, tmp_path, password="not-the-password").run("server", "list")
    assert wrong.returncode != 0
    assert "The request you have made requires authentication. (HTTP 401)" in wrong.stderr

    missing_image = cli.run("server", "create", "--image", "no-such-image", "--flavor", "m1.tiny", unique("cli"))
    assert missing_image.returncode != 0
    assert "No Image found for no-such-image" in missing_image.stderr

    missing_flavor = cli.run("server", "create", "--image", idle_image, "--flavor", "no-such-flavor", unique("cli"))
    assert missing_flavor.returncode != 0
    assert "No Flavor found for no-such-flavor" in missing_flavor.stderr
