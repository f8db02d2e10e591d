"""Authentication: only /health and login answer without a valid token, tokens
end at logout or expiry, survive a restart, and never reach the log."""

from __future__ import annotations

import re

import httpx
import pytest
from support.daemon import PASSWORD, USER, Daemon, expect_error, wait_for

from popvim.api import openstack

PUBLIC = {"/health", "/ready", "/v1/auth/login"}
METHODS = {"get", "post", "put", "patch", "delete"}
BOGUS_CREDENTIALS = [
    {},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic dGVzdGVyOnMzY3JldC1wYXNz"},  # the right user and password, but not a token
    {"Authorization": "not-a-token"},
]


def login(daemon: Daemon, username: str = USER, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{daemon.url}/v1/auth/login", json={"username": username, "password": password})


def token_of(daemon: Daemon) -> str:
    r = login(daemon)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def info_with(daemon: Daemon, token: str) -> httpx.Response:
    return httpx.get(f"{daemon.url}/v1/info", headers={"Authorization": f"Bearer {token}"})


def protected_operations(daemon: Daemon) -> list[tuple[str, str]]:
    """Every (METHOD, path) of the daemon's own OpenAPI document but the public ones,
    path parameters filled with a dummy value."""
    spec = httpx.get(f"{daemon.url}/openapi.json").json()
    operations = [
        (method.upper(), re.sub(r"\{[^}]+\}", "dummy", path))
        for path, item in spec["paths"].items()
        if path not in PUBLIC
        for method in item
        if method in METHODS and not openstack.is_public(method.upper(), path)
    ]
    assert len(operations) > 30, operations
    return operations


def test_health_needs_no_token(daemon: Daemon) -> None:
    r = httpx.get(f"{daemon.url}/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "engine": "up"}


@pytest.mark.parametrize(("username", "password"), [(USER, "wrong-password"), ("nobody", PASSWORD), ("nobody", "x")])
def test_bad_credentials_are_401(daemon: Daemon, username: str, password: str) -> None:
    error = expect_error(login(daemon, username, password), 401, code="bad_credentials")
    assert error["message"] == "invalid username or password"  # the same whichever part was wrong


def test_incomplete_login_is_422(daemon: Daemon) -> None:
    for body in ({}, {"username": USER}, {"username": "", "password": PASSWORD}):
        expect_error(httpx.post(f"{daemon.url}/v1/auth/login", json=body), 422, code="invalid_request")


def test_every_route_but_health_and_login_needs_a_valid_token(daemon: Daemon) -> None:
    refused: list[str] = []
    with httpx.Client(base_url=daemon.url) as client:
        for method, path in protected_operations(daemon):
            for headers in BOGUS_CREDENTIALS:
                for body in [None] if method == "GET" else [None, {}]:
                    r = client.request(method, path, headers=headers, json=body)
                    if openstack.face_of(path):  # 401 in the OpenStack service's shape
                        if r.status_code != 401 or not r.headers.get("www-authenticate", "").startswith("Keystone"):
                            refused.append(f"{method} {path} {headers} body={body}: {r.status_code} {r.text[:120]}")
                        continue
                    code = r.json().get("error", {}).get("code") if r.status_code == 401 else None
                    if code not in ("unauthenticated", "permission_denied"):
                        refused.append(f"{method} {path} {headers} body={body}: {r.status_code} {r.text[:120]}")
                    elif r.headers.get("www-authenticate") != "Bearer":
                        refused.append(f"{method} {path}: no WWW-Authenticate: Bearer")
    assert not refused, "\n".join(refused)


def test_a_valid_token_is_accepted_everywhere_it_is_needed(daemon: Daemon) -> None:
    token = token_of(daemon)
    for method, path in protected_operations(daemon):
        if method != "GET" or "dummy" in path or path == "/v1/events":
            continue
        r = httpx.get(f"{daemon.url}{path}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code != 401, f"{path}: {r.text}"


def test_logout_ends_only_that_token(daemon: Daemon) -> None:
    first, second = token_of(daemon), token_of(daemon)
    assert first != second
    assert info_with(daemon, first).status_code == 200
    r = httpx.post(f"{daemon.url}/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 204
    expect_error(info_with(daemon, first), 401, code="permission_denied")
    expect_error(httpx.post(f"{daemon.url}/v1/auth/logout", headers={"Authorization": f"Bearer {first}"}), 401)
    assert info_with(daemon, second).status_code == 200


def test_token_expires(fresh_daemon: Daemon) -> None:
    fresh_daemon.config_text = "[pop]\ntoken_ttl = 1\n"
    fresh_daemon.start()
    r = login(fresh_daemon)
    assert r.status_code == 200
    token = r.json()["token"]
    assert info_with(fresh_daemon, token).status_code == 200
    refused = wait_for(
        lambda: (resp := info_with(fresh_daemon, token)).status_code == 401 and resp,
        timeout=10,
        what="the token to expire",
    )
    assert refused.json()["error"] == {"code": "permission_denied", "message": "token expired"}
    expect_error(info_with(fresh_daemon, token), 401, code="permission_denied")
    assert info_with(fresh_daemon, token_of(fresh_daemon)).status_code == 200  # logging in again works


@pytest.mark.parametrize(
    "text",
    [
        "[pop]\ntoken_ttl = 0\n",
        '[pop]\ntoken_ttl = "1h"\n',
        "[pop]\nbogus = 1\n",
        "[pop]\ntoken_ttl = true\n",
        "[pop\n",
    ],
)
def test_bad_configuration_is_refused_at_start(fresh_daemon: Daemon, text: str) -> None:
    fresh_daemon.config_text = text
    with pytest.raises(AssertionError, match="popvimd exited with 2"):
        fresh_daemon.start()
    assert "popvimd: " in fresh_daemon.log()


def test_token_survives_a_restart(fresh_daemon: Daemon) -> None:
    fresh_daemon.start()
    kept, ended = token_of(fresh_daemon), token_of(fresh_daemon)
    httpx.post(f"{fresh_daemon.url}/v1/auth/logout", headers={"Authorization": f"Bearer {ended}"})
    assert fresh_daemon.stop() == 0
    fresh_daemon.start()
    assert info_with(fresh_daemon, kept).status_code == 200
    expect_error(info_with(fresh_daemon, ended), 401, code="permission_denied")


def test_log_holds_neither_password_nor_token(fresh_daemon: Daemon) -> None:
    fresh_daemon.start()
    token = token_of(fresh_daemon)
    wrong = "Wr0ng-Passw0rd-in-the-log?"
    expect_error(login(fresh_daemon, USER, wrong), 401)
    expect_error(login(fresh_daemon, "nobody", PASSWORD), 401)
    assert info_with(fresh_daemon, token).status_code == 200
    expect_error(info_with(fresh_daemon, token[::-1]), 401)
    assert (
        httpx.post(f"{fresh_daemon.url}/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code
        == 204
    )
    expect_error(info_with(fresh_daemon, token), 401)
    fresh_daemon.stop()
    log = fresh_daemon.log()
    assert "login user=tester" in log and "/v1/info 401" in log  # it does log, just not secrets
    for secret in (PASSWORD, wrong, token, token[::-1]):
        assert secret not in log
