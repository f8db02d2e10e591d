"""Wireless-mesh view of the host, read through the ``iw`` tool.

The seed project ran ``iw dev <if> station dump`` and handed the raw text to
its clients, so every client had to scrape iw's human-oriented layout itself.
This module does that scraping once and returns plain dicts that serialise
directly to JSON.

iw's output is meant for people, not programs: the separators between a key
and its value are a mix of tabs and spaces that changed between iw releases,
and new lines appear with new kernels.  The parsers here are therefore
deliberately forgiving: they never raise on odd text; anything they cannot
make sense of is kept verbatim in an ``extra`` list rather than dropped, so no
information is lost when iw changes.

This is a domain module: it knows nothing of HTTP, gRPC or containers and
reports failures only through :mod:`popvim.vim.errors`.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Callable
from typing import Any

from popvim.vim.errors import InvalidArgument, NotFound, Unavailable

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]
"""Runs one argv (never through a shell) and returns its completed process.

Injectable so tests can replay recorded iw output without a wireless card.
"""

IW_TIMEOUT_S = 5.0
"""iw talks to the kernel over netlink and answers in milliseconds; a hung
driver must not hang the VIM with it."""

_IFNAME = re.compile(r"[A-Za-z0-9_.:-]{1,15}")
_STATION_HEADER = re.compile(r"Station\s+(?P<mac>\S+)\s+\(on\s+(?P<interface>[^\s)]+)\)")
_LINK_HEADER = re.compile(r"Link\s+(?P<link_id>[0-9]+)\s*:")
_NO_SUCH_DEVICE = re.compile(r"No such device|\(-19\)")

_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]+")
_NUMBER = r"[-+]?[0-9]+(?:\.[0-9]+)?"
_BITRATE = re.compile(rf"(?P<num>{_NUMBER})\s*MBit/s\b.*")
_SIGNAL = re.compile(r"(?P<num>[-+]?[0-9]+)\s*(?:\[(?P<chains>[^\]]*)\])?\s*dBm")
_WITH_UNIT = re.compile(rf"(?P<num>{_NUMBER})\s*(?P<unit>[A-Za-z/]+)")

_UNIT_SUFFIX = {
    "ms": "ms",
    "us": "us",
    "s": "s",
    "sec": "s",
    "seconds": "s",
    "dbm": "dbm",
    "mbps": "mbps",
    "mhz": "mhz",
}
"""Units iw prints after numbers, mapped to the key suffix that carries them,
so the JSON value is a bare number and the unit is in the name."""

_RESERVED = frozenset({"mac", "interface", "extra", "links", "link_id"})
"""Keys the parser sets itself; a body line must not overwrite them."""


def default_runner(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` directly (no shell, so no quoting or injection issues),
    capturing text output and bounded by :data:`IW_TIMEOUT_S`.

    Failures to run at all become :class:`Unavailable`, because they mean the
    host lacks the facility, not that the request was wrong.
    """
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=IW_TIMEOUT_S,
            check=False,
            shell=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _unavailable_from(exc) from exc


def _unavailable_from(exc: BaseException) -> Unavailable:
    """One wording for "could not run iw", whichever runner hit it."""
    if isinstance(exc, FileNotFoundError):
        return Unavailable("iw is not installed on this host")
    if isinstance(exc, subprocess.TimeoutExpired):
        return Unavailable(f"iw did not answer within {IW_TIMEOUT_S:g} s")
    if isinstance(exc, OSError):
        return Unavailable(f"cannot run iw: {exc.strerror or exc}")
    return Unavailable(f"cannot run iw: {exc}")


def validate_interface_name(name: object) -> str:
    """Reject anything that cannot be a Linux interface name.

    The name ends up in an argv and in error messages; checking it up front
    turns typos and path tricks (``../x``) into a clear
    :class:`InvalidArgument` instead of a confusing iw error.  The rule
    (1-15 of ``[A-Za-z0-9_.:-]``, not ``.``/``..``) is a little looser than
    the kernel's, which also refuses ``:``; such a name simply reaches iw and
    comes back as :class:`NotFound`.
    """
    if not isinstance(name, str) or not _IFNAME.fullmatch(name) or name in (".", ".."):
        raise InvalidArgument(
            f"invalid interface name {name!r}: expected 1-15 characters of letters, digits, '_', '.', ':' or '-'"
        )
    return name


