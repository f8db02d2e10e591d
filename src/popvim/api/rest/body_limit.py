"""Request bodies are counted while they are read, and refused (413) past a limit.

A ``Content-Length`` above the limit is refused before anything is read; a
body without one (chunked) or one that lies is cut off at the first byte past
the limit. Trusting the header alone would let any client make the daemon
buffer what it likes.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, default: int, per_path: dict[str, int]) -> None:
        self._app = app
        self._default = default
        self._per_path = per_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self._per_path.get(scope.get("path", ""), self._default)
        length = _content_length(scope)
        if length is not None and length > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = refused = False

        async def counted() -> Message:
            # Past the limit the 413 goes out at once and the app reads a disconnect: whatever
            # it makes of that (FastAPI: a 400) is dropped by ``watched``.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self._app(scope, counted, watched)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or ():
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(error_body(limit)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def error_body(limit: int) -> dict[str, Any]:
    return {
        "error": {
            "code": "payload_too_large",
            "message": f"the request body is larger than this endpoint accepts ({limit} bytes)",
        }
    }
