#!/usr/bin/env python3
"""A minimal SIP UAC standing in for `sipp -sn uac` (seed 001, 4.5.2 and ch. 5), which is not
packaged here: calls $SERVER_PRIVATE:5060 (else $SERVER_HOSTNAME, what a dependency on the
server's ``hostname`` tells) over UDP (INVITE -> 100/200 -> ACK -> pause -> BYE -> 200)
at the rate the seed's NSD (Appendix C) sets through SIPP_* variables, forever, as a VNF does.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import signal
import socket
import sys
from collections import Counter
from dataclasses import dataclass

from sipmsg import PORT, Message, build, log, parse, sdp

T1 = 0.5  # RFC 3261 timer A start; doubles per retransmission
TRANSACTION_TIMEOUT = 4.0  # far below timer B (32 s): a test VNF should report failures quickly
SUMMARY_EVERY = 5.0
MAX_BACKOFF = 30.0
# s: a name popvim has not yet written to /etc/hosts goes to the resolver, which may forward it
# to an upstream server the VNF cannot reach and wait many seconds; ask again soon instead
RESOLVE_TIMEOUT = 1.0
DEFAULTS = {"SERVER_PRIVATE": "", "SERVER_HOSTNAME": "", "SIPP_LENGTH": "0", "SIPP_RATE": "10", "SIPP_RATE_PERIOD": "1000",
            "SIPP_RATE_MAX": "0", "SIPP_RATE_INCREASE": "0", "SIPP_RTP_ECHO": "", "SIPP_TRANSPORT_MODE": "u1",
            "SIPP_MAX_CALLS": "0"}  # SIPP_MAX_CALLS is sipp's -m: stop after that many calls (0: never)
UDP_MODES = ("u1", "un", "ui")  # ui without an injection file is u1: there is one local address


class CallFailed(Exception):
    """A call or probe did not complete; the message is the reason logged."""


@dataclass(frozen=True)
class Config:
    server: str
    length_ms: float
    rate: float
    period_ms: float
    rate_max: float
    rate_increase: float
    transport: str
    max_calls: int


def number(settings: dict[str, str], name: str, minimum: float = 0.0) -> float:
    try:
        value = float(settings[name])
    except ValueError:
        raise ValueError(f"{name}={settings[name]!r} is not a number") from None
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name}={settings[name]} must be a finite number of at least {minimum:g}")
    return value


def load_config(settings: dict[str, str]) -> Config:
    """Validate the effective settings; TCP, TLS and compression are refused outright."""
    mode = settings["SIPP_TRANSPORT_MODE"]
    if mode not in UDP_MODES:
        raise ValueError(f"SIPP_TRANSPORT_MODE={mode} is not supported by this stand-in: only the UDP "
                          f"modes {', '.join(UDP_MODES)} are (no TCP t1/tn, TLS l1/ln or compression c1/cn)")
    server = settings["SERVER_PRIVATE"] or settings["SERVER_HOSTNAME"]
    return Config(server, number(settings, "SIPP_LENGTH"), number(settings, "SIPP_RATE"),
                  number(settings, "SIPP_RATE_PERIOD", 1), number(settings, "SIPP_RATE_MAX"),
                  number(settings, "SIPP_RATE_INCREASE"), mode, int(number(settings, "SIPP_MAX_CALLS")))


class Endpoint(asyncio.DatagramProtocol):
    """A UDP socket connected to the server; responses go to the call waiting on their Call-ID."""

    transport: asyncio.DatagramTransport

    def __init__(self) -> None:
        self.local = ("", 0)
        self.waiting: dict[str, asyncio.Queue[Message | Exception]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.local = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = parse(data)
        if msg and not msg.is_request and msg.get("call-id") in self.waiting:
            self.waiting[msg.get("call-id")].put_nowait(msg)

    def error_received(self, exc: Exception) -> None:
        """ICMP port unreachable: nobody listens, so fail now rather than after the timeout."""
        for queue in self.waiting.values():
            queue.put_nowait(exc)


async def open_endpoint(server: str) -> Endpoint:
    """A connected socket: the kernel picks our address toward the server, and ICMP errors reach us."""
    loop = asyncio.get_running_loop()
    try:
        found = await asyncio.wait_for(
            loop.getaddrinfo(server, PORT, type=socket.SOCK_DGRAM), RESOLVE_TIMEOUT
        )
    except TimeoutError:
        raise CallFailed(f"{server} did not resolve within {RESOLVE_TIMEOUT:g} s") from None
    return (await loop.create_datagram_endpoint(Endpoint, remote_addr=found[0][4]))[1]


class Dialog:
    """One call's identifiers; builds and sends its requests (RFC 3261 8.1.1)."""

    def __init__(self, endpoint: Endpoint, server: str, call_id: str) -> None:
        self.endpoint, self.server, self.call_id = endpoint, server, call_id
        self.from_tag = secrets.token_hex(6)
        self.to = f"service <sip:service@{server}:{PORT}>"
        endpoint.waiting[call_id] = asyncio.Queue()

    def request(self, method: str, cseq: int, branch: str = "", body: str = "") -> bytes:
        local = f"{self.endpoint.local[0]}:{self.endpoint.local[1]}"
        headers = [f"Via: SIP/2.0/UDP {local};branch={branch or 'z9hG4bK-' + secrets.token_hex(8)};rport",
                   "Max-Forwards: 70", f"From: sipp <sip:sipp@{local}>;tag={self.from_tag}", f"To: {self.to}",
                   f"Call-ID: {self.call_id}", f"CSeq: {cseq} {method}", f"Contact: <sip:sipp@{local}>"]
        return build(f"{method} sip:service@{self.server}:{PORT} SIP/2.0", headers, body)

    async def transact(self, method: str, message: bytes) -> Message:
        """Send, resending after 0.5 s, 1 s, 2 s (timer A/E basics) until a final response or ~4 s."""
        loop, queue = asyncio.get_running_loop(), self.endpoint.waiting[self.call_id]
        deadline, interval, resend = loop.time() + TRANSACTION_TIMEOUT, T1, True
        self.endpoint.transport.sendto(message)
        while (left := deadline - loop.time()) > 0:
            try:
                item = await asyncio.wait_for(queue.get(), min(interval, left) if resend else left)
            except TimeoutError:
                if resend and deadline - loop.time() > 0.05:
                    self.endpoint.transport.sendto(message)
                    interval *= 2
                continue
            if isinstance(item, Exception):
                raise CallFailed(f"{method}: {getattr(item, 'strerror', None) or item}")
            if item.method == method and item.status >= 200:
                return item
            resend = resend and not (item.method == method and method == "INVITE")  # 1xx stops timer A
        raise CallFailed(f"no final response to {method} within {TRANSACTION_TIMEOUT:g} s")

    def close(self, shared: Endpoint | None) -> None:
        self.endpoint.waiting.pop(self.call_id, None)
        if self.endpoint is not shared:
            self.endpoint.transport.close()


