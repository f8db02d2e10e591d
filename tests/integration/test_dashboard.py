"""The web dashboard in a real browser: Debian's chromium, driven headless through
Debian's chromedriver by selenium (support/browser.py). Screenshots land in each test's
tmp dir. The load balancer's backends and load tests are shown in test_load_balancer.py,
on its two-site service."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from support.browser import chromium, click, log_in, wait
from support.daemon import BUSYBOX, SLEEPER, USER, Daemon, create_container, wait_for
from support.nslcm import deploy, wait_op


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def state_of(browser: WebDriver, name: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f'#containers-table tr[data-name="{name}"] td.state').text


def test_wrong_password_is_refused_on_the_page(daemon: Daemon, browser: WebDriver, tmp_path: Path) -> None:
    browser.get(f"{daemon.url}/dashboard")
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{daemon.url}/dashboard")
    WebDriverWait(browser, 10).until(ec.visibility_of_element_located((By.ID, "username"))).send_keys(USER)
    browser.find_element(By.ID, "password").send_keys("wrong-password")
    browser.find_element(By.ID, "login-button").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "login-error").text)
    assert not browser.find_element(By.ID, "app").is_displayed()
    browser.save_screenshot(str(tmp_path / "login-refused.png"))


def test_container_made_over_rest_appears_live_then_starts_and_stops_from_the_page(
    daemon: Daemon, api: httpx.Client, browser: WebDriver, tmp_path: Path
) -> None:
    log_in(browser, daemon)
    browser.execute_script("window.notReloaded = true")
    name = f"dash-{uuid.uuid4().hex[:6]}"
    create_container(api, name=name)

    wait(browser, 2).until(lambda b: state_of(b, name) == "CREATED")
    assert browser.execute_script("return window.notReloaded === true"), "the page reloaded"
    browser.save_screenshot(str(tmp_path / "created.png"))

    click(browser, f'tr[data-name="{name}"] button[data-action="start"]')
    wait(browser, 15).until(lambda b: state_of(b, name) == "RUNNING")
    assert api.get(f"/v1/containers/{name}").json()["state"] == "RUNNING"

    # its CPU and memory chart, drawn from popvimd's background samples (two are needed for a line)
    click(browser, f'tr[data-name="{name}"] a.link')
    wait(browser, 40).until(lambda b: b.find_element(By.CSS_SELECTOR, "#usage polyline.cpu").get_attribute("points"))
    assert browser.find_element(By.CSS_SELECTOR, "#usage polyline.mem").get_attribute("points")
    browser.save_screenshot(str(tmp_path / "chart.png"))

    click(browser, f'tr[data-name="{name}"] button[data-action="stop"]')
    wait(browser, 15).until(lambda b: state_of(b, name) in ("EXITED", "FAILED"))
    assert api.get(f"/v1/containers/{name}").json()["state"] in ("EXITED", "FAILED")
    assert browser.execute_script("return window.notReloaded === true"), "the page reloaded"
    browser.save_screenshot(str(tmp_path / "stopped.png"))

    click(browser, f'tr[data-name="{name}"] button[data-action="delete"]')
    wait(browser, 5).until(ec.alert_is_present()).accept()
    wait(browser, 15).until(lambda b: not b.find_elements(By.CSS_SELECTOR, f'tr[data-name="{name}"]'))
    assert api.get(f"/v1/containers/{name}").status_code == 404


def test_container_table_is_paged(daemon: Daemon, api: httpx.Client, browser: WebDriver, tmp_path: Path) -> None:
    for _ in range(55):
        create_container(api, name=f"page-{uuid.uuid4().hex[:6]}")
    log_in(browser, daemon)
    rows = browser.find_elements(By.CSS_SELECTOR, "#containers-table tbody tr")
    assert len(rows) == 50, "one page of rows, not every container"
    assert "page 1 of 2" in browser.find_element(By.ID, "page-info").text
    click(browser, "#next-page")
    wait(browser, 5).until(ec.text_to_be_present_in_element((By.ID, "page-info"), "page 2 of 2"))
    browser.save_screenshot(str(tmp_path / "page-2.png"))


def small_nsd(image: str) -> dict[str, Any]:
    vnfd = {
        "name": "dash-vnf",
        "vendor": "popvim",
        "version": "1.0",
        "type": "app",
        "vdu": [
            {
                "vm_image": [image],
                "scale_in_out": 2,
                "vnfc": [{"connection_point": [{"virtual_link_reference": "private"}]}],
                "vimInstanceName": [],
            }
        ],
        "virtual_link": [{"name": "private"}],
        "deployment_flavour": [{"flavour_key": "docker.container"}],
    }
    return {
        "name": f"dash-ns-{uuid.uuid4().hex[:6]}",
        "vendor": "popvim",
        "version": "1.0",
        "vld": [{"name": "private"}],
        "vnfd": [vnfd],
    }


def test_network_service_page_shows_its_vnfs_and_vnfcs(
    daemon: Daemon, api: httpx.Client, browser: WebDriver, idle_image: str, tmp_path: Path
) -> None:
    instance, op = deploy(api, small_nsd(idle_image), name="dash-service")
    assert op["operationState"] == "COMPLETED", op
    try:
        log_in(browser, daemon)
        click(browser, 'nav a[data-view="services"]')
        click(browser, f'#services tr[data-id="{instance["id"]}"] a')
        wait(browser, 10).until(ec.text_to_be_present_in_element((By.ID, "service-name"), "dash-service"))
        browser.save_screenshot(str(tmp_path / "service-opened.png"))
        wait(browser, 10).until(lambda b: b.find_element(By.ID, "service-state").text == "INSTANTIATED")
        assert browser.find_element(By.CSS_SELECTOR, '#vnfs tr.vnf[data-vnf="dash-vnf"]')
        wait(browser, 10).until(
            lambda b: ["RUNNING" in r.text for r in b.find_elements(By.CSS_SELECTOR, "#vnfs tr.vnfc")] == [True]
        )
        browser.save_screenshot(str(tmp_path / "service.png"))

        # scale out from the page: a second VNFC shows up on the page
        click(browser, 'tr.vnf[data-vnf="dash-vnf"] button[data-action="scale-out"]')
        wait(browser, 60).until(
            lambda b: len([r for r in b.find_elements(By.CSS_SELECTOR, "#vnfs tr.vnfc") if "RUNNING" in r.text]) == 2
        )
        browser.save_screenshot(str(tmp_path / "service-scaled.png"))

        click(browser, "#heal")
        wait(browser, 60).until(
            lambda b: any(
                "HEAL" in r.text and "COMPLETED" in r.text for r in b.find_elements(By.CSS_SELECTOR, "#ops tbody tr")
            )
        )
        click(browser, "#terminate")
        wait(browser, 5).until(ec.alert_is_present()).accept()
        wait(browser, 60).until(lambda b: b.find_element(By.ID, "service-state").text == "NOT_INSTANTIATED")
        assert not browser.find_elements(By.CSS_SELECTOR, "#vnfs tr.vnfc")
        browser.save_screenshot(str(tmp_path / "service-terminated.png"))
    finally:
        if api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()["nsState"] != "NOT_INSTANTIATED":
            done = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/terminate", json={"force": True})
            if done.status_code == 202:
                wait_op(api, done.headers["Location"])


def test_page_and_assets_are_public_and_data_needs_a_token(daemon: Daemon) -> None:
    with httpx.Client(base_url=daemon.url) as anonymous:
        page = anonymous.get("/dashboard")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "default-src 'self'" in page.headers["content-security-policy"]
        for asset in ("app.js", "app.css", "favicon.svg"):
            assert anonymous.get(f"/dashboard/static/{asset}").status_code == 200, asset
        assert anonymous.get("/dashboard/static/nope.js").status_code == 401
        assert anonymous.post("/v1/events/ticket").status_code == 401
        assert anonymous.get("/v1/events/sse").status_code == 401
        assert anonymous.get("/v1/events/sse", params={"ticket": "made-up"}).status_code == 401


def test_sse_ticket_is_single_use_and_streams_events(daemon: Daemon, api: httpx.Client) -> None:
    ticket = api.post("/v1/events/ticket")
    assert ticket.status_code == 200, ticket.text
    url = ticket.json()["url"]
    name = f"sse-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=daemon.url, timeout=30) as browserish:
        with browserish.stream("GET", url) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            # the same ticket again: refused, it was spent on the open stream
            again = browserish.get(url)
            assert again.status_code == 401 and again.json()["error"]["code"]
            create_container(api, name=name)
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[len("data: ") :])
                    if event.get("name") == name and event["kind"] == "container.state":
                        assert event["state"] == "CREATED"
                        break


def test_usage_history_comes_from_the_sampler(api: httpx.Client) -> None:
    running = api.post(
        "/v1/containers/run", json={"image": BUSYBOX, "name": f"use-{uuid.uuid4().hex[:6]}", "command": SLEEPER}
    )
    assert running.status_code == 201, running.text
    cid = running.json()["id"]
    history = wait_for(
        lambda: (h := api.get(f"/v1/containers/{cid}/usage").json())["points"] and h,
        timeout=30,
        interval=0.5,
        what="two usage samples",
    )
    point = history["points"][-1]
    assert point["memory_bytes"] > 0 and point["cpu_percent"] >= 0
    assert history["window_seconds"] == 120 * history["interval"] > 0
    assert api.get("/v1/containers/nope/usage").status_code == 404


def test_networks_and_pops_views_then_log_out(daemon: Daemon, browser: WebDriver, tmp_path: Path) -> None:
    log_in(browser, daemon)
    click(browser, 'nav a[data-view="networks"]')
    wait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#networks tbody tr"))
    assert "private" in browser.find_element(By.ID, "networks").text  # the PoP's default network
    browser.save_screenshot(str(tmp_path / "networks.png"))
    gone = f"gone-{uuid.uuid4().hex[:6]}"  # registered, but nothing listens there
    with daemon.client() as api:
        r = api.post("/v1/pops", json={"name": gone, "address": "127.0.0.1:1", "username": "u", "password": "p"})
        assert r.status_code == 201, r.text
    try:
        click(browser, 'nav a[data-view="pops"]')
        wait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, f'#pops tr[data-name="{gone}"]'))
        local = browser.find_element(By.CSS_SELECTOR, f'#pops tr[data-name="{daemon.name}"]').text
        assert "this PoP" in local and "answers" in local and "engine up" in local, local
        assert "unreachable" in browser.find_element(By.CSS_SELECTOR, f'#pops tr[data-name="{gone}"]').text
        browser.save_screenshot(str(tmp_path / "pops.png"))
    finally:
        with daemon.client() as api:
            assert api.delete(f"/v1/pops/{gone}").status_code == 204
    click(browser, "#logout")
    wait(browser, 10).until(lambda b: b.find_element(By.ID, "username").is_displayed())
    assert browser.execute_script("return sessionStorage.getItem('popvim.token')") is None


def test_pop_health_says_whether_the_orchestrator_reaches_each_pop(daemon: Daemon) -> None:
    gone = f"gone-{uuid.uuid4().hex[:6]}"
    with daemon.client() as api:
        assert (
            api.post(
                "/v1/pops", json={"name": gone, "address": "127.0.0.1:1", "username": "u", "password": "p"}
            ).status_code
            == 201
        )
        try:
            local = api.get(f"/v1/pops/{daemon.name}/health").json()
            assert local["reachable"] is True and local["latency_ms"] >= 0, local
            down = api.get(f"/v1/pops/{gone}/health").json()
            assert down["reachable"] is False and down["error"], down
            assert api.get("/v1/pops/nowhere/health").status_code == 404
        finally:
            assert api.delete(f"/v1/pops/{gone}").status_code == 204


def test_sse_streams_count_against_the_per_user_stream_cap(engine: Any, tmp_path: Path) -> None:  # noqa: ARG001
    d = Daemon(tmp_path / "state", config_text="[limits]\nstreams_per_user = 1\n").start()
    try:
        with d.client(timeout=10) as api, httpx.Client(base_url=d.url, timeout=10) as browserish:
            with browserish.stream("GET", api.post("/v1/events/ticket").json()["url"]) as sse:
                assert sse.status_code == 200
                refused = browserish.get(api.post("/v1/events/ticket").json()["url"])
                assert refused.status_code == 429, refused.text
                assert refused.json()["error"]["code"] == "too_many_requests"
                assert api.get("/v1/events").status_code == 429  # the NDJSON feed shares the cap

            def another() -> bool:
                with browserish.stream("GET", api.post("/v1/events/ticket").json()["url"]) as r:
                    return r.status_code == 200

            wait_for(another, what="the slot to be free once the SSE stream closed")
    finally:
        d.stop()
        d.purge()
