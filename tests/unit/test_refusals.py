"""What keeps a flood of refused requests cheap for the event loop: the login tarpit, the token
check answered from the cache on the loop, and log lines handed to a thread."""

from __future__ import annotations

import logging
import queue
from pathlib import Path

import pytest

from popvim.api.rest.tarpit import Tarpit
from popvim.observe import logs
from popvim.store.db import Store
from popvim.vim.auth import AuthService, hash_password
from popvim.vim.errors import BadCredentials, LoginsRefused, TooBusy
from popvim.vim.limits import Limits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_refused_login_waits_longer_the_more_its_address_was_refused_lately() -> None:
    clock = Clock()
    tarpit = Tarpit(base=0.5, most=2.0, per_step=10, half_life=10, jitter=0, clock=clock)
    assert tarpit.delay("10.0.0.1") == 0.5  # the first refusal: the usual half second
    flood = [tarpit.delay("10.0.0.1") for _ in range(60)]
    assert flood == sorted(flood) and flood[-1] == 2.0  # growing, up to the most
    assert tarpit.delay("10.0.0.2") == 0.5  # another address is not charged for it
    clock.now += 120  # a quiet while: forgotten
    assert tarpit.delay("10.0.0.1") == pytest.approx(0.5, abs=0.01)


def test_the_tarpit_spreads_its_delays_and_forgets_the_oldest_addresses() -> None:
    tarpit = Tarpit(base=0.5, jitter=0.5, max_keys=3)
    delays = {round(tarpit.delay(f"10.0.0.{i}"), 6) for i in range(50)}
    assert len(delays) > 1 and all(0.375 <= d <= 0.625 for d in delays)
    assert len(tarpit._seen) == 3  # noqa: SLF001 - the bound is the point


@pytest.fixture
def service(tmp_path: Path) -> AuthService:
    limits = Limits(login_failures_per_user=2, login_failure_rate_per_user=0.001)
    return AuthService(Store(f"sqlite:///{tmp_path / 'a.db'}"), {"ann": hash_password("pw", rounds=4)}, 60, limits)


def test_logins_refused_unchecked_are_told_apart_from_other_refusals(service: AuthService) -> None:
    for _ in range(2):
        with pytest.raises(BadCredentials):
            service.login("ann", "wrong")
    with pytest.raises(LoginsRefused) as refused:
        service.login("ann", "wrong")
    assert isinstance(refused.value, TooBusy) and refused.value.code == "too_many_requests"


def test_a_fresh_token_is_checked_from_the_cache_alone(service: AuthService) -> None:
    assert service.verify_cached(None) is None
    token, _ = service.login("ann", "pw")
    assert service.verify_cached(token) is None  # never seen by verify: the thread path
    assert service.verify(token) == "ann"
    assert service.verify_cached(token) == "ann"
    assert service.verify_cached(token[::-1]) is None
    service.logout([token])
    assert service.verify_cached(token) is None


def test_log_records_reach_the_writer_with_their_message_and_request_id() -> None:
    lines: queue.Queue[logging.LogRecord] = queue.Queue()
    handler = logs.Enqueue(lines)
    args = ["first"]
    record = logging.LogRecord("popvim.rest", logging.INFO, __file__, 1, "GET %s", (args,), None)
    token = logs.request_id.set("req-7")
    try:
        handler.emit(record)
    finally:
        logs.request_id.reset(token)
    args[0] = "changed"  # after the call: the line says what was logged
    queued = lines.get_nowait()
    assert queued.getMessage() == "GET ['first']"
    assert getattr(queued, "request_id", None) == "req-7"
    entry = logs.JsonFormatter().format(queued)  # on the writer's thread, outside the request
    assert '"request_id": "req-7"' in entry


def test_a_stuck_log_writer_costs_lines_not_memory() -> None:
    lines: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=2)
    handler = logs.Enqueue(lines)
    for i in range(5):
        handler.emit(logging.LogRecord("popvim", logging.INFO, __file__, 1, "line %d", (i,), None))
    assert lines.qsize() == 2


def test_a_flood_of_parallel_logins_checks_no_more_passwords_than_the_burst(tmp_path: Path) -> None:
    """Failures are charged when a login is submitted: parallel attempts cannot all slip past the check."""
    limits = Limits(login_failures_per_user=3, login_failure_rate_per_user=0.001, login_queue=50)
    service = AuthService(Store(f"sqlite:///{tmp_path / 'a.db'}"), {"ann": hash_password("pw", rounds=4)}, 60, limits)
    submitted, refused = [], 0
    for _ in range(20):  # none has been checked yet when the next comes
        try:
            submitted.append(service.submit_login("ann", "wrong", "10.0.0.1"))
        except LoginsRefused:
            refused += 1
    assert len(submitted) == 3 and refused == 17
    for future in submitted:
        with pytest.raises(BadCredentials):
            future.result()


def test_a_right_password_is_not_charged_as_a_failure(tmp_path: Path) -> None:
    limits = Limits(login_failures_per_user=2, login_failure_rate_per_user=0.001)
    service = AuthService(Store(f"sqlite:///{tmp_path / 'a.db'}"), {"ann": hash_password("pw", rounds=4)}, 60, limits)
    for _ in range(5):
        service.login("ann", "pw", "10.0.0.1")
    with pytest.raises(BadCredentials):
        service.login("ann", "wrong", "10.0.0.1")
    service.login("ann", "pw", "10.0.0.1")  # one failure left in the burst: still allowed