async def call(n: int, cfg: Config, shared: Endpoint | None, stats: Counter[str]) -> None:
    """Place call n (on its own socket unless one is shared), log the outcome and count it."""
    loop, dialog = asyncio.get_running_loop(), None
    start = loop.time()
    stats["in progress"] += 1
    try:
        endpoint = shared or await open_endpoint(cfg.server)
        dialog = Dialog(endpoint, cfg.server, f"{n}-{os.getpid()}-{secrets.token_hex(3)}@{endpoint.local[0]}")
        branch = f"z9hG4bK-{secrets.token_hex(8)}"
        final = await dialog.transact("INVITE", dialog.request("INVITE", 1, branch, sdp(endpoint.local[0])))
        if final.status >= 300:
            endpoint.transport.sendto(dialog.request("ACK", 1, branch))  # non-2xx ACK: same transaction
            raise CallFailed(f"INVITE answered {final.status} {final.first[2]}")
        dialog.to = final.get("to")  # carries the server's tag: the dialog is established
        endpoint.transport.sendto(dialog.request("ACK", 1))
        await asyncio.sleep(cfg.length_ms / 1000)
        bye = await dialog.transact("BYE", dialog.request("BYE", 2))
        if bye.status >= 300:
            raise CallFailed(f"BYE answered {bye.status} {bye.first[2]}")
        stats["completed"] += 1
        log(f"call {n} to {cfg.server}:{PORT} completed in {round((loop.time() - start) * 1000)} ms")
    except (CallFailed, OSError) as exc:
        stats["failed"] += 1
        log(f"call {n} to {cfg.server}:{PORT} failed: {exc}")
    finally:
        stats["in progress"] -= 1
        if dialog:
            dialog.close(shared)


