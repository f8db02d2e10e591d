"""A streamed answer that releases what it holds however it ends.

The clean-up of a generator's ``finally`` never runs when the client hangs up
before the first chunk (the generator was never started), so a slot taken for
a stream is released here, around the whole response, exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterable, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class ReleasingStream(StreamingResponse):
    def __init__(self, content: AsyncIterable[Any], release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release
        self._released = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()

    def release(self) -> None:
        if self._released.acquire(blocking=False):
            self._release()
