"""The orchestrator's REST API (SOL005-shaped), for the ``pop ns`` commands and scripts.

Plain dicts come back: the records are documented by the daemon's OpenAPI.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from popvim.client.defaults import DEFAULT_API

if TYPE_CHECKING:  # imported by the client that uses it: `pop` commands that speak gRPC only never pay for it
    import httpx
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    409: "FAILED_PRECONDITION",
    422: "INVALID_ARGUMENT",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}


class NfvError(Exception):
    def __init__(self, status: int, code: str, message: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.problems = status, code, message, problems or []


def _object(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise NfvError(response.status_code, "UNKNOWN", f"expected a JSON object from {response.url.path}")
    return body


def _array(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    if not isinstance(body, list):
        raise NfvError(response.status_code, "UNKNOWN", f"expected a JSON array from {response.url.path}")
    return body


class NfvClient:
    def __init__(
        self,
        api: str = DEFAULT_API,
        username: str = "",
        password: str = "",
        *,
        token: str | None = None,
        timeout: float = 60.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``verify``: an SSL context trusting the API's CA (and holding a client certificate
        when the API requires one)."""
        import httpx

        self._http = httpx.Client(base_url=api, timeout=timeout, verify=verify)
        self._username, self._password = username, password
        self._token = token

    def close(self) -> None:
        self._http.close()

    def _login(self) -> str:
        reply = self._http.post("/v1/auth/login", json={"username": self._username, "password": self._password})
        self._check(reply)
        return str(reply.json()["token"])

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        extra = kwargs.pop("headers", {})
        if self._token is None:
            self._token = self._login()
        reply = self._http.request(method, path, headers={"Authorization": f"Bearer {self._token}", **extra}, **kwargs)
        if reply.status_code == 401 and self._password:  # expired: one new login, as the Pop client does
            self._token = self._login()
            reply = self._http.request(
                method, path, headers={"Authorization": f"Bearer {self._token}", **extra}, **kwargs
            )
        self._check(reply)
        return reply

    @staticmethod
    def _check(reply: httpx.Response) -> None:
        if reply.status_code < 400:
            return
        try:
            error = reply.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": _STATUS.get(reply.status_code, "ERROR"), "message": reply.text}
        raise NfvError(reply.status_code, error.get("code", ""), error.get("message", ""), error.get("problems"))

    # --- the PoP's event stream ------------------------------------------------
    def events(self, keepalive: float = 1.0) -> Iterator[dict[str, Any] | None]:
        """``GET /v1/events`` as it happens: each event as a dict, ``None`` for each
        ``keepalive`` seconds of silence (so a caller can stop when it is quiet)."""
        if self._token is None:
            self._token = self._login()
        headers = {"Authorization": f"Bearer {self._token}"}
        import httpx

        timeout = httpx.Timeout(self._http.timeout.connect, read=keepalive * 4 + 30)
        with self._http.stream(
            "GET", "/v1/events", params={"keepalive": keepalive}, headers=headers, timeout=timeout
        ) as reply:
            if reply.status_code == 401 and self._password:
                self._token = None
                reply.close()
                yield from self.events(keepalive)
                return
            if reply.status_code >= 400:
                reply.read()
                self._check(reply)
            for line in reply.iter_lines():
                yield json.loads(line) if line.strip() else None

    # --- descriptors and instances --------------------------------------------
    def onboard(self, content: bytes, yaml: bool) -> dict[str, Any]:
        """Onboards a descriptor: Open Baton JSON, or TOSCA YAML when ``yaml``."""
        content_type = "application/yaml" if yaml else "application/json"
        return _object(
            self._request("POST", "/nsd/v1/ns_descriptors", content=content, headers={"Content-Type": content_type})
        )

    def descriptors(self) -> list[dict[str, Any]]:
        return _array(self._request("GET", "/nsd/v1/ns_descriptors"))

    def delete_descriptor(self, nsd_id: str) -> None:
        self._request("DELETE", f"/nsd/v1/ns_descriptors/{nsd_id}")

    def create(self, nsd_id: str, name: str | None = None) -> dict[str, Any]:
        return _object(self._request("POST", "/nslcm/v1/ns_instances", json={"nsdId": nsd_id, "nsName": name}))

    def instances(self) -> list[dict[str, Any]]:
        return _array(self._request("GET", "/nslcm/v1/ns_instances"))

    def instance(self, ref: str) -> dict[str, Any]:
        return _object(self._request("GET", f"/nslcm/v1/ns_instances/{ref}"))

    def delete(self, ref: str) -> None:
        self._request("DELETE", f"/nslcm/v1/ns_instances/{ref}")

    # --- operations -----------------------------------------------------------
    def instantiate(self, ref: str) -> dict[str, Any]:
        return _object(self._request("POST", f"/nslcm/v1/ns_instances/{ref}/instantiate"))

    def scale(self, ref: str, vnf: str, direction: str, steps: int = 1) -> dict[str, Any]:
        body = {"vnfName": vnf, "direction": direction, "steps": steps}
        return _object(self._request("POST", f"/nslcm/v1/ns_instances/{ref}/scale", json=body))

    def heal(self, ref: str, vnfcs: list[str] | None = None) -> dict[str, Any]:
        body = {"vnfcInstanceIds": vnfcs or []}
        return _object(self._request("POST", f"/nslcm/v1/ns_instances/{ref}/heal", json=body))

    def terminate(self, ref: str, force: bool = False) -> dict[str, Any]:
        return _object(self._request("POST", f"/nslcm/v1/ns_instances/{ref}/terminate", json={"force": force}))

    def loadtest(self, ref: str, target: str, **options: Any) -> dict[str, Any]:
        """Run a load test (synchronous: the answer is the report); ``options``: rate, duration,
        workers, path, port, image."""
        body = {"target": target, **{k: v for k, v in options.items() if v is not None}}
        wait = float(body.get("duration", 10.0)) + 120.0  # the workers' start and removal on top
        return _object(self._request("POST", f"/nslcm/v1/ns_instances/{ref}/loadtest", json=body, timeout=wait))

    def op(self, op_id: str) -> dict[str, Any]:
        return _object(self._request("GET", f"/nslcm/v1/ns_lcm_op_occs/{op_id}"))

    def wait(self, op_id: str, timeout: float = 600.0, interval: float = 0.1) -> dict[str, Any]:
        """The op occurrence once it is no longer PROCESSING (or as it is at the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            op = self.op(op_id)
            if op["operationState"] != "PROCESSING" or time.monotonic() >= deadline:
                return op
            time.sleep(interval)
