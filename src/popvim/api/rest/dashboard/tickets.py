"""Single-use tickets that let a browser's EventSource open the event feed.

EventSource sends no Authorization header, and a token in a URL would be
logged and long-lived. A ticket is: asked for with the token (POST
/v1/events/ticket), valid for ``TTL`` seconds, good for one connection, bound
to the token that asked (so an expired or logged-out token fails the stream
as it would fail the NDJSON feed), and kept in this process's memory only.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from popvim.api.rest.deps import READER, bearer_token
from popvim.api.rest.errors import error_body

SSE_PATH = "/v1/events/sse"
FEED_PATH = "/v1/events"
TTL = 30.0
PER_TOKEN = 8  # outstanding tickets per token; asking for more drops the oldest

router = APIRouter(tags=["system"], dependencies=READER)


class Ticket(BaseModel):
    ticket: str
    expires_at: datetime
    url: str


class Tickets:
    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._tickets: OrderedDict[str, tuple[str, float]] = OrderedDict()  # ticket -> (token, expiry)

    def issue(self, token: str) -> tuple[str, float]:
        now = time.monotonic()
        ticket = secrets.token_urlsafe(32)
        with self._lock:
            self._purge(now)
            mine = [t for t, (tok, _) in self._tickets.items() if tok == token]
            for old in mine[: max(0, len(mine) - PER_TOKEN + 1)]:
                del self._tickets[old]
            self._tickets[ticket] = (token, now + self.ttl)
        return ticket, self.ttl

    def redeem(self, ticket: str) -> str | None:
        """The token the ticket stands for, once; ``None`` if unknown, used or expired."""
        with self._lock:
            entry = self._tickets.pop(ticket, None)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def _purge(self, now: float) -> None:
        for ticket in [t for t, (_, expiry) in self._tickets.items() if expiry < now]:
            del self._tickets[ticket]


@router.post("/v1/events/ticket")
def ticket(request: Request, token: Annotated[str | None, Depends(bearer_token)]) -> Ticket:
    """A single-use ticket for ``GET /v1/events/sse?ticket=...`` (Server-Sent Events), valid 30 s."""
    tickets: Tickets = request.app.state.tickets
    value, ttl = tickets.issue(token or "")
    return Ticket(
        ticket=value,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
        url=f"{SSE_PATH}?{urlencode({'ticket': value})}",
    )


class EventTickets:
    """ASGI middleware: ``GET /v1/events/sse?ticket=T[&keepalive=S]`` becomes ``GET
    /v1/events`` with T's token, and its NDJSON lines become SSE messages."""

    def __init__(self, app: ASGIApp, tickets: Tickets) -> None:
        self.app = app
        self.tickets = tickets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != SSE_PATH:
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = self.tickets.redeem((query.get("ticket") or [""])[0])
        if token is None or scope["method"] != "GET":
            status = 401 if token is None else 405
            message = "a fresh ticket from POST /v1/events/ticket is needed" if token is None else "GET only"
            await _send_error(send, status, "unauthorized" if status == 401 else "method_not_allowed", message)
            return
        passed = {k: v for k, v in query.items() if k == "keepalive"}
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"authorization", b"accept")]
        headers.append((b"authorization", b"Bearer " + token.encode("latin-1")))
        inner = dict(
            scope,
            path=FEED_PATH,
            raw_path=FEED_PATH.encode(),
            query_string=urlencode(passed, doseq=True).encode(),
            headers=headers,
        )
        await self.app(inner, receive, _SseFraming(send))


class _SseFraming:
    """Re-frames a 200 NDJSON body as ``data:`` messages (an empty keep-alive line
    becomes an SSE comment); any other answer passes unchanged."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._framing = False
        self._pending = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            self._framing = True
            headers = [
                (k, v)
                for k, v in message.get("headers", [])
                if k.lower() not in (b"content-type", b"content-length", b"cache-control")
            ]
            headers += [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),
            ]
            message = dict(message, headers=headers)
        elif message["type"] == "http.response.body" and self._framing:
            data = self._pending + message.get("body", b"")
            *lines, self._pending = data.split(b"\n")
            body = b"".join(b"data: " + line + b"\n\n" if line.strip() else b": keepalive\n\n" for line in lines)
            message = dict(message, body=body)
        await self._send(message)


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