async def pause(stop: asyncio.Event, seconds: float | None) -> bool:
    """Sleep, but wake at once on SIGTERM; True when stopping."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
    return stop.is_set()


async def wait_for_server(cfg: Config, stop: asyncio.Event) -> Endpoint | None:
    """Probe with OPTIONS until the server answers, backing off: the VNF may start before its peer."""
    delay = T1
    while not stop.is_set():
        probe = None
        try:
            if not cfg.server:
                raise CallFailed("neither SERVER_PRIVATE nor SERVER_HOSTNAME is set")
            probe = Dialog(await open_endpoint(cfg.server), cfg.server, f"probe-{secrets.token_hex(6)}")
            answer = await probe.transact("OPTIONS", probe.request("OPTIONS", 1))
            probe.close(probe.endpoint)
            log(f"server {cfg.server}:{PORT} reachable (OPTIONS answered {answer.status} {answer.first[2]})")
            return probe.endpoint
        except (CallFailed, OSError) as exc:
            if probe:
                probe.close(None)
            log(f"waiting for server {cfg.server or '(unset)'}:{PORT}: {exc}; retrying in {delay:g} s")
        if await pause(stop, delay):
            break
        delay = min(delay * 2, MAX_BACKOFF)
    return None


async def place_calls(cfg: Config, shared: Endpoint, stats: Counter[str], stop: asyncio.Event) -> None:
    """Start calls at rate per period; every SIPP_RATE_INCREASE s (client_start.sh passes it as -fd)
    raise the rate by SIPP_RATE_INCREASE, capped at SIPP_RATE_MAX when that is set."""
    loop, rate, n, tasks = asyncio.get_running_loop(), cfg.rate, 0, set[asyncio.Task[None]]()
    next_call = loop.time()
    next_increase = next_call + cfg.rate_increase if cfg.rate_increase else math.inf
    while not stop.is_set() and (not cfg.max_calls or n < cfg.max_calls):
        now = loop.time()
        if now >= next_increase:
            rate = min(rate + cfg.rate_increase, cfg.rate_max or math.inf)
            next_increase = math.inf if rate == cfg.rate_max else now + cfg.rate_increase
            log(f"rate now {rate:g} calls per {cfg.period_ms:g} ms{' (SIPP_RATE_MAX)' if rate == cfg.rate_max else ''}")
        wake = min(next_increase, next_call if rate > 0 else math.inf)
        if wake > now:
            await pause(stop, None if wake == math.inf else wake - now)
            continue
        n += 1
        task = asyncio.create_task(call(n, cfg, None if cfg.transport == "un" else shared, stats))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        next_call = max(next_call + cfg.period_ms / 1000 / rate, now - cfg.period_ms / 1000)  # no burst after a stall
        await asyncio.sleep(0)  # let calls progress even at absurd rates
    for task in tasks if stop.is_set() else ():
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def summary(stats: Counter[str]) -> str:
    return f"summary: {stats['completed']} completed, {stats['failed']} failed, {stats['in progress']} in progress"


async def report(stats: Counter[str]) -> None:
    while True:
        await asyncio.sleep(SUMMARY_EVERY)
        log(summary(stats))


async def run(cfg: Config) -> int:
    stop, stats = asyncio.Event(), Counter[str]()
    for sig in (signal.SIGTERM, signal.SIGINT):  # as PID 1 there is no default action: exit cleanly ourselves
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    reporter = asyncio.create_task(report(stats))
    shared = await wait_for_server(cfg, stop)
    if shared:
        if cfg.rate <= 0 and not cfg.rate_increase:
            log("SIPP_RATE and SIPP_RATE_INCREASE are 0: no calls will be placed")
        await place_calls(cfg, shared, stats, stop)
        shared.transport.close()
    reporter.cancel()
    log(f"{'stopping on signal; ' if stop.is_set() else 'done; '}{summary(stats)}")
    return 1 if stats["failed"] and not stop.is_set() else 0


def main() -> int:
    settings = {name: os.environ.get(name) or default for name, default in DEFAULTS.items()}
    for name, value in settings.items():
        log(f"config: {name}={value or '(unset)'}")
    for name in sorted(n for n in os.environ if n.startswith("SIPP_") and n not in settings):
        log(f"config: {name}={os.environ[name]} (ignored: unknown setting)")
    if settings["SIPP_RTP_ECHO"]:
        log(f"SIPP_RTP_ECHO={settings['SIPP_RTP_ECHO']} accepted; no RTP media flows in this stand-in")
    try:
        cfg = load_config(settings)
    except ValueError as exc:
        log(f"error: {exc}")
        return 2
    return asyncio.run(run(cfg))


if __name__ == "__main__":
    sys.exit(main())
