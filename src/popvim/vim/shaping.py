"""Virtual-link limits (testbed feature): bandwidth, and delay/loss where the kernel has netem.

A limit is set on a network (every endpoint on it) or on one endpoint (which
wins, field by field), and is enforced on the container side of each endpoint
in both directions (see ``popvim.engine.shaping``). It lives in the database
and is applied again whenever the engine (re)starts the container: after a
restart by policy, an engine restart or a daemon restart (reconcile), and for
a healed VNFC, which is a new container on the same network. A limit this host
cannot enforce is refused when it is asked for, naming what the host lacks;
it is never silently ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from popvim.engine.driver import EngineDriver, EngineError
from popvim.engine.shaping import LinkShape
from popvim.vim.errors import EngineFailure, InvalidArgument

log = logging.getLogger(__name__)

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(bit|bps|b)?(?:/s)?\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|us|s)?\s*$", re.IGNORECASE)
_LOSS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")
MIN_RATE = 8_000  # 8 kbit/s: below, tbf's bucket is longer than any test
MAX_RATE = 100_000_000_000


class Unsupported(InvalidArgument):
    """The host cannot do what was asked (a kernel piece is missing)."""

    code = "unsupported_by_host"


def rate_bit(text: str) -> int:
    """``10mbit``, ``10Mbit/s``, ``1.5mbps``, ``500kbit``, ``1gbit`` (and a bare number: Mbit/s) in bit/s.

    ``bps`` is bits per second, as in the descriptors' ``10Mbps``, not tc's bytes.
    """
    match = _RATE.match(text)
    if not match:
        raise InvalidArgument(f"bandwidth {text!r} is not a rate such as '10mbit', '500kbit' or '1gbit'")
    number, prefix, unit = match.groups()
    scale = _SCALE[prefix.lower()] if (prefix or unit) else 1_000_000
    value = int(float(number) * scale)
    if not MIN_RATE <= value <= MAX_RATE:
        raise InvalidArgument(f"bandwidth {text!r} is outside 8kbit..100gbit")
    return value


def delay_ms(text: str) -> float:
    match = _DELAY.match(text)
    if not match:
        raise InvalidArgument(f"delay {text!r} is not a duration such as '10ms'")
    number, unit = float(match.group(1)), (match.group(2) or "ms").lower()
    value = number * {"ms": 1.0, "us": 0.001, "s": 1000.0}[unit]
    if not 0 < value <= 60_000:
        raise InvalidArgument(f"delay {text!r} must be above 0 and at most 60s")
    return value


def loss_percent(text: str) -> float:
    match = _LOSS.match(text)
    if not match or not 0 < float(match.group(1)) <= 100:
        raise InvalidArgument(f"loss {text!r} is not a percentage above 0 such as '1%'")
    return float(match.group(1))


def _text_rate(bits: int) -> str:
    for prefix, scale in (("g", 1_000_000_000), ("m", 1_000_000), ("k", 1_000)):
        if bits % scale == 0:
            return f"{bits // scale}{prefix}bit"
    return f"{bits}bit"


class LinkLimit(BaseModel):
    """Limits of a link, in tc's words; every field optional (none: unlimited)."""

    model_config = ConfigDict(extra="forbid")

    bandwidth: str | None = Field(None, max_length=32, description="e.g. '10mbit', '500kbit', '1gbit' (both ways)")
    delay: str | None = Field(None, max_length=16, description="e.g. '10ms'; needs the netem qdisc")
    loss: str | None = Field(None, max_length=16, description="e.g. '1%'; needs the netem qdisc")

    @field_validator("bandwidth")
    @classmethod
    def _bandwidth(cls, value: str | None) -> str | None:
        return None if not value else _text_rate(_checked(rate_bit, value))

    @field_validator("delay")
    @classmethod
    def _delay(cls, value: str | None) -> str | None:
        return None if not value else f"{_checked(delay_ms, value):g}ms"

    @field_validator("loss")
    @classmethod
    def _loss(cls, value: str | None) -> str | None:
        return None if not value else f"{_checked(loss_percent, value):g}%"

    @property
    def empty(self) -> bool:
        return not (self.bandwidth or self.delay or self.loss)


def _checked(parse: Callable[[str], Any], value: str) -> Any:
    try:
        return parse(value)
    except InvalidArgument as exc:
        raise ValueError(exc.message) from exc


