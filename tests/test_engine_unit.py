"""The engine's rules on a fast clock against an in-memory exchange (see tests/fakes.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import logging
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gui.core.errors import (
    AuthenticationError,
    BadResponseError,
    InvalidInputError,
    NetworkError,
    RateLimitedError,
    ServerError,
)
from gui.core.heartbeat import (
    Engine,
    EngineEvent,
    EventKind,
    State,
    check_interval,
)
from gui.core.journal import Journal
from gui.core.ratelimit import RateBudget
from gui.core.targets import parse_target
from gui.core.timing import BEAT_GRID_MIN_INTERVAL_S, BEAT_GRID_SHARE
from tests.fakes import SERVER_OFFSET, SPEED, FakeClient, FakeExchange, FastClock

BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")
OPT = parse_target("options:BTC_USDT")


class Rig:
    def __init__(self, behave: Any = None, *, budget: RateBudget | None = None) -> None:
        self.clock = FastClock()
        self.exchange = FakeExchange(self.clock)
        self.client = FakeClient(self.exchange, behave)
        self.events: list[EngineEvent] = []
        # The fake network delivers a late request at most 12 s after it was sent (see the
        # behaviours below), so that is how long a beat of unknown fate can still land.
        self.engine = Engine(self.client, clock=self.clock, budget=budget,
                             rng=random.Random(7), late_window=12.0)
        self.engine.subscribe(self.events.append)

    def kinds(self, target: Any = None) -> list[EventKind]:
        return [e.kind for e in self.events if target is None or e.target == target]

    async def until(self, cond: Callable[[], bool], seconds: float = 30.0) -> None:
        """Wait (fast-clock seconds) until ``cond`` holds."""
        end = self.clock.monotonic() + seconds
        while not cond():
            if self.clock.monotonic() > end:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.002)

    async def run_for(self, seconds: float) -> None:
        await self.clock.sleep(seconds)

    def play(self, scenario: Callable[[Rig], Awaitable[None]]) -> None:
        """Run ``scenario`` on a fresh loop, then shut the engine down whatever happened."""

        async def main() -> None:
            try:
                await scenario(self)
            finally:
                await self.engine.shutdown(disarm=False)

        asyncio.run(main())


def run(scenario: Callable[[Rig], Awaitable[None]], behave: Any = None, **kw: Any) -> Rig:
    rig = Rig(behave, **kw)
    rig.play(scenario)
    return rig


def test_interval_rules() -> None:
    assert check_interval(60, None) == (15.0, None)
    assert check_interval(60, 15)[1] is None
    value, warning = check_interval(60, 25)
    assert value == 25 and warning and "little slack" in warning
    for bad_timeout in (0, 3, 4, -1, True, 5.5):
        with pytest.raises(InvalidInputError):
            check_interval(bad_timeout, None)  # type: ignore[arg-type]
    for bad_interval in (60, 61, 0, 0.1, float("nan"), float("inf")):
        with pytest.raises(InvalidInputError):
            check_interval(60, bad_interval)


def test_steady_beats_on_schedule_and_time_left_stays_positive() -> None:
    lefts: list[float] = []

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC, ETH, OPT], timeout=5, interval=1.25)
        for _ in range(60):
            await rig.run_for(0.1)
            for status in rig.engine.statuses():
                left = status.time_left(rig.clock.monotonic())
                if left is not None:
                    lefts.append(left)
        assert {s.state for s in rig.engine.statuses()} == {State.ARMED}

    rig = run(scenario)
    assert lefts and min(lefts) > 0
    for target in (BTC, ETH, OPT):
        sends = [c.sent for c in rig.client.sent(target, 5)]
        assert len(sends) >= 4
        gaps = [b - a for a, b in itertools.pairwise(sends)]
        # Due `interval` after the previous send, pulled a little early to spread beats.
        assert all(1.25 * 0.94 <= g <= 1.25 + 0.3 for g in gaps), gaps
    assert rig.exchange.firings == []
    assert EventKind.FIRED not in rig.kinds()


def test_long_interval_beats_go_out_on_whole_seconds_a_few_at_a_time() -> None:
    # Countdowns renewed on the same fraction of a second run out on it too, so the window
    # turns all their seconds in one repaint. Never later than due, at most a second early.
    engine = Engine(FakeClient(FakeExchange(FastClock())), clock=FastClock())
    assert engine._beat_time(1234.56, 15.0) == 1234.0
    assert engine._beat_time(1235.0, 15.0) == 1235.0
    short = BEAT_GRID_MIN_INTERVAL_S - 0.5
    assert engine._beat_time(1236.56, short) == 1236.56  # a second is too much of it
    when = [engine._beat_time(5000.0 + 0.1 * i, 15.0) for i in range(BEAT_GRID_SHARE + 3)]
    # One second takes BEAT_GRID_SHARE of them: a crowd at once would hold the GUI thread up.
    assert when == [5000.0] * BEAT_GRID_SHARE + [5000.0 + 0.1 * i
                                                for i in range(BEAT_GRID_SHARE, len(when))]
    assert engine._beat_time(5001.3, 15.0) == 5001.0
    engine.executor.shutdown()


def test_steady_long_interval_beats_stay_due_interval_after_the_last() -> None:
    targets = [parse_target(f"spot:C{i}_USDT") for i in range(6)]

    async def scenario(rig: Rig) -> None:
        rig.engine.arm(targets, timeout=60, interval=15)
        await rig.run_for(47)

    rig = run(scenario)
    late = 0.5  # how late a fast-clock sleep may end on a busy machine (25 ms of real time)
    grid_sends: dict[int, int] = {}
    for target in targets:
        sends = [c.sent for c in rig.client.sent(target, 60)]
        assert len(sends) >= 3
        for a, b in itertools.pairwise(sends):
            # Due 15 s after the last, up to 5 % early at random, then onto the second before.
            assert 15 * 0.95 - 1.0 <= b - a <= 15 + late, (a, b)
        for sent in sends[1:]:
            if sent - math.floor(sent) < late:
                grid_sends[math.floor(sent)] = grid_sends.get(math.floor(sent), 0) + 1
    assert grid_sends and max(grid_sends.values()) <= BEAT_GRID_SHARE
    assert rig.exchange.firings == []


def test_the_log_says_what_happened_but_not_every_routine_beat(
        caplog: pytest.LogCaptureFixture) -> None:
    # The journal keeps every beat; a log line for each would be 5,760 a day per target.
    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.kinds().count(EventKind.BEAT_OK) >= 3)

    with caplog.at_level(logging.INFO, logger="gui.core.heartbeat"):
        run(scenario)
    said = [r.getMessage() for r in caplog.records if r.name == "gui.core.heartbeat"]
    assert any(m.startswith(f"{EventKind.ARMING.value} ") for m in said), said
    assert not any(m.startswith(f"{EventKind.BEAT_OK.value} ") for m in said), said


def test_transient_failures_that_clear_in_time_do_not_fire() -> None:
    failing = {"left": 6}
    errors = [ServerError("busy", status=503), NetworkError("reset"),
              BadResponseError("html page", status=502), RateLimitedError("slow", status=429)]

    def behave(target: Any, timeout: int) -> Any:
        if timeout and failing["left"] > 0 and len(rig.client.calls) > 1:
            failing["left"] -= 1
            return errors[failing["left"] % len(errors)]
        return None

    rig = Rig(behave)

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: failing["left"] == 0)
        await rig.until(lambda: rig.engine.status(BTC).state is State.ARMED)  # type: ignore[union-attr]
        await rig.run_for(6)

    rig.play(scenario)
    kinds = rig.kinds(BTC)
    assert EventKind.DEGRADED in kinds and EventKind.RETRYING in kinds
    assert EventKind.FIRED not in kinds
    assert rig.exchange.firings == []
    assert rig.engine.status(BTC).state is State.ARMED  # type: ignore[union-attr]


def test_a_fault_that_outlasts_the_deadline_is_reported_fired_promptly() -> None:
    def behave(target: Any, timeout: int) -> Any:
        if target == BTC and len([c for c in rig.client.calls if c.target == BTC]) > 1:
            return ("hang", 30.0)
        return None

    rig = Rig(behave)

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC, ETH], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).state is State.FIRED,  # type: ignore[union-attr]
                        seconds=15)
        reported = rig.clock.monotonic() + SERVER_OFFSET
        rig.exchange.settle()
        assert [f.target for f in rig.exchange.firings] == [BTC]
        # Reported within a second (exchange time) of the exchange firing.
        assert 0 <= reported - rig.exchange.firings[0].trigger_s < 1.0
        await rig.run_for(2)

    rig.play(scenario)
    status = rig.engine.status(BTC)
    assert status is not None and status.state is State.FIRED
    assert "cancelled BTC_USDT spot orders" in status.reason
    assert rig.engine.status(ETH).state is State.ARMED  # type: ignore[union-attr]
    fired = [e for e in rig.events if e.kind is EventKind.FIRED]
    assert len(fired) == 1 and fired[0].target == BTC
    # Fired is not hidden behind a re-arm: no beat was sent for BTC after it fired.
    assert all(c.sent <= fired[0].status.trigger_time_ms / 1000 - SERVER_OFFSET  # type: ignore[union-attr]
               for c in rig.client.sent(BTC, 5))


def test_a_rejected_key_stops_the_worker_and_says_the_countdown_still_runs() -> None:
    def behave(target: Any, timeout: int) -> Any:
        if len(rig.client.calls) > 1:
            return AuthenticationError("Invalid key", label="INVALID_KEY", status=401)
        return None

    rig = Rig(behave)

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).state is State.ERROR)  # type: ignore[union-attr]

    rig.play(scenario)
    status = rig.engine.status(BTC)
    assert status is not None
    assert "INVALID_KEY" in status.reason
    assert "still runs and fires at" in status.reason
    assert len(rig.client.sent(BTC)) == 2  # no retry of a refused key


def test_stop_waits_for_the_inflight_beat_then_disarms() -> None:
    def behave(target: Any, timeout: int) -> Any:
        if timeout and len(rig.client.sent(BTC)) == 2:
            # Slow, yet inside its attempt's bound (a quarter of the 3.75 s left).
            return ("slow", 0.8)
        return None

    rig = Rig(behave)
    result: dict[Any, bool] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: len(rig.client.sent(BTC)) == 2)
        result.update(await rig.engine.disarm())
        await rig.run_for(8)

    rig.play(scenario)
    assert result == {BTC: True}
    calls = rig.client.sent(BTC)
    assert calls[-1].timeout == 0
    slow = calls[1]
    assert slow.processed is not None and calls[-1].sent >= slow.processed
    assert rig.exchange.armed() == set() and rig.exchange.firings == []
    assert rig.engine.status(BTC).state is State.DISARMED  # type: ignore[union-attr]


def test_a_beat_answered_while_stop_cancels_its_worker_is_journaled(tmp_path: Path) -> None:
    stopping = threading.Event()

    def behave(target: Any, timeout: int) -> Any:
        if timeout and len(rig.client.sent(BTC, 5)) == 2:
            # The exchange answers this beat only once STOP has begun: the answer reaches a
            # worker that is being cancelled, and the stop is what sees it.
            stopping.wait(5.0)
        return None

    rig = Rig(behave)
    journal = Journal(tmp_path)
    rig.engine.journal = journal
    rig.engine.subscribe(lambda e: stopping.set() if e.kind is EventKind.STOPPING else None)
    result: dict[Any, bool] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: len(rig.client.sent(BTC, 5)) == 2)
        result.update(await rig.engine.disarm())

    rig.play(scenario)
    journal.close()
    assert result == {BTC: True}
    beats_sent = rig.client.sent(BTC, 5)
    assert len(beats_sent) == 2 and all(c.processed is not None for c in beats_sent)
    records = [json.loads(line) for line in journal.path.read_text().splitlines()]
    events = [r["event"] for r in records]
    assert events == ["arm", "beat", "stop", "beat", "disarmed"]
    first, answered = (r for r in records if r["event"] == "beat")
    # A line like any beat's: the same fields, the countdown the exchange set.
    assert set(answered) == set(first)
    assert answered["outcome"] == "ok" and answered["target"] == str(BTC)
    assert answered["trigger_time_ms"] > first["trigger_time_ms"]
    assert [e.kind for e in rig.events].count(EventKind.BEAT_OK) == 2
    assert rig.engine.status(BTC).beats == 2  # type: ignore[union-attr]
    assert rig.exchange.armed() == set()


def test_a_late_beat_cannot_rearm_a_stopped_target() -> None:
    def behave(target: Any, timeout: int) -> Any:
        if timeout and len(rig.client.sent(BTC)) == 2:
            return ("late", 12.0)  # lands 12 s after sending, long after the client gave up
        return None

    rig = Rig(behave)
    rig.engine.request_timeout = 1.0  # give up on the stuck beat well before the deadline

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).failures > 0)  # type: ignore[union-attr]
        await rig.until(lambda: rig.engine.status(BTC).state is State.ARMED)  # type: ignore[union-attr]
        await rig.engine.disarm()
        assert rig.engine.sweeping == [BTC]
        assert await rig.engine.wait_sweeps(timeout=10)

    rig.play(scenario)
    late = rig.client.sent(BTC, 5)[1]
    assert late.processed is not None  # the late beat did arm the exchange again...
    assert rig.exchange.armed() == set()  # ...and the sweep cleared it before it could fire
    assert rig.exchange.firings == []


@settings(max_examples=15, deadline=None)
@given(stop_after=st.floats(0.0, 6.0), fault=st.sampled_from(["slow", "late", "hang", "503"]),
       fault_at=st.integers(1, 4), length=st.floats(0.5, 9.0))
def test_stop_at_any_moment_leaves_nothing_armed(stop_after: float, fault: str, fault_at: int,
                                                 length: float) -> None:
    def behave(target: Any, timeout: int) -> Any:
        n = len(rig.client.sent(target, 5))
        if timeout and n >= fault_at:
            return ServerError("busy", status=503) if fault == "503" else (fault, length)
        return None

    rig = Rig(behave)
    results: dict[Any, bool] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC, OPT], timeout=5, interval=1.25)
        await rig.run_for(stop_after)
        results.update(await rig.engine.disarm())
        assert await rig.engine.wait_sweeps(timeout=120)
        await rig.run_for(6)  # longer than the timeout: anything still armed would fire

    rig.play(scenario)
    assert set(results) == {BTC, OPT}
    assert rig.exchange.armed() == set()
    # A countdown that ran out before the stop (a long fault) is reported FIRED, never
    # "disarmed"; only one whose deadline fell while the stop was on its way may be FIRED
    # without the exchange having fired (the order of the two cannot be told).
    fired = {f.target for f in rig.exchange.firings}
    for target, ok in results.items():
        state = rig.engine.status(target).state  # type: ignore[union-attr]
        assert ok == (state is State.DISARMED) and (ok or state is State.FIRED)
        assert not (ok and target in fired)
    # A countdown may have run out before the stop (a long fault); never after it.
    stop_sent = min(c.sent for c in rig.client.calls if c.timeout == 0)
    assert all(f.trigger_s - SERVER_OFFSET <= stop_sent for f in rig.exchange.firings)


def test_beats_that_reach_the_exchange_too_late_are_reported_fired_and_cleared() -> None:
    def behave(target: Any, timeout: int) -> Any:
        if timeout and len(rig.client.sent(BTC, 5)) >= 2:
            return ("late", 7.0)  # taken by the exchange only after the 5 s countdown ran out
        return None

    rig = Rig(behave)
    rig.engine.request_timeout = 30.0

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).state is State.FIRED,  # type: ignore[union-attr]
                        seconds=20)
        await rig.engine.wait_sweeps(timeout=30)

    # Each attempt gives up at its bound; the late beats re-arm the scope after it fired,
    # and the sweep clears each of them.
    rig.play(scenario)
    assert rig.engine.status(BTC).state is State.FIRED  # type: ignore[union-attr]
    assert len(rig.exchange.firings) == 1
    assert rig.exchange.armed() == set()


def test_shared_budget_caps_requests_per_window() -> None:
    targets = [parse_target(f"spot:C{i}_USDT") for i in range(30)]

    async def scenario(rig: Rig) -> None:
        rig.engine.arm(targets, timeout=60, interval=5)
        # Armed within Gate's budget, then squeezed: another app on the same account
        # uses the rest, and the engine must still keep to what is left.
        rig.engine.budget = RateBudget(limit=20, window=10.0, clock=rig.clock)
        await rig.run_for(25)

    rig = Rig()
    rig.play(scenario)
    _assert_at_most_per_window([c.sent for c in rig.client.calls], 20, 10.0)


def _assert_at_most_per_window(sent: list[float], limit: int, window: float) -> None:
    sends = sorted(sent)
    assert len(sends) >= 2 * limit
    for i, t in enumerate(sends):
        in_window = [s for s in sends[i:] if s < t + window]
        assert len(in_window) <= limit, (t, in_window)


class _SlowToStartPool(concurrent.futures.ThreadPoolExecutor):
    """A busy machine: the first ``late`` requests wait ``seconds`` (real) for a thread."""

    def __init__(self, late: int, seconds: float) -> None:
        super().__init__(max_workers=64)
        self._late = late
        self._seconds = seconds

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
               ) -> concurrent.futures.Future[Any]:
        self._late -= 1
        if self._late >= 0:
            def late(*a: Any, **kw: Any) -> Any:
                time.sleep(self._seconds)
                return fn(*a, **kw)
            return super().submit(late, *args, **kwargs)
        return super().submit(fn, *args, **kwargs)


def test_budget_counts_a_request_from_when_it_leaves_not_when_it_was_queued() -> None:
    # The first 20 beats wait 2 s (engine time) for a thread; counted from when they were
    # queued, the next 20 would go 2 s early and 40 would reach the exchange in 10 s.
    targets = [parse_target(f"spot:C{i}_USDT") for i in range(30)]
    pool = _SlowToStartPool(late=20, seconds=2.0 / SPEED)

    async def scenario(rig: Rig) -> None:
        rig.engine.arm(targets, timeout=60, interval=5)
        # Squeezed after arming, as above.
        rig.engine.budget = RateBudget(limit=20, window=10.0, clock=rig.clock)
        await rig.run_for(25)

    rig = Rig()
    rig.engine = Engine(rig.client, clock=rig.clock, rng=random.Random(7), late_window=12.0,
                        executor=pool)
    try:
        rig.play(scenario)
    finally:
        pool.shutdown(wait=True)
    _assert_at_most_per_window([c.sent for c in rig.client.calls], 20, 10.0)


def test_a_wall_clock_jump_triggers_a_clock_measurement() -> None:
    rig = Rig()

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=60, interval=15)
        await rig.run_for(1)
        before = rig.client.clock_syncs
        rig.clock.wall_jump = 3600.0  # the machine slept an hour, or the clock was set
        await rig.until(lambda: rig.client.clock_syncs > before, seconds=5)

    rig.play(scenario)
    assert EventKind.CLOCK in rig.kinds()


def test_check_clock_runs_the_clock_watch_now_and_once() -> None:
    """On waking from sleep the app asks for the check at once, not at the watch's next tick;
    the watch then does not report the same jump again."""
    rig = Rig()
    out: dict[str, Any] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=60, interval=15)
        await rig.until(lambda: BTC in rig.exchange.timers)
        before = rig.client.clock_syncs
        assert await rig.engine.check_clock() == 0.0  # nothing moved: nothing said
        assert EventKind.CLOCK not in rig.kinds()
        rig.clock.wall_jump = 3600.0  # the machine slept an hour
        out["jump"] = await rig.engine.check_clock()
        out["syncs"] = rig.client.clock_syncs - before
        await rig.run_for(3)  # three ticks of the watch

    rig.play(scenario)
    assert out["jump"] == pytest.approx(3600.0, abs=0.5)
    assert out["syncs"] >= 1
    assert rig.kinds().count(EventKind.CLOCK) == 1


def test_cancel_now_does_not_disarm() -> None:
    rig = Rig()
    out: dict[Any, Any] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).state is State.ARMED)  # type: ignore[union-attr]
        out.update(await rig.engine.cancel_now([BTC]))
        await rig.run_for(2)

    rig.play(scenario)
    assert [r.succeeded for r in out[BTC]] == [True]
    assert rig.engine.status(BTC).state is State.ARMED  # type: ignore[union-attr]
    assert EventKind.CANCEL_NOW in rig.kinds()


def test_a_stop_the_exchange_never_confirms_is_reported_not_confirmed() -> None:
    def behave(target: Any, timeout: int) -> Any:
        return NetworkError("unreachable") if timeout == 0 else None

    rig = Rig(behave)
    results: dict[Any, bool] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).state is State.ARMED)  # type: ignore[union-attr]
        results.update(await rig.engine.disarm(give_up_after=10))

    rig.play(scenario)
    assert results == {BTC: False}
    # It kept trying until the countdown had run out: the exchange fired, and says so.
    status = rig.engine.status(BTC)
    assert status is not None and status.state is State.FIRED
    assert "not confirmed" in status.reason
    assert EventKind.FIRED in rig.kinds(BTC)
    assert len(rig.client.sent(BTC, 0)) > 3
    rig.exchange.settle()
    assert [f.target for f in rig.exchange.firings] == [BTC]
