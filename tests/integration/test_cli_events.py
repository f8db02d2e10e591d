"""``pop events``: the event stream printed as it happens."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from support.daemon import PASSWORD, USER, Daemon, create_container, wait_for


def pop(daemon: Daemon, home: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POP_HOST", "XDG_CONFIG_HOME")}
    env.update(
        HOME=str(home), POP_AUTH=f"{USER}:{PASSWORD}", POP_API=daemon.url, POP_HOST=f"127.0.0.1:{daemon.pop_port}"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "popvim.cli.main", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def lines_of(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            q.put(line)

    threading.Thread(target=read, daemon=True).start()
    return q


def subscribed(daemon: Daemon, api: httpx.Client, count: int = 1) -> bool:
    return f"popvim_event_stream_subscribers {float(count)}" in api.get("/metrics").text


def test_follow_prints_each_event_as_it_happens(daemon: Daemon, tmp_path: Path) -> None:

    with daemon.client() as api:  # an earlier test's stream may take a keep-alive to go
        wait_for(lambda: subscribed(daemon, api, 0), what="no subscriber left")
    proc = pop(daemon, tmp_path, "--json", "events", "--follow")
    try:
        lines = lines_of(proc)
        with daemon.client() as api:
            wait_for(lambda: subscribed(daemon, api), what="pop events to subscribe")
            c = create_container(api)
            assert api.post(f"/v1/containers/{c['id']}/start").status_code == 200
            seen: list[dict] = []
            while not any(e.get("state") == "RUNNING" for e in seen):
                seen.append(json.loads(lines.get(timeout=20)))
        states = [e["state"] for e in seen if e["kind"] == "container.state" and e["subject"] == c["id"]]
        assert states == ["CREATED", "RUNNING"]
        assert proc.poll() is None  # --follow keeps going
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_without_follow_it_stops_once_the_pop_is_quiet(daemon: Daemon, tmp_path: Path) -> None:

    with daemon.client() as api:
        wait_for(lambda: subscribed(daemon, api, 0), what="no subscriber left")
    proc = pop(daemon, tmp_path, "events", "--idle", "3")
    try:
        lines = lines_of(proc)
        with daemon.client() as api:
            wait_for(lambda: subscribed(daemon, api), what="pop events to subscribe")
            c = create_container(api)
        first = lines.get(timeout=20)
        assert " container.state " in first and c["id"] in first and "state=CREATED" in first
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
