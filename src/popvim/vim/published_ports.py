"""Published ports as the engine chose them.

A container may ask for "any free host port" (``{"80": null}``); what it got
is known only once it runs. Other sites reach a VNFC through its PoP's address
and that port, so the record keeps the real number after start.
"""

from __future__ import annotations

import logging

from popvim.engine.driver import EngineDriver
from popvim.engine.errors import EngineError

log = logging.getLogger(__name__)


def published_ports(
    engine: EngineDriver, engine_id: str | None, requested: dict[str, int | None] | None
) -> dict[str, int | None]:
    """``requested`` with every port left to the engine filled in with the one it chose.

    Asks the engine only when some port was left open; an engine that cannot
    say leaves the request as it was (the container runs either way).
    """
    ports = dict(requested or {})
    if not engine_id or all(ports.values()):
        return ports
    try:
        chosen = engine.container(engine_id).ports
    except EngineError as exc:
        log.warning("cannot read the published ports of %s: %s", engine_id[:12], exc.message)
        return ports
    for key, host in ports.items():
        if not host:
            ports[key] = chosen.get(key if "/" in key else f"{key}/tcp") or host
    return ports
