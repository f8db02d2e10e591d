"""The bounds themselves: slots, rate limits, the bounded pool, and the descriptor caps."""

from __future__ import annotations

import threading

import pytest
import yaml

from popvim.engine.docker_driver import _take_frames
from popvim.nfv.descriptors import DescriptorError, read_descriptor
from popvim.nfv.descriptors._common import safe_yaml
from popvim.vim.errors import TooBusy
from popvim.vim.limits import BoundedExecutor, RateLimiter, Slots


def test_slots_bound_the_total_and_each_key() -> None:
    slots = Slots("things", total=3, per_key=2)
    slots.take("a")
    slots.take("a")
    with pytest.raises(TooBusy, match="user 'a'"):
        slots.take("a")
    slots.take("b")
    with pytest.raises(TooBusy, match="at most 3"):
        slots.take("c")
    slots.give("a")
    slots.take("c")
    assert slots.in_use() == 3 and slots.in_use("a") == 1


def test_rate_limiter_refills_and_forgets_old_keys() -> None:
    now = [0.0]
    limiter = RateLimiter(burst=2, rate=1.0, max_keys=2, clock=lambda: now[0])
    assert limiter.spend("x") and limiter.spend("x")
    assert not limiter.spend("x") and not limiter.allowed("x")
    now[0] = 1.0
    assert limiter.allowed("x") and limiter.spend("x")
    limiter.spend("y")
    limiter.spend("z")  # "x" is the oldest: forgotten, so it starts full again
    assert limiter.spend("x") and limiter.spend("x")


def test_bounded_executor_refuses_past_its_queue() -> None:
    release = threading.Event()
    pool = BoundedExecutor("jobs", workers=1, queue=1, name="t")
    try:
        futures = [pool.submit(release.wait), pool.submit(release.wait)]
        with pytest.raises(TooBusy):
            pool.submit(release.wait)
        release.set()
        for f in futures:
            f.result(timeout=5)
        pool.submit(lambda: None).result(timeout=5)  # room again
    finally:
        release.set()
        pool.shutdown()


def test_yaml_anchors_and_aliases_are_refused() -> None:
    with pytest.raises(yaml.YAMLError, match="aliases"):
        safe_yaml("a: &x [1]\nb: *x\n")
    with pytest.raises(yaml.YAMLError, match="aliases"):
        safe_yaml("a: &x 1\n")
    assert safe_yaml("a: [1, {b: c}]") == {"a": [1, {"b": "c"}]}


def test_descriptor_problems_are_capped_and_cut() -> None:
    with pytest.raises(DescriptorError) as raised:
        read_descriptor({"name": "n", "vnfd": [0] * 5000})
    problems = raised.value.problems
    assert len(problems) == 101 and problems[-1].reason == f"and {raised.value.total - 100} more problems"
    with pytest.raises(DescriptorError) as raised:
        read_descriptor({"name": "n", "vnfd": [{"name": "v" * 10_000, "type": 1}]})
    assert all(len(p.reason) <= 200 and len(p.path) <= 120 for p in raised.value.problems)


def test_exec_frames_are_split_and_capped() -> None:
    def frame(kind: int, data: bytes) -> bytes:
        return bytes([kind, 0, 0, 0]) + len(data).to_bytes(4, "big") + data

    pending = bytearray(frame(1, b"out") + frame(2, b"err") + frame(1, b"more-out") + frame(1, b"x")[:5])
    outputs = (bytearray(), bytearray())
    truncated = [False, False]
    _take_frames(pending, outputs, truncated, cap=6)
    assert outputs == (bytearray(b"outmor"), bytearray(b"err")) and truncated == [True, False]
    assert len(pending) == 5  # the incomplete frame waits for the rest


def test_limits_and_reconcile_interval_come_from_the_config(tmp_path) -> None:  # noqa: ANN001
    from popvim import config as cfg

    path = tmp_path / "p.toml"
    path.write_text(
        "[pop]\nreconcile_interval = 5\n[network]\nlargest_subnet = 20\n"
        "[limits]\nexec_timeout = 2.5\nexecs_per_user = 1\n"
    )
    settings = cfg.load(path).settings()
    assert settings.reconcile_interval == 5 and settings.largest_subnet == 20
    assert settings.limits.exec_timeout == 2.5 and settings.limits.execs_per_user == 1
    for bad in ("[limits]\nnope = 1\n", "[limits]\nexecs = 0\n", "[limits]\nexecs = 1.5\n", "[limits]\nexecs = true\n"):
        path.write_text(bad)
        with pytest.raises(ValueError, match=r"\[limits\]"):
            cfg.load(path)
