"""The dashboard's event tickets and the NDJSON-to-SSE re-framing, without a daemon."""

from __future__ import annotations

import asyncio
from typing import Any

from popvim.api.rest.dashboard.tickets import PER_TOKEN, Tickets, _SseFraming


def test_a_ticket_stands_for_its_token_once() -> None:
    tickets = Tickets()
    ticket, ttl = tickets.issue("token-a")
    assert ttl == 30.0 and len(ticket) >= 40
    assert tickets.redeem(ticket) == "token-a"
    assert tickets.redeem(ticket) is None
    assert tickets.redeem("made-up") is None


def test_an_expired_ticket_is_refused() -> None:
    tickets = Tickets(ttl=-1.0)
    ticket, _ = tickets.issue("token-a")
    assert tickets.redeem(ticket) is None


def test_asking_for_many_tickets_keeps_only_the_newest() -> None:
    tickets = Tickets()
    issued = [tickets.issue("token-a")[0] for _ in range(PER_TOKEN + 3)]
    other = tickets.issue("token-b")[0]
    assert [tickets.redeem(t) for t in issued[:3]] == [None] * 3
    assert all(tickets.redeem(t) == "token-a" for t in issued[3:])
    assert tickets.redeem(other) == "token-b"


def _frame(status: int, chunks: list[bytes]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        framing = _SseFraming(send)
        await framing(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/x-ndjson")]}
        )
        for i, chunk in enumerate(chunks):
            await framing({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    asyncio.run(run())
    return sent


def test_ndjson_lines_become_sse_messages_even_when_split_across_chunks() -> None:
    sent = _frame(200, [b'{"kind": "a"}\n', b"\n", b'{"kind":', b' "b"}\n'])
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"].startswith(b"text/event-stream")
    assert headers[b"cache-control"] == b"no-cache"
    body = b"".join(m["body"] for m in sent[1:])
    assert body == b'data: {"kind": "a"}\n\n: keepalive\n\ndata: {"kind": "b"}\n\n'


def test_a_refusal_passes_unchanged() -> None:
    sent = _frame(429, [b'{"error": {"code": "too_many", "message": "x"}}'])
    assert dict(sent[0]["headers"])[b"content-type"] == b"application/x-ndjson"
    assert sent[1]["body"] == b'{"error": {"code": "too_many", "message": "x"}}'
