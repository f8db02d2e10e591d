"""What an instance's load balancers see, and its last load tests: for the dashboard and REST.

The backends come from HAProxy itself (its Runtime API's ``show stat`` and ``show
servers state``, one Exec of ``haproxy_agent.py`` in each running balancer), joined
with the VNFC records so each server is named with its VNFC, PoP and site. A
short cache (``TTL``) bounds the Execs however many browsers watch.

Load-test reports are kept in the store, the last ``KEEP`` per instance: a load test
takes minutes of traffic, and its figures are what an operator compares before and
after a change (a restart or an upgrade included), so they survive a restart as the
rest of the orchestrator's state does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy import delete, select

from popvim.client import PopError
from popvim.nfv.descriptors.model import NetworkServiceDescriptor
from popvim.nfv.loadbalancer import AGENT, BACKEND, SOCKET, server_name
from popvim.nfv.pops import PopRegistry
from popvim.nfv.rows import ns_row
from popvim.store.db import Store
from popvim.store.nfv_models import LoadTestRow

TTL = 1.0  # seconds a balancer's view is reused
KEEP = 10  # load-test reports kept per instance


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class Backend(_Camel):
    name: str = Field(description="the server's name in HAProxy: <vnf>-<index>")
    vnf_name: str | None
    vnfc_id: str | None
    vnfc_name: str | None
    container_id: str | None = Field(description="the engine's container id")
    pop_name: str | None
    site: str | None
    address: str
    port: int
    state: str = Field(description="UP, DOWN, DRAIN or MAINT, as HAProxy sees it")
    status: str = Field(description="HAProxy's own words (e.g. 'UP 2/2', 'no check')")
    sessions: int = Field(description="current sessions")
    sessions_total: int
    requests_total: int


class Balancer(_Camel):
    vnf_name: str
    vnfc_id: str
    vnfc_name: str
    pop_name: str
    state: str = Field(description="the load balancer container's state")
    listen: int
    algorithm: str
    error: str | None = Field(None, description="why HAProxy could not be asked")
    backends: list[Backend]


class LoadBalancerView(_Camel):
    ns_instance_id: str
    load_balancers: list[Balancer]


class LoadTest(_Camel):
    id: int
    ns_instance_id: str
    target: str
    started_at: datetime
    finished_at: datetime
    request: dict[str, Any]
    report: dict[str, Any] = Field(description="requests, errors, rps, p50_ms, p90_ms, p99_ms, backends, ...")


class Views:
    def __init__(
        self, store: Store, pops: PopRegistry, descriptor_of: Callable[[str], NetworkServiceDescriptor]
    ) -> None:
        self._store = store
        self._pops = pops
        self._descriptor_of = descriptor_of
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}  # Pop container id -> (when, agent's answer)
        self._lock = threading.Lock()

    # --- backends ------------------------------------------------------------------
    def load_balancer(self, ns_ref: str) -> LoadBalancerView:
        with self._store.session() as session:
            ns = ns_row(session, ns_ref)
            ns_id = ns.id
            vnfcs = [(v.vnf_name, c) for v in ns.vnfs for c in v.vnfcs]
            by_server = {
                server_name(vnf_name, c.index): (vnf_name, c.id, c.container_name, c.engine_id, c.pop_name)
                for vnf_name, c in vnfcs
            }
            lbs = [(vnf_name, c.id, c.container_name, c.pop_name, c.pop_container_id, c.state) for vnf_name, c in vnfcs]
        nsd = self._descriptor_of(ns_id)
        sites = {p.name: p.site for p in self._pops.list()}
        balancers = []
        for vnf_name, vnfc_id, vnfc_name, pop_name, container_id, state in lbs:
            lb = nsd.vnf(vnf_name).load_balancer
            if lb is None:
                continue
            backends, error = [], None
            if container_id and state == "RUNNING":
                try:
                    shown = self._show(pop_name, container_id)
                except (PopError, RuntimeError, ValueError) as exc:
                    shown, error = {"servers": []}, str(exc)[:300]
                for server in shown.get("servers", []):
                    vnf, vid, vname, engine_id, spop = by_server.get(server["name"], (None, None, None, None, None))
                    backends.append(
                        Backend(
                            name=server["name"],
                            vnf_name=vnf,
                            vnfc_id=vid,
                            vnfc_name=vname,
                            container_id=engine_id,
                            pop_name=spop,
                            site=sites.get(spop) if spop else None,
                            address=server["addr"],
                            port=int(server["port"]),
                            state=server["state"],
                            status=server["status"],
                            sessions=int(server["sessions"]),
                            sessions_total=int(server["sessions_total"]),
                            requests_total=int(server["requests_total"]),
                        )
                    )
            else:
                error = f"the load balancer is {state}"
            balancers.append(
                Balancer(
                    vnf_name=vnf_name,
                    vnfc_id=vnfc_id,
                    vnfc_name=vnfc_name,
                    pop_name=pop_name,
                    state=state,
                    listen=lb.listen,
                    algorithm=lb.algorithm,
                    error=error,
                    backends=sorted(backends, key=lambda b: b.name),
                )
            )
        return LoadBalancerView(ns_instance_id=ns_id, load_balancers=balancers)

    def _show(self, pop_name: str, container_id: str) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(container_id)
            if cached and now - cached[0] < TTL:
                return cached[1]
        spec = {"socket": SOCKET, "backend": BACKEND, "show": True}
        out = self._pops.client(pop_name, timeout=10).exec(
            f"id:{container_id}", ["python3", "-c", AGENT, json.dumps(spec)]
        )
        if out.exit_code != 0:
            raise RuntimeError(f"HAProxy did not answer ({out.exit_code}): {out.stderr.strip()[-200:]}")
        shown: dict[str, Any] = json.loads(out.stdout)
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < TTL}
            self._cache[container_id] = (time.monotonic(), shown)
        return shown

    # --- load tests ------------------------------------------------------------------
    def record(
        self,
        ns_id: str,
        target: str,
        started_at: datetime,
        finished_at: datetime,
        request: dict[str, Any],
        report: dict[str, Any],
    ) -> None:
        """Keep a report, and only the last ``KEEP`` of the instance."""
        with self._store.session() as session:
            session.add(
                LoadTestRow(
                    ns_id=ns_id,
                    target=target,
                    started_at=started_at,
                    finished_at=finished_at,
                    request=request,
                    report=report,
                )
            )
            session.flush()
            kept = session.scalars(
                select(LoadTestRow.id).where(LoadTestRow.ns_id == ns_id).order_by(LoadTestRow.id.desc()).limit(KEEP)
            ).all()
            session.execute(delete(LoadTestRow).where(LoadTestRow.ns_id == ns_id, LoadTestRow.id.not_in(kept)))

    def load_tests(self, ns_ref: str, limit: int = KEEP) -> list[LoadTest]:
        """The instance's last load tests, newest first."""
        with self._store.session() as session:
            ns_id = ns_row(session, ns_ref).id
            rows = session.scalars(
                select(LoadTestRow).where(LoadTestRow.ns_id == ns_id).order_by(LoadTestRow.id.desc()).limit(limit)
            ).all()
            return [
                LoadTest(
                    id=r.id,
                    ns_instance_id=r.ns_id,
                    target=r.target,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    request=dict(r.request or {}),
                    report=dict(r.report or {}),
                )
                for r in rows
            ]

    def forget(self, ns_id: str) -> None:
        with self._store.session() as session:
            session.execute(delete(LoadTestRow).where(LoadTestRow.ns_id == ns_id))
