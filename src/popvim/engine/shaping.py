"""Link shaping with ``tc`` inside a container's network namespace.

Both directions are shaped on the container side of the endpoint, so nothing
on the engine's host (bridges, the host-side veth) is touched and everything
disappears with the container's namespace:

- egress (what the container sends): a ``tbf`` root qdisc on its interface;
- ingress (what it receives): the interface's ``ingress`` qdisc redirects
  (``mirred``) every packet to an ``ifb`` device in the same namespace, whose
  ``tbf`` root qdisc shapes it.

Delay and loss need ``netem`` under the ``tbf``. What this kernel lacks is
found once by trying each piece in a scratch namespace (``unshare --net``), so
a request that needs it is refused by name instead of failing half-applied.
``nsenter`` reaches a container's namespace from its PID: popvimd runs as root
on the engine's host (or, for an emulated host, in the same container as its
engine).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from popvim.engine.errors import EngineError

# The pieces a shaped link uses, by the name an operator would look for.
TBF = "tbf qdisc (sch_tbf)"
INGRESS = "ingress qdisc (sch_ingress)"
IFB = "ifb device (ifb)"
MIRRED = "mirred action (act_mirred)"
NETEM = "netem qdisc (sch_netem)"
_TIMEOUT = 10.0
IFB_PREFIX = "pvifb"


class ShapingUnsupported(EngineError):
    """The host cannot shape as asked; ``missing`` names what it lacks."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


@dataclass(frozen=True)
class LinkShape:
    """One direction's limits, applied to both directions of an endpoint."""

    rate_bit: int  # bits per second
    delay_ms: float | None = None
    loss_percent: float | None = None

    @property
    def needs_netem(self) -> bool:
        return bool(self.delay_ms) or bool(self.loss_percent)


Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT, check=False)