class Mesh:
    """Reads interfaces and mesh peers from ``iw`` and returns them parsed.

    ``runner`` is injectable so tests (and hosts without a wireless card) can
    supply recorded output; ``iw`` is the binary name or path to call.
    """

    def __init__(self, runner: Runner | None = None, iw: str = "iw") -> None:
        self._runner: Runner = runner if runner is not None else default_runner
        self._iw = iw

    def interfaces(self) -> list[dict[str, Any]]:
        """Every wireless interface on the host (``iw dev``), one dict each."""
        return parse_iw_dev(self._iw_output(["dev"], interface=None))

    def stations(self, interface: str) -> list[dict[str, Any]]:
        """The peers ``interface`` currently knows (``iw dev <if> station dump``).

        On a mesh point these are the mesh neighbours with their peer-link
        state; on a managed interface it is the access point.
        """
        name = validate_interface_name(interface)
        return parse_station_dump(self._iw_output(["dev", name, "station", "dump"], interface=name))

    def _iw_output(self, args: list[str], interface: str | None) -> str:
        """Run iw with ``args`` and return stdout, mapping failures to domain errors."""
        argv = [self._iw, *args]
        try:
            completed = self._runner(argv)
        except (OSError, subprocess.TimeoutExpired) as exc:
            # An injected runner may not do the mapping default_runner does.
            raise _unavailable_from(exc) from exc
        if completed.returncode != 0:
            raise _error_from_iw(completed, interface)
        return completed.stdout or ""


def _error_from_iw(completed: subprocess.CompletedProcess[str], interface: str | None) -> Exception:
    """Translate a failed iw run into the domain error a client can act on.

    ENODEV is the one failure that is the caller's fault (wrong interface);
    everything else (no nl80211, no permission, driver refusal) is the host's.
    """
    message = (completed.stderr or "").strip() or (completed.stdout or "").strip()
    if interface is not None and _NO_SUCH_DEVICE.search(message):
        return NotFound(f"interface {interface} not found")
    return Unavailable(message or f"iw exited with status {completed.returncode}")


# --------------------------------------------------------------------------
# iw dev
# --------------------------------------------------------------------------


def parse_iw_dev(text: str) -> list[dict[str, Any]]:
    """Parse ``iw dev`` output into one dict per interface.

    Each dict has ``phy`` (e.g. ``"phy#0"``) and ``phy_index`` when iw printed
    the phy, then ``name``, ``ifindex``, ``wdev``, ``addr``, ``type`` and, when
    present, ``ssid``, ``channel`` (iw's text), ``channel_number``,
    ``frequency_mhz``, ``txpower`` (iw's text) and ``txpower_dbm``.  Lines it
    does not know go to ``extra``.
    """
    interfaces: list[dict[str, Any]] = []
    phy: tuple[str, int] | None = None
    current: dict[str, Any] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        phy_match = re.fullmatch(r"phy#([0-9]+)", line)
        if phy_match:
            phy = (line, int(phy_match.group(1)))
            current = None
            continue
        if line.startswith("Interface ") or line == "Unnamed/non-netdev interface":
            current = _new_interface(line, phy)
            interfaces.append(current)
            continue
        if current is not None and not _apply_iface_line(current, line):
            current["extra"].append(raw)
    return interfaces


def _new_interface(line: str, phy: tuple[str, int] | None) -> dict[str, Any]:
    """Start an interface entry; a P2P device has no netdev and so no name."""
    entry: dict[str, Any] = {}
    if phy is not None:
        entry["phy"], entry["phy_index"] = phy
    entry["name"] = line[len("Interface ") :].strip() if line.startswith("Interface ") else None
    entry["extra"] = []
    return entry


def _apply_iface_line(entry: dict[str, Any], line: str) -> bool:
    """Store one ``iw dev`` attribute line; False when the line is not one we know."""
    word, _, rest = line.partition(" ")
    rest = rest.strip()
    if word == "ifindex" and _INT.fullmatch(rest):
        entry["ifindex"] = int(rest)
    elif word == "wdev" and rest:
        entry["wdev"] = rest  # a 64-bit id; kept as iw's hex text so JSON stays exact
    elif word == "addr" and rest:
        entry["addr"] = rest
    elif word == "ssid":
        entry["ssid"] = rest
    elif word == "type" and rest:
        entry["type"] = rest
    elif word == "wiphy" and _INT.fullmatch(rest):
        entry["phy_index"] = int(rest)
    elif word == "channel" and rest:
        entry.update(_channel_fields(rest))
    elif word == "txpower" and rest:
        entry.update(_txpower_fields(rest))
    elif line == "4addr: on":
        entry["use_4addr"] = True
    else:
        return False
    return True


def _channel_fields(rest: str) -> dict[str, Any]:
    """``1 (2412 MHz), width: 20 MHz (no HT), center1: 2412 MHz`` -> text and numbers."""
    fields: dict[str, Any] = {"channel": rest}
    match = re.match(r"([0-9]+)\s*\(([0-9]+)\s*MHz\)", rest)
    if match:
        fields["channel_number"] = int(match.group(1))
        fields["frequency_mhz"] = int(match.group(2))
    return fields


def _txpower_fields(rest: str) -> dict[str, Any]:
    """``20.00 dBm`` -> the text plus ``txpower_dbm`` as a number."""
    fields: dict[str, Any] = {"txpower": rest}
    match = re.fullmatch(rf"({_NUMBER})\s*dBm", rest)
    if match:
        fields["txpower_dbm"] = float(match.group(1))
    return fields