def limit_of(row: Any) -> LinkLimit | None:
    """The limit stored on a network or endpoint row (columns bandwidth, delay, loss)."""
    limit = LinkLimit.model_construct(
        bandwidth=getattr(row, "bandwidth", None), delay=getattr(row, "delay", None), loss=getattr(row, "loss", None)
    )
    return None if limit.empty else limit


def effective(endpoint: Any) -> LinkShape | None:
    """What an endpoint row is shaped to: its own fields, else its network's."""
    network = endpoint.network
    bandwidth = endpoint.bandwidth or network.bandwidth
    delay = endpoint.delay or network.delay
    loss = endpoint.loss or network.loss
    if not (bandwidth or delay or loss):
        return None
    if not bandwidth:
        raise InvalidArgument(f"network {network.name!r}: delay or loss needs a bandwidth too")
    return LinkShape(
        rate_bit=rate_bit(bandwidth),
        delay_ms=delay_ms(delay) if delay else None,
        loss_percent=loss_percent(loss) if loss else None,
    )


def check_supported(engine: EngineDriver, limit: LinkLimit | None, what: str) -> None:
    """Refuses a limit this host cannot enforce, naming what it lacks."""
    if limit is None or limit.empty:
        return
    if (limit.delay or limit.loss) and not limit.bandwidth:
        raise InvalidArgument(f"{what}: delay and loss need a bandwidth too (they are applied under its shaper)")
    netem = bool(limit.delay or limit.loss)
    missing = engine.shaping_missing(netem)
    if missing:
        kind = "delay and loss" if netem and any("netem" in m for m in missing) else "bandwidth limits"
        raise Unsupported(f"{what}: this host cannot enforce {kind} (it lacks {', '.join(missing)})")


class LinkShaper:
    """Applies the stored limits of a container's endpoints to its engine container."""

    def __init__(self, engine: EngineDriver, engine_network: Callable[[str], str]) -> None:
        self._engine = engine
        self._engine_network = engine_network  # popvim network name -> engine network name

    def apply(self, engine_id: str, endpoints: Iterable[Any]) -> int:
        """Shapes every active endpoint with a limit; returns how many. Raises EngineFailure."""
        shaped = 0
        for endpoint in endpoints:
            if endpoint.active and self.apply_one(engine_id, endpoint):
                shaped += 1
        return shaped

    def apply_one(self, engine_id: str, endpoint: Any) -> bool:
        shape = effective(endpoint)
        if shape is None:
            return False
        network = self._engine_network(endpoint.network.name)
        try:
            self._engine.shape_endpoint(engine_id, network, shape)
        except EngineError as exc:
            raise EngineFailure(
                f"cannot shape the endpoint on network {endpoint.network.name!r}: {exc.message}"
            ) from exc
        return True

    def update_one(self, engine_id: str, endpoint: Any) -> None:
        """After a limit changed: shaped to the new one, or unshaped when none is left."""
        if not self.apply_one(engine_id, endpoint):
            self.clear_one(engine_id, endpoint, always=True)

    def clear_one(self, engine_id: str, endpoint: Any, always: bool = False) -> None:
        """Before a disconnect: the interface goes with it, the ifb device would not."""
        if not always and effective(endpoint) is None:
            return
        try:
            self._engine.unshape_endpoint(engine_id, self._engine_network(endpoint.network.name))
        except EngineError as exc:
            log.warning("could not clear the shaping on network %s: %s", endpoint.network.name, exc.message)


def check_links(engine: EngineDriver, config: Any) -> None:
    """A create's ``links``: each names one of its endpoints and is enforceable here."""
    links: dict[str, LinkLimit] = config.links
    if not links:
        return
    if config.endpoints:
        unknown = sorted(set(links) - set(config.endpoints))
        if unknown:
            raise InvalidArgument(f"links[{unknown[0]}]: the container has no endpoint on that network")
    elif len(links) > 1:
        raise InvalidArgument("links: a container on the default network alone has one endpoint")
    for network, limit in links.items():
        check_supported(engine, limit, f"links[{network}]")


def endpoint_limits(config: Any, net_ref: str | None, network: Any) -> dict[str, str | None]:
    """The EndpointRow columns for the endpoint on ``network`` (asked as ``net_ref``)."""
    links: dict[str, LinkLimit] = config.links
    if net_ref is None:
        limit = next(iter(links.values()), None)
    else:
        limit = links.get(net_ref)
    if limit is None:
        return {}
    return {"bandwidth": limit.bandwidth, "delay": limit.delay, "loss": limit.loss}
