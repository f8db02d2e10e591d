"""The load-balancer part of a VNF, read the same way from both dialects.

Each reader finds the settings where its dialect keeps them (TOSCA: the
properties and ``backend`` requirements of a ``popvim.nodes.nfv.LoadBalancer``
node; Open Baton: ``LB_*`` configuration parameters) and hands them here under
one set of names, so both give the same :class:`LoadBalancer` and the same
problems.

Settings: ``backends`` (VNF names), ``port`` (the backends' port, required),
``listen`` (default 80), ``algorithm`` (roundrobin, leastconn, first or random:
the ones HAProxy can change at run time), ``mode`` (http or tcp),
``check`` (``http`` with an optional path, ``http /health``, ``tcp`` or
``none``), ``inter`` (``2s``, ``500ms`` or seconds), ``fall``, ``rise``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from popvim.nfv.descriptors._common import Problems, at, describe
from popvim.nfv.descriptors.model import HealthCheck, LoadBalancer

ALGORITHMS = ("roundrobin", "leastconn", "first", "random")
MODES = ("http", "tcp")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")
_PATH = re.compile(r"^/[\x21-\x7e]*$")


def read_load_balancer(
    settings: Mapping[str, object], backends: Sequence[str], path: str, problems: Problems
) -> LoadBalancer | None:
    """The load balancer ``settings`` describe (keys as in the module's docstring), or None with problems."""
    problems_before = len(problems.items)
    if not backends:
        problems.add(at(path, "backends"), "a load balancer needs at least one backend VNF")
    port = _port(settings.get("port"), at(path, "port"), problems, required=True)
    listen = _port(settings.get("listen"), at(path, "listen"), problems) or 80
    algorithm = _choice(settings.get("algorithm"), ALGORITHMS, "roundrobin", at(path, "algorithm"), problems)
    mode = _choice(settings.get("mode"), MODES, "http", at(path, "mode"), problems)
    check = _check(settings, path, problems, mode)
    if len(problems.items) > problems_before or port is None:
        return None
    return LoadBalancer(tuple(backends), port, listen, algorithm, mode, check)


def check_backends(name: str, balancer: LoadBalancer, vnfs: Sequence[str], path: str, problems: Problems) -> None:
    """Every backend must be another VNF of the service."""
    for backend in balancer.backends:
        if backend == name:
            problems.add(path, f"VNF {name!r} cannot balance itself")
        elif backend not in vnfs:
            problems.add(path, f"names an unknown backend VNF {backend!r}")


def _port(value: object, path: str, problems: Problems, required: bool = False) -> int | None:
    if value is None or value == "":
        if required:
            problems.add(path, "is required: the port the backends serve on")
        return None
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is None or not text.isdigit() or not 1 <= int(text) <= 65535:
        problems.add(path, f"must be a port number 1-65535, not {_shown(value)}")
        return None
    return int(text)


def _choice(value: object, allowed: tuple[str, ...], default: str, path: str, problems: Problems) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        problems.add(path, f"must be one of {', '.join(allowed)}, not {_shown(value)}")
        return default
    return value.strip().lower()


def _check(settings: Mapping[str, object], path: str, problems: Problems, mode: str) -> HealthCheck:
    raw = settings.get("check")
    kind, check_path = ("http" if mode == "http" else "tcp"), "/"
    if raw is not None and raw != "":
        words = str(raw).split() if isinstance(raw, str) else []
        if not words or words[0].lower() not in ("http", "tcp", "none") or len(words) > 2:
            problems.add(at(path, "check"), f"must be 'http [PATH]', 'tcp' or 'none', not {_shown(raw)}")
        else:
            kind = words[0].lower()
            if len(words) == 2:
                if kind != "http" or not _PATH.match(words[1]):
                    problems.add(at(path, "check"), f"only an http check takes a path (/...), not {_shown(raw)}")
                else:
                    check_path = words[1]
            if kind == "http" and mode == "tcp":
                problems.add(at(path, "check"), "an http check needs mode http")
    inter = _duration(settings.get("inter"), at(path, "inter"), problems)
    fall = _count(settings.get("fall"), 3, at(path, "fall"), problems)
    rise = _count(settings.get("rise"), 2, at(path, "rise"), problems)
    return HealthCheck(kind, check_path, inter, fall, rise)


def _duration(value: object, path: str, problems: Problems) -> float:
    if value is None or value == "":
        return 2.0
    match = (
        _DURATION.match(str(value)) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    )
    seconds = (float(match[1]) / (1000 if match[2] == "ms" else 1)) if match else 0.0
    if not 0.1 <= seconds <= 3600:
        problems.add(path, f"must be a duration from 100ms to 3600s, such as 2s, not {_shown(value)}")
        return 2.0
    return seconds


def _count(value: object, default: int, path: str, problems: Problems) -> int:
    if value is None or value == "":
        return default
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not text.isdigit() or not 1 <= int(text) <= 100:
        problems.add(path, f"must be a whole number 1-100, not {_shown(value)}")
        return default
    return int(text)


def _shown(value: object) -> str:
    return repr(value)[:40] if isinstance(value, (str, int, float)) else describe(value)


# --- where each dialect keeps the settings ---------------------------------------------

OPENBATON_KEYS = {
    "LB_PORT": "port",
    "LB_LISTEN": "listen",
    "LB_ALGORITHM": "algorithm",
    "LB_MODE": "mode",
    "LB_CHECK": "check",
    "LB_CHECK_INTER": "inter",
    "LB_CHECK_FALL": "fall",
    "LB_CHECK_RISE": "rise",
}


def from_openbaton(configuration: Mapping[str, str], path: str, problems: Problems) -> LoadBalancer | None:
    """Open Baton's convention: a VNFD with the configuration parameter ``LB_BACKENDS`` (VNF names,
    comma-separated) is a load balancer; the other ``LB_*`` parameters set it up."""
    if "LB_BACKENDS" not in configuration:
        return None
    backends = [b.strip() for b in configuration["LB_BACKENDS"].split(",") if b.strip()]
    settings = {ours: configuration[key] for key, ours in OPENBATON_KEYS.items() if key in configuration}
    return read_load_balancer(settings, backends, at(path, "configurations"), problems)


def from_tosca(
    properties: Mapping[str, object], health: object, backends: Sequence[str], path: str, problems: Problems
) -> LoadBalancer | None:
    """A ``popvim.nodes.nfv.LoadBalancer`` node's properties and ``backend`` requirements."""
    settings: dict[str, object] = {
        "port": properties.get("backend_port"),
        "listen": properties.get("listen_port"),
        "algorithm": properties.get("algorithm"),
        "mode": properties.get("mode"),
    }
    if health is not None and not isinstance(health, Mapping):
        problems.add(at(path, "health_check"), f"must be a mapping, not {describe(health)}")
    elif health:
        kind = health.get("type")
        check_path = health.get("path")
        settings["check"] = f"{kind or 'http'} {check_path}" if check_path else kind
        settings.update({key: health.get(key) for key in ("inter", "fall", "rise")})
    return read_load_balancer(settings, backends, at(path, "properties"), problems)
