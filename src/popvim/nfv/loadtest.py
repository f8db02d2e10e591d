"""Load tests of a network service (seed 004's close): workers on the target's PoP, statistics back.

``run`` starts N load-generator containers (``loadgen.py``) on the PoP of the
target VNF's first instance, on the target's virtual link, each at rate/N
requests per second for the duration; waits for them (from the PoP's event
stream, not by polling), reads what each printed, removes them whatever
happened, and sums it up: requests per second, latency percentiles and
errors, in total and per backend (for a load-balancer target, each of its
servers, named by the ``X-Popvim-Server`` header HAProxy adds). The report is
kept, the last few per instance (nfv/lbview.py), for the dashboard.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from popvim.client import Event, EventWatch, PopError
from popvim.clock import utcnow
from popvim.nfv import naming
from popvim.nfv.errors import Conflict, Invalid, NotFound
from popvim.nfv.orchestrator import Orchestrator

log = logging.getLogger(__name__)

GENERATOR = resources.files("popvim.nfv").joinpath("loadgen.py").read_text()
MAX_WORKERS, MAX_RATE, MAX_DURATION = 32, 20000.0, 600.0
LABEL_LOADTEST = "io.popvim.nfv.loadtest"


@dataclass(frozen=True)
class LoadTestRequest:
    target: str  # a VNF of the instance
    rate: float = 10.0  # requests per second, all workers together
    duration: float = 10.0  # seconds
    workers: int = 1
    path: str = "/"
    port: int | None = None  # the target's port; a load balancer's listen port, else 80
    image: str | None = None  # the workers' image (needs python3); the target's image when none


@dataclass
class BackendStats:
    name: str
    requests: int = 0
    errors: int = 0
    latency_ms: float = 0.0

    @property
    def mean_ms(self) -> float:
        return self.latency_ms / self.requests if self.requests else 0.0


@dataclass
class LoadReport:
    target: str
    address: str
    workers: int
    duration: float
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)
    backends: list[BackendStats] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        body = {k: v for k, v in vars(self).items() if k != "backends"}
        body["backends"] = [{**vars(b), "mean_ms": round(b.mean_ms, 3)} for b in self.backends]
        return body


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def summarise(target: str, address: str, duration: float, outputs: list[dict[str, Any]]) -> LoadReport:
    report = LoadReport(target, address, len(outputs), duration)
    latencies: list[float] = []
    backends: dict[str, BackendStats] = {}
    elapsed = 0.0
    for out in outputs:
        report.requests += int(out["requests"])
        report.errors += int(out["errors"])
        latencies += [float(v) for v in out["latencies"]]
        elapsed = max(elapsed, float(out.get("elapsed", duration)))
        for kind, count in out.get("error_kinds", {}).items():
            report.error_kinds[kind] = report.error_kinds.get(kind, 0) + int(count)
        for name, stats in out["backends"].items():
            into = backends.setdefault(name, BackendStats(name))
            into.requests += int(stats["requests"])
            into.errors += int(stats["errors"])
            into.latency_ms += float(stats["latency_ms"])
    latencies.sort()
    report.rps = round(report.requests / elapsed, 1) if elapsed else 0.0
    report.p50_ms, report.p90_ms, report.p99_ms = (percentile(latencies, f) for f in (0.5, 0.9, 0.99))
    report.backends = sorted(backends.values(), key=lambda b: b.name)
    return report


def run(orchestrator: Orchestrator, ns_ref: str, request: LoadTestRequest) -> LoadReport:
    """Run the test and return its report; the workers are gone when this returns."""
    if not 1 <= request.workers <= MAX_WORKERS:
        raise Invalid(f"workers must be 1-{MAX_WORKERS}")
    if not 0 < request.rate <= MAX_RATE or not 0 < request.duration <= MAX_DURATION:
        raise Invalid(f"rate must be in (0, {MAX_RATE:.0f}] and duration in (0, {MAX_DURATION:.0f}] seconds")
    if not request.path.startswith("/") or any(c in request.path for c in " \r\n\t"):
        raise Invalid("path must start with / and hold no spaces")
    instance = orchestrator.instance(ns_ref)
    nsd = orchestrator.descriptor_of(instance.id)
    record = next((v for v in instance.vnf_instances if v.vnf_name == request.target), None)
    if record is None:
        raise NotFound(f"instance {instance.ns_instance_name!r} has no VNF {request.target!r}")
    running = [c for c in record.vnfcs if c.state == "RUNNING" and c.addresses]
    if not running:
        raise Conflict(f"VNF {request.target!r} has no RUNNING instance to load")
    first = running[0]
    vnf = nsd.vnf(request.target)
    link = next(iter(first.addresses))
    network = instance.virtual_links.get(link, {}).get(first.pop_name)
    if network is None:
        raise Conflict(f"no network of virtual link {link!r} on PoP {first.pop_name!r}")
    port = request.port or (vnf.load_balancer.listen if vnf.load_balancer else 80)
    address = first.addresses[link]
    client = orchestrator.pops.client(first.pop_name, timeout=request.duration + 60)
    started_at = utcnow()
    run_id = uuid.uuid4().hex[:8]
    spec = {
        "host": address,
        "port": port,
        "path": request.path,
        "rate": request.rate / request.workers,
        "duration": request.duration,
    }
    made: list[str] = []
    ended: queue.Queue[str] = queue.Queue()
    watch = EventWatch(
        f"loadtest-{run_id}",
        lambda: client,
        lambda event: _ended(event, made, ended),
        kinds=["container.state"],
    )
    opened = threading.Event()
    watch._on_open = opened.set  # noqa: SLF001 - set before start, the watch's own thread calls it
    watch.start()
    try:
        opened.wait(10)
        for index in range(request.workers):
            name = f"{naming.slug(instance.ns_instance_name, 24)}-loadgen-{run_id}-{index}"
            container = client.create(
                name,
                request.image or vnf.image,
                endpoints={network: None},
                command=["python3", "-c", GENERATOR, json.dumps(spec)],
                labels={naming.LABEL_NS: instance.id, LABEL_LOADTEST: run_id},
            )
            made.append(container.id)
        for container_id in made:
            client.start(f"id:{container_id}")
        outputs = _collect(client, made, ended, request.duration + 60)
    finally:
        watch.stop()
        for container_id in made:
            try:
                client.delete(f"id:{container_id}")
            except PopError as exc:
                log.warning("load-test worker %s not removed: %s", container_id, exc)
    report = summarise(request.target, f"{address}:{port}", request.duration, outputs)
    asked = {k: v for k, v in vars(request).items() if k != "target"}
    orchestrator.views.record(instance.id, request.target, started_at, utcnow(), asked, report.as_dict())
    return report


def _ended(event: Event, made: list[str], ended: queue.Queue[str]) -> None:
    if event.subject in made and event.data.get("state") in ("EXITED", "FAILED"):
        ended.put(event.subject)


def _collect(client: Any, made: list[str], ended: queue.Queue[str], timeout: float) -> list[dict[str, Any]]:
    """Each worker's report once it has exited (an event each; a listing catches any that ended
    before the stream saw them)."""
    waiting = set(made)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        try:
            waiting.discard(ended.get(timeout=2.0))
        except queue.Empty:
            waiting -= {c.id for c in client.containers() if c.id in waiting and c.terminated}
    if waiting:
        raise Conflict(f"{len(waiting)} load-test worker(s) did not finish in time")
    outputs = []
    for container_id in made:
        text = client.logs(f"id:{container_id}", tail=5).strip().splitlines()
        try:
            outputs.append(json.loads(text[-1]))
        except (IndexError, ValueError) as exc:
            raise Conflict(f"load-test worker {container_id} printed no report: {text[-3:]}") from exc
    return outputs