# --------------------------------------------------------------------------
# iw dev <if> station dump
# --------------------------------------------------------------------------


def parse_station_dump(text: str) -> list[dict[str, Any]]:
    """Parse ``iw dev <if> station dump`` into one dict per ``Station`` block.

    Every block gives ``mac``, ``interface``, ``extra`` (lines that did not
    parse, verbatim) and one snake_cased key per ``key: value`` line, typed by
    :func:`convert_field`.  Multi-link (MLO) ``Link N:`` sections go to a
    ``links`` list.  Text before the first header belongs to no station and
    is ignored.  Never raises.
    """
    stations: list[dict[str, Any]] = []
    station: dict[str, Any] | None = None
    target: dict[str, Any] | None = None  # the station, or its current MLO link
    for raw in text.splitlines():
        line = raw.strip()
        header = _STATION_HEADER.fullmatch(line)
        if header:
            station = {"mac": header["mac"], "interface": header["interface"], "extra": []}
            stations.append(station)
            target = station
            continue
        if station is None or target is None or not line:
            continue
        link = _LINK_HEADER.fullmatch(line)
        if link:
            target = {"link_id": int(link["link_id"])}
            station.setdefault("links", []).append(target)
            continue
        fields = _parse_field_line(line)
        if fields is None:
            station["extra"].append(raw)
        else:
            target.update(fields)
    return stations


def _parse_field_line(line: str) -> dict[str, Any] | None:
    """Split ``key:<tabs/spaces>value`` and type it; None when the line is not one."""
    key, sep, value = line.partition(":")
    name = snake_case(key)
    value = value.strip()
    if not sep or not name or not value or name in _RESERVED:
        return None
    return convert_field(name, value)


def snake_case(key: str) -> str:
    """``mesh non-peer PS mode`` -> ``mesh_non_peer_ps_mode``; JSON-friendly keys."""
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


def convert_field(name: str, value: str) -> dict[str, Any]:
    """Type one station field, putting any unit into the key name.

    The result may hold several keys (a signal gives its chains too, a bitrate
    keeps iw's text next to the number); unrecognised values stay strings.
    """
    for convert in (_as_bool, _as_number, _as_bitrate, _as_signal, _as_unit):
        fields = convert(name, value)
        if fields is not None:
            return fields
    return {name: value}


def _as_bool(name: str, value: str) -> dict[str, Any] | None:
    """``yes``/``no`` flags (authorized, MFP, ...) become booleans."""
    if value in ("yes", "no"):
        return {name: value == "yes"}
    return None


def _as_number(name: str, value: str) -> dict[str, Any] | None:
    """Bare counters (rx bytes, mesh llid, ...) become int, or float with a dot."""
    number = _number(value)
    return None if number is None else {name: number}


def _as_bitrate(name: str, value: str) -> dict[str, Any] | None:
    """``866.7 MBit/s VHT-MCS 9 ...``: the rate as ``<name>_mbps`` plus iw's full
    text, which carries MCS, width and guard interval."""
    match = _BITRATE.fullmatch(value)
    if not match:
        return None
    rate = _number(match["num"])
    if rate is None:
        return None
    return {name: value, f"{name}_mbps": float(rate)}


def _as_signal(name: str, value: str) -> dict[str, Any] | None:
    """``-43 [-43, -45] dBm`` -> ``<name>_dbm`` and, with chains, ``<name>_chains_dbm``."""
    match = _SIGNAL.fullmatch(value)
    if not match:
        return None
    level = _number(match["num"])
    if level is None:
        return None
    fields: dict[str, Any] = {f"{name}_dbm": level}
    if match["chains"] is not None:
        chains = [_number(part.strip()) for part in match["chains"].split(",")]
        if any(not isinstance(chain, int) for chain in chains):
            return None
        fields[f"{name}_chains_dbm"] = chains
    return fields


def _as_unit(name: str, value: str) -> dict[str, Any] | None:
    """``20 ms``, ``12 seconds``, ``6.500Mbps``, ``659.536s`` -> ``<name>_<unit>``."""
    match = _WITH_UNIT.fullmatch(value)
    if not match:
        return None
    suffix = _UNIT_SUFFIX.get(match["unit"].lower())
    number = _number(match["num"])
    if suffix is None or number is None:
        return None
    return {f"{name}_{suffix}": number}


def _number(text: str) -> int | float | None:
    """int or float for an ASCII decimal, else None.

    Never raises, and never yields a value strict JSON cannot carry: digit
    strings too long for ``int()``, and numbers beyond a finite float
    (which JSON encoders reject or turn into ``Infinity``), count as unparsable.
    """
    try:
        if _INT.fullmatch(text):
            number: int | float = int(text)
            float(number)  # OverflowError for ints no JSON number can hold
            return number
        if _FLOAT.fullmatch(text):
            number = float(text)
            return number if math.isfinite(number) else None
    except (ValueError, OverflowError):
        return None
    return None
