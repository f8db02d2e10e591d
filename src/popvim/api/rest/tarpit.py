"""How long a refused login waits for its 429: longer the more its client address was refused lately.

A login flood is refused at once by the rate limits, but every refusal still costs the event
loop a whole request (parsing, routing, the body, the answer, the access line). With a fixed
delay, 60 clients retrying in a loop come back 120 times a second and take the loop from
everybody else; they stalled authenticated requests for seconds on 2 CPUs. So the delay of a
refused login grows with a decaying count of that address's recent refusals, from the usual
half second up to a few seconds: a flood then asks 5 times less often, while one client that
mistyped a few times waits hardly longer. No thread is held while waiting.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class Tarpit:
    def __init__(
        self,
        base: float = 0.5,
        most: float = 2.0,
        per_step: float = 10.0,
        half_life: float = 10.0,
        jitter: float = 0.5,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Each ``per_step`` recent refusals add ``base`` to the delay, up to ``most``; a refusal
        counts half after ``half_life`` seconds. The delay is spread over +-``jitter``/2 of itself,
        so that clients refused together do not come back together."""
        self._base = base
        self._most = most
        self._per_step = per_step
        self._half_life = half_life
        self._jitter = jitter
        self._max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (count, when)
        self._lock = threading.Lock()

    def delay(self, key: str) -> float:
        """Seconds to wait before answering this refusal of ``key`` (which it counts)."""
        with self._lock:
            now = self._clock()
            count, when = self._seen.get(key, (0.0, now))
            count = count * 0.5 ** ((now - when) / self._half_life) + 1
            self._seen[key] = (count, now)
            self._seen.move_to_end(key)
            while len(self._seen) > self._max_keys:  # addresses invented by a client cannot grow it
                self._seen.popitem(last=False)
        wait = min(self._most, self._base * (1 + (count - 1) / self._per_step))
        return spread(wait, self._jitter)


def spread(seconds: float, jitter: float) -> float:
    return seconds * (1 + jitter * (random.random() - 0.5))