def burst_bytes(rate_bit: int) -> int:
    """10 ms worth of the rate, at least a few full frames: a smaller bucket cannot reach
    the rate at the kernel's timer resolution, a larger one lets bursts through."""
    return max(rate_bit // 8 // 100, 4 * 1514)


def tbf_args(rate_bit: int) -> list[str]:
    # 100 ms of queue: TCP fills the link without timing out at 1 Mbit/s.
    return ["tbf", "rate", f"{rate_bit}bit", "burst", str(burst_bytes(rate_bit)), "latency", "100ms"]


def netem_args(shape: LinkShape) -> list[str]:
    args = ["netem"]
    if shape.delay_ms:
        args += ["delay", f"{shape.delay_ms}ms"]
    if shape.loss_percent:
        args += ["loss", f"{shape.loss_percent}%"]
    return args


def ifb_name(interface: str) -> str:
    return f"{IFB_PREFIX}{interface}"[:15]


def shape_commands(interface: str, shape: LinkShape) -> list[list[str]]:
    """The ``ip``/``tc`` commands (run inside the namespace) that shape ``interface`` both ways."""
    ifb = ifb_name(interface)
    commands: list[list[str]] = []
    for device in (interface, ifb):
        commands.append(["tc", "qdisc", "replace", "dev", device, "root", "handle", "1:", *tbf_args(shape.rate_bit)])
        if shape.needs_netem:
            commands.append(
                ["tc", "qdisc", "replace", "dev", device, "parent", "1:1", "handle", "10:", *netem_args(shape)]
            )
    redirect = ["tc", "qdisc", "replace", "dev", interface, "handle", "ffff:", "ingress"]
    flt = ["tc", "filter", "add", "dev", interface, "parent", "ffff:", "protocol", "all", "prio", "1"]
    flt += ["u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", ifb]
    return [*commands, redirect, flt]


def clear_commands(interface: str) -> list[list[str]]:
    """Undo ``shape_commands`` (each may fail harmlessly when the piece is already gone)."""
    return [
        ["tc", "qdisc", "del", "dev", interface, "root"],
        ["tc", "qdisc", "del", "dev", interface, "ingress"],
        ["ip", "link", "del", ifb_name(interface)],
    ]


class NetnsShaper:
    """Runs the commands in a container's namespace, found from its PID."""

    def __init__(self, runner: Runner = run, proc: Path = Path("/proc")) -> None:
        self._run = runner
        self._proc = proc
        self._lock = threading.Lock()
        self._missing: dict[bool, tuple[str, ...]] = {}
        # What each (process, MAC) was last shaped to: the engine's "start" event, our own
        # start and reconciliation all ask, and re-applying would reset a busy link's queues.
        self._applied: dict[tuple[int, str], LinkShape] = {}

    # --- what this host can do --------------------------------------------------
    def missing(self, netem: bool) -> tuple[str, ...]:
        """The pieces this host lacks for a shaped link (with delay/loss when ``netem``)."""
        with self._lock:
            if netem not in self._missing:
                self._missing[netem] = self._probe(netem)
            return self._missing[netem]

    def _probe(self, netem: bool) -> tuple[str, ...]:
        tools = [t for t in ("tc", "ip", "nsenter", "unshare") if shutil.which(t) is None]
        if tools:
            return tuple(f"the {t} command" for t in tools)
        steps = [
            (IFB, "ip link add pvprobe type ifb && ip link set pvprobe up && ip link set lo up"),
            (TBF, f"tc qdisc add dev pvprobe root handle 1: {' '.join(tbf_args(1_000_000))}"),
            (INGRESS, "tc qdisc add dev lo handle ffff: ingress"),
            (
                MIRRED,
                "tc filter add dev lo parent ffff: protocol all u32 match u32 0 0 "
                "action mirred egress redirect dev pvprobe",
            ),
        ]
        if netem:
            steps.append((NETEM, "tc qdisc add dev pvprobe parent 1:1 handle 10: netem delay 1ms"))
        # One scratch namespace; each step reports its own failure on a line of its own.
        script = "; ".join(f"( {cmd} ) >/dev/null 2>&1 || echo 'MISSING {name}'" for name, cmd in steps)
        done = self._run(["unshare", "--net", "sh", "-c", script])
        if done.returncode != 0:
            return (f"network namespaces (unshare --net failed: {done.stderr.strip()})",)
        return tuple(line.removeprefix("MISSING ") for line in done.stdout.splitlines() if line.startswith("MISSING "))

    def check(self, shape: LinkShape) -> None:
        missing = self.missing(shape.needs_netem)
        if missing:
            what = "delay and loss" if NETEM in missing else "bandwidth limits"
            raise ShapingUnsupported(
                f"this host cannot shape links ({what}): it lacks {', '.join(missing)}", missing=missing
            )

    # --- per endpoint ---------------------------------------------------------------
    def shape(self, pid: int, mac: str, shape: LinkShape) -> str:
        """Shapes the interface with ``mac`` in the namespace of ``pid``; returns the interface
        ("" when it was shaped so already)."""
        self.check(shape)
        key = (pid, mac.lower())
        with self._lock:
            if self._applied.get(key) == shape and (self._proc / str(pid)).exists():
                return ""
        interface = self._interface(pid, mac)
        ifb = ifb_name(interface)
        if self._nsenter(pid, ["ip", "link", "show", ifb]).returncode != 0:
            self._checked(pid, ["ip", "link", "add", ifb, "type", "ifb"])
        self._checked(pid, ["ip", "link", "set", ifb, "up"])
        commands = shape_commands(interface, shape)
        for command in commands[:-1]:
            self._checked(pid, command)
        # Again (a restart, a changed limit): one redirect, not two.
        self._nsenter(pid, ["tc", "filter", "del", "dev", interface, "parent", "ffff:"])
        self._checked(pid, commands[-1])
        with self._lock:
            for stale in [k for k in self._applied if not (self._proc / str(k[0])).exists()]:
                del self._applied[stale]
            self._applied[key] = shape
        return interface

    def clear(self, pid: int, mac: str) -> None:
        """Removes the shaping of the interface with ``mac``, if it (still) exists."""
        with self._lock:
            self._applied.pop((pid, mac.lower()), None)
        try:
            interface = self._interface(pid, mac)
        except EngineError:
            return  # the interface or the namespace is gone, and its shaping with it
        for command in clear_commands(interface):
            self._nsenter(pid, command)

    def _interface(self, pid: int, mac: str) -> str:
        if pid <= 0 or not (self._proc / str(pid) / "ns" / "net").exists():
            raise EngineError(
                f"cannot reach the network namespace of process {pid}: shaping needs the engine on popvimd's own host"
            )
        listed = self._checked(pid, ["ip", "-o", "link", "show"]).stdout
        for line in listed.splitlines():
            fields = line.split()
            if "link/ether" in fields and fields[fields.index("link/ether") + 1].lower() == mac.lower():
                return fields[1].rstrip(":").split("@")[0]
        raise EngineError(f"no interface with MAC {mac} in the container's namespace")

    def _nsenter(self, pid: int, command: list[str]) -> subprocess.CompletedProcess[str]:
        return self._run(["nsenter", "-t", str(pid), "-n", *command])

    def _checked(self, pid: int, command: list[str]) -> subprocess.CompletedProcess[str]:
        done = self._nsenter(pid, command)
        if done.returncode != 0:
            raise EngineError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done
