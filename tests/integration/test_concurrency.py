"""Concurrent requests never corrupt state: addresses stay unique, names stay unique."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from support.daemon import BUSYBOX, Daemon

pytestmark = pytest.mark.both_databases


def test_100_parallel_creates_get_unique_addresses(daemon: Daemon) -> None:
    with daemon.client() as api:
        net = api.post("/v1/networks", json={"name": f"par-{uuid.uuid4().hex[:6]}", "subnet": "10.233.0.0/24"}).json()

    def create(i: int) -> httpx.Response:
        with daemon.client() as api:
            return api.post(
                "/v1/containers",
                json={"image": BUSYBOX, "name": f"par-{i}-{uuid.uuid4().hex[:6]}", "endpoints": {net["name"]: None}},
            )

    with ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(create, range(100)))
    assert [r.status_code for r in responses] == [201] * 100, [r.text for r in responses if r.status_code != 201]
    addresses = [r.json()["endpoints"][net["name"]]["address"] for r in responses]
    assert len(set(addresses)) == 100, Counter(addresses).most_common(3)
    with daemon.client() as api:
        assert api.get(f"/v1/networks/{net['id']}").json()["addresses_in_use"] == 100
        for r in responses:
            api.delete(f"/v1/containers/{r.json()['id']}")


def test_parallel_creates_of_one_name_admit_exactly_one(daemon: Daemon) -> None:
    name = f"dup-{uuid.uuid4().hex[:6]}"

    def create(_i: int) -> int:
        with daemon.client() as api:
            return api.post("/v1/containers", json={"image": BUSYBOX, "name": name}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = Counter(pool.map(create, range(20)))
    assert codes == {201: 1, 409: 19}


def test_parallel_fixed_address_requests_admit_exactly_one(daemon: Daemon) -> None:
    with daemon.client() as api:
        net = api.post("/v1/networks", json={"name": f"fix-{uuid.uuid4().hex[:6]}", "subnet": "10.234.0.0/24"}).json()

    def create(i: int) -> int:
        with daemon.client() as api:
            body = {
                "image": BUSYBOX,
                "name": f"fix-{i}-{uuid.uuid4().hex[:6]}",
                "endpoints": {net["name"]: "10.234.0.77"},
            }
            return api.post("/v1/containers", json=body).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = Counter(pool.map(create, range(20)))
    assert codes == {201: 1, 409: 19}


def test_concurrent_start_and_stop_of_one_container_stay_consistent(daemon: Daemon) -> None:
    with daemon.client() as api:
        c = api.post("/v1/containers", json={"image": BUSYBOX, "command": ["sleep", "600"]}).json()

    def start(_i: int) -> int:
        with daemon.client() as api:
            return api.post(f"/v1/containers/{c['id']}/start").status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = Counter(pool.map(start, range(10)))
    assert codes == {200: 1, 409: 9}

    def stop(_i: int) -> int:
        with daemon.client() as api:
            return api.post(f"/v1/containers/{c['id']}/stop").status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = Counter(pool.map(stop, range(10)))
    assert codes == {202: 1, 409: 9}
