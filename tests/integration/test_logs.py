"""--log-format json: one object per line, and a request's id in its log lines and events."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from support.daemon import BUSYBOX, SLEEPER, USER, Daemon, unique, wait_for


@pytest.fixture
def json_daemon(engine: docker.DockerClient, tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "state", extra_args=["--log-format", "json"])
    try:
        yield d.start()
    finally:
        d.kill()
        d.purge()


def log_entries(daemon: Daemon) -> list[dict[str, Any]]:
    lines = [line for line in daemon.log().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is a JSON object
    for entry in entries:
        assert {"time", "level", "logger", "event"} <= entry.keys(), entry
    return entries


def test_json_logs_carry_the_request_id_into_the_events_the_request_caused(json_daemon: Daemon) -> None:
    seen: list[dict[str, Any]] = []
    subscribed = threading.Event()

    def follow() -> None:
        with json_daemon.client() as api, api.stream("GET", "/v1/events", params={"keepalive": 0.2}) as r:
            subscribed.set()
            for line in r.iter_lines():
                if line.strip():
                    seen.append(json.loads(line))
                if any(e.get("kind") == "container.state" for e in seen):
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert subscribed.wait(15)
    with json_daemon.client() as api:
        wait_for(lambda: api.get("/metrics").text.count("popvim_event_stream_subscribers 1.0"), what="subscribed")
        r = api.post(
            "/v1/containers",
            json={"image": BUSYBOX, "name": unique(), "command": SLEEPER},
            headers={"X-Request-ID": "req-ops-42"},
        )
        assert r.status_code == 201, r.text
        assert r.headers["x-request-id"] == "req-ops-42"
        other = api.get("/v1/containers")
        generated = other.headers["x-request-id"]
        assert generated and generated != "req-ops-42"
    reader.join(15)
    event = next(e for e in seen if e.get("kind") == "container.state")
    assert event["request_id"] == "req-ops-42" and event["state"] == "CREATED"

    entries = wait_for(
        lambda: (
            (es := log_entries(json_daemon))
            and any(e.get("route") == "/v1/containers" and e.get("request_id") == "req-ops-42" for e in es)
            and any(e.get("route") == "/v1/containers" and e.get("request_id") == generated for e in es)
            and es
        ),
        what="both access lines (the log thread writes them a moment after the answers)",
    )
    access = next(e for e in entries if e.get("request_id") == "req-ops-42" and e["logger"] == "popvim.rest")
    assert access["level"] == "INFO" and access["method"] == "POST" and access["status"] == 201
    assert access["user"] == USER and access["duration_ms"] >= 0
    assert any(e["logger"] == "popvim.events" and e.get("request_id") == "req-ops-42" for e in entries)
    assert any(e.get("request_id") == generated and e.get("route") == "/v1/containers" for e in entries)


def test_an_unknown_log_format_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "popvim.daemon", "--state-dir", str(tmp_path), "--log-format", "xml"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--log-format must be one of text, json" in done.stderr
