#!/usr/bin/env python3
"""A minimal SIP UAS standing in for `sipp -sn uas` (seed 001, 4.5.2), which is not packaged here.

Plays the server side of the seed's SIPp scenario over UDP on every address:
INVITE -> 100 Trying + 200 OK (with SDP), ACK, BYE -> 200 OK, OPTIONS -> 200 OK
(clients use it as a liveness probe). Retransmitted requests get the same
answers again, and each message and completed call is logged to stdout so
`docker logs` shows the traffic.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from sipmsg import PORT, Message, build, log, parse, sdp

BIND = "0.0.0.0"
MAX_CALLS_KEPT = 4096  # bounded memory even when clients never send BYE


@dataclass
class Call:
    """Dialog state, kept so retransmitted requests get identical answers."""

    to_tag: str
    started: float
    invite_cseq: str
    invite_answers: list[bytes] = field(default_factory=list)
    acked: bool = False
    completed: bool = False


def uri_host(uri: str) -> str:
    """Host of a SIP URI such as sip:service@172.16.0.2:5060;transport=UDP: the address the
    client used for us, which is the one to put in Contact and SDP (we bind to all of them)."""
    hostport = uri.split(":", 1)[-1].split(";")[0].split("@")[-1]
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


def response(req: Message, status: str, to_tag: str, body: str = "", extra: tuple[str, ...] = ()) -> bytes:
    """A response mirroring Via/From/Call-ID/CSeq, as RFC 3261 8.2.6.2 requires."""
    to = req.get("to")
    if to_tag and ";tag=" not in to:
        to += f";tag={to_tag}"
    headers = [*(f"Via: {v}" for v in req.all("via")), f"From: {req.get('from')}", f"To: {to}",
               f"Call-ID: {req.get('call-id')}", f"CSeq: {req.get('cseq')}", *extra]
    return build(f"SIP/2.0 {status}", headers, body)


class Server:
    """The UAS proper: one UDP socket and a bounded table of calls by Call-ID."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.calls: OrderedDict[str, Call] = OrderedDict()
        self.completed = 0

    def send(self, peer: tuple[str, int], *messages: bytes) -> None:
        for message in messages:
            self.sock.sendto(message, peer)

    def invite(self, req: Message, peer: tuple[str, int], call: Call | None) -> str:
        if call and call.invite_cseq == req.get("cseq"):
            self.send(peer, *call.invite_answers)
            return "retransmission, answers resent"
        call = Call(secrets.token_hex(6), time.monotonic(), req.get("cseq"))
        self.calls[req.get("call-id")] = call
        while len(self.calls) > MAX_CALLS_KEPT:
            self.calls.popitem(last=False)
        me = uri_host(req.first[1])
        call.invite_answers = [response(req, "100 Trying", ""),
                               response(req, "200 OK", call.to_tag, sdp(me),
                                        (f"Contact: <sip:{me}:{PORT};transport=UDP>",))]
        self.send(peer, *call.invite_answers)
        return "100 Trying, 200 OK"

    def bye(self, req: Message, peer: tuple[str, int], call: Call | None) -> str:
        if not call:
            self.send(peer, response(req, "481 Call/Transaction Does Not Exist", secrets.token_hex(6)))
            return "481, unknown call"
        if not call.completed:  # logged before answering, so the log is written once the client knows
            call.completed = True
            self.completed += 1
            ms = round((time.monotonic() - call.started) * 1000)
            log(f"call {req.get('call-id')} from {peer[0]}:{peer[1]} completed in {ms} ms"
                f"{'' if call.acked else ' (its ACK was never seen)'}")
            self.send(peer, response(req, "200 OK", call.to_tag))
            return "200 OK"
        self.send(peer, response(req, "200 OK", call.to_tag))
        return "200 OK (retransmission)"

    def handle(self, req: Message, peer: tuple[str, int]) -> str:
        """Answer one request; return what was done, for the request's log line."""
        call = self.calls.get(req.get("call-id"))
        if req.method == "INVITE":
            return self.invite(req, peer, call)
        if req.method == "BYE":
            return self.bye(req, peer, call)
        if req.method == "ACK":  # never answered (RFC 3261 17.1.1.3)
            if call:
                call.acked = True
            return "dialog confirmed" if call else "ignored, unknown call"
        if req.method == "OPTIONS":
            self.send(peer, response(req, "200 OK", secrets.token_hex(6), extra=("Allow: INVITE, ACK, BYE, OPTIONS",)))
            return "200 OK"
        self.send(peer, response(req, "501 Not Implemented", secrets.token_hex(6)))
        return "501 Not Implemented"

    def serve(self) -> None:
        while True:
            data, peer = self.sock.recvfrom(65535)
            msg = parse(data)
            if msg is None or not msg.is_request:
                what = "a response" if msg else "not SIP"
                log(f"ignored {len(data)} bytes from {peer[0]}:{peer[1]} ({what})")
                continue
            try:
                outcome = self.handle(msg, peer)
            except OSError as exc:  # e.g. an ICMP error surfacing on sendto
                outcome = f"answer not sent: {exc}"
            log(f"{msg.method} from {peer[0]}:{peer[1]} call-id {msg.get('call-id') or '-'}: {outcome}")


def stop(signum: int, _frame: object) -> None:
    """As PID 1 in a container SIGTERM has no default action, so exit explicitly."""
    log(f"received {signal.Signals(signum).name}, exiting")
    sys.exit(0)


def main() -> int:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    log(f"config: listen={BIND}:{PORT}/udp")
    for key in sorted(k for k in os.environ if k.startswith("SIPP_") or k == "SERVER_PRIVATE"):
        log(f"config: {key}={os.environ[key]}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BIND, PORT))
    log(f"sip-uas listening on {BIND}:{PORT}/udp")
    server = Server(sock)
    try:
        server.serve()
    finally:
        log(f"summary: {server.completed} completed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
