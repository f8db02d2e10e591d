"""What runs INSIDE a load-balancer container: never imported by popvim, only sent.

nfv/loadbalancer.py runs this file's text as ``python3 -c <text> <json>``
through the Pop protocol's Exec, so the container needs nothing but Debian's
haproxy and python3, and each change costs one Exec. It brings HAProxy's
running servers to the wanted set through the Runtime API (``add server``,
``enable health``, ``set server ... state drain|maint|ready``, ``shutdown
sessions``, ``del server``), drains the servers named in ``drain`` first (no new
requests, the running ones finish), and then rewrites the configuration file
so that a restarted HAProxy starts with the same set. It prints one JSON
object saying what it did. Standard library only; Python 3.9 or later.

The argument: ``{socket, backend, servers: [{name, addr, port}], options,
drain: [names], drain_timeout, config, config_path}``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from typing import Any

ADMIN_FORCED_MAINT, ADMIN_FORCED_DRAIN = 0x01, 0x08
SETTLE = 3.0  # seconds a server in maintenance may keep its sessions before they are shut down


class Runtime:
    def __init__(self, path: str, backend: str) -> None:
        self.path = path
        self.backend = backend

    def ask(self, command: str) -> str:
        """One command on the admin socket (non-interactive: HAProxy answers and closes)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.path)
            s.sendall((command + "\n").encode())
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode(errors="replace").strip()

    def on(self, verb: str, name: str, rest: str = "") -> str:
        return self.ask(f"{verb} {self.backend}/{name} {rest}".strip())

    def servers(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for line in self.ask(f"show servers state {self.backend}").splitlines()[1:]:
            fields = line.split()
            if line.startswith("#") or len(fields) < 19:
                continue
            found[fields[3]] = {"addr": fields[4], "port": int(fields[18]), "admin": int(fields[6])}
        return found

    def sessions(self, name: str) -> int:
        for line in self.ask("show stat").splitlines():
            fields = line.split(",")
            if len(fields) > 4 and fields[0] == self.backend and fields[1] == name:
                return int(fields[4] or 0)
        return 0

    def remove(self, name: str) -> bool:
        """Out of rotation at once (maintenance); deleted once its sessions are gone.

        Requests still connecting to a dead server are redispatched when their
        connect times out (``option redispatch``), so they are waited for rather
        than cut; only what is left after ``SETTLE`` seconds is shut down.
        """
        self.on("set server", name, "state maint")
        started, shut = time.monotonic(), False
        while True:
            answer = self.on("del server", name).lower()
            if "deleted" in answer or "no such server" in answer:
                return True
            waited = time.monotonic() - started
            if waited > SETTLE and not shut:
                self.on("shutdown sessions server", name)
                shut = True
            if waited > SETTLE + 5:
                return False
            time.sleep(0.05)  # requests still connecting (they move on at their connect timeout)


def state_of(status: str) -> str:
    """HAProxy's ``show stat`` status (``UP``, ``UP 1/3``, ``no check``, ``DOWN``, ``MAINT (via
    x)``, ``DRAIN``, ``NOLB``...) as one of UP, DOWN, DRAIN, MAINT."""
    word = status.split()[0].upper() if status.strip() else "DOWN"
    if word.startswith("MAINT"):
        return "MAINT"
    if word in ("DRAIN", "NOLB"):
        return "DRAIN"
    return "UP" if word in ("UP", "NO", "OPEN") else "DOWN"


def _number(row: dict[str, str], key: str) -> int:
    value = row.get(key) or "0"
    return int(value) if value.isdigit() else 0


def show(runtime: Runtime) -> dict[str, Any]:
    """The backend's servers as HAProxy sees them: address, state, sessions (current and total)
    and, in http mode, requests: what the dashboard shows (``{"show": true}``; changes nothing)."""
    servers = runtime.servers()
    lines = runtime.ask("show stat").splitlines()
    header = lines[0].lstrip("# ").split(",") if lines else []
    found = []
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))  # noqa: B905 - Python 3.9 has no strict
        name = row.get("svname", "")
        if row.get("pxname") != runtime.backend or name in ("BACKEND", "FRONTEND", ""):
            continue
        have = servers.get(name, {})
        found.append(
            {
                "name": name,
                "addr": have.get("addr", row.get("addr", "").rsplit(":", 1)[0]),
                "port": have.get("port", 0),
                "state": state_of(row.get("status", "")),
                "status": row.get("status", ""),
                "sessions": _number(row, "scur"),
                "sessions_total": _number(row, "stot"),
                "requests_total": _number(row, "req_tot") if row.get("req_tot") else _number(row, "lbtot"),
            }
        )
    return {"servers": found}


def main(spec: dict[str, Any]) -> dict[str, Any]:
    runtime = Runtime(spec["socket"], spec["backend"])
    if spec.get("show"):
        return show(runtime)
    done: dict[str, Any] = {"added": [], "removed": [], "updated": [], "drained": {}, "errors": []}
    have = runtime.servers()
    wanted = {s["name"]: s for s in spec["servers"]}
    for name in spec.get("drain", []):
        if name in have and name not in wanted:
            runtime.on("set server", name, "state drain")
            started = time.monotonic()
            while runtime.sessions(name) > 0 and time.monotonic() - started < spec.get("drain_timeout", 15):
                time.sleep(0.05)
            done["drained"][name] = round(time.monotonic() - started, 3)
    for name in have:
        if name not in wanted:
            (done["removed"] if runtime.remove(name) else done["errors"]).append(name)
    for name, server in wanted.items():
        now = have.get(name)
        if now is None:
            answer = runtime.on("add server", name, f"{server['addr']}:{server['port']} {spec['options']}")
            if "registered" not in answer.lower():
                done["errors"].append(f"{name}: {answer}")
                continue
            if "check" in spec["options"].split():
                runtime.on("enable health", name)
            runtime.on("set server", name, "state ready")
            done["added"].append(name)
        elif (
            now["addr"] != server["addr"]
            or now["port"] != server["port"]
            or now["admin"] & (ADMIN_FORCED_MAINT | ADMIN_FORCED_DRAIN)
        ):
            runtime.on("set server", name, f"addr {server['addr']} port {server['port']}")
            runtime.on("set server", name, "state ready")
            done["updated"].append(name)
    path = spec["config_path"]
    with open(path + ".tmp", "w") as f:
        f.write(spec["config"])
    os.rename(path + ".tmp", path)
    return done


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
