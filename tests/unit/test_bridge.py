"""ResponseChannel's batching, with the loop's callback queue held in a list so that its order can be seen;
and LogThrottle."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest

from aiowsgi import bridge
from aiowsgi.bridge import LogThrottle, ResponseChannel


class HeldLoop:
    """call_soon_threadsafe that keeps the callbacks until the test runs them, as a busy loop would."""

    def __init__(self) -> None:
        self.callbacks: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def call_soon_threadsafe(self, callback: Callable[..., None], *args: Any) -> None:
        self.callbacks.append((callback, args))

    def run(self) -> None:
        callbacks, self.callbacks = self.callbacks, []
        for callback, args in callbacks:
            callback(*args)


class Owner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def output_write(self, parts: tuple[bytes, ...]) -> None:
        self.calls.append(("write", parts))

    def output_sendfile(self, fd: int, offset: int, count: int) -> None:
        self.calls.append(("sendfile", count))

    def output_finish(self, parts: tuple[bytes, ...], keep_alive: bool) -> None:
        self.calls.append(("finish", parts))

    def output_abort(self, reason: str) -> None:
        self.calls.append(("abort", reason))


def channel(loop: HeldLoop, owner: Owner) -> ResponseChannel:
    return ResponseChannel(
        cast(asyncio.AbstractEventLoop, loop),
        owner,
        high_water=1 << 20,
        in_flight_limit=1 << 20,
        send_timeout=1.0,
        can_sendfile=False,
        buffered=0,
    )


def test_sends_the_loop_has_not_taken_go_in_one_batch() -> None:
    loop, owner = HeldLoop(), Owner()
    out = channel(loop, owner)
    out.send(b"a")
    out.send(b"b", b"c")
    out.send(b"d")
    assert len(loop.callbacks) == 1, "one callback for everything sent while the loop was busy"
    loop.run()
    assert owner.calls == [("write", (b"a", b"b", b"c", b"d"))]
    out.send(b"e")
    assert len(loop.callbacks) == 1, "once the loop has taken a batch, the next send posts again"
    loop.run()
    assert owner.calls[-1] == ("write", (b"e",))


def test_finish_comes_after_the_batch_it_follows() -> None:
    loop, owner = HeldLoop(), Owner()
    out = channel(loop, owner)
    out.send(b"head")
    out.send(b"body")
    out.finish(b"tail", keep_alive=True)
    loop.run()
    assert owner.calls == [("write", (b"head", b"body")), ("finish", (b"tail",))]


def test_a_batch_counts_against_the_in_flight_limit_until_the_loop_takes_it() -> None:
    loop, owner = HeldLoop(), Owner()
    out = channel(loop, owner)
    out.send(b"x" * 1000)
    out.send(b"y" * 1000)
    assert out._queued == 2000
    loop.run()
    assert out._queued == 0


def test_nothing_is_written_after_the_client_is_gone() -> None:
    loop, owner = HeldLoop(), Owner()
    out = channel(loop, owner)
    out.send(b"a")
    out.disconnect()
    loop.run()
    assert owner.calls == []


def test_a_throttled_line_is_logged_at_once_then_once_an_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(bridge.time, "monotonic", lambda: now[0])
    throttle = LogThrottle(interval=10.0)
    assert throttle.due() == 1  # the first event is logged at once
    assert [throttle.due() for _ in range(5)] == [0] * 5
    now[0] += 9.9
    assert throttle.due() == 0
    now[0] += 0.1
    assert throttle.due() == 7  # the five, the one at 9.9 s and this one
    assert throttle.due() == 0
    now[0] += 60
    assert throttle.due() == 2
