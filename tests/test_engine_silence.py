"""Silence made visible: overdue beats, attempts sized to the time left, firing declared at the
deadline whatever is in flight, the budget's capacity, and fired-not-disarmed under 429s.

The rules on the fast clock (tests/fakes.py); the real simulator over HTTP at the end."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from gui.core.client import CountdownAck, GateClient
from gui.core.errors import InvalidInputError, RateLimitedError
from gui.core.heartbeat import Engine, EngineEvent, EventKind, State
from gui.core.targets import Target, parse_target
from gui.core.timing import ATTEMPT_CAP_S, ATTEMPT_FLOOR_S, OVERDUE_FLOOR_S
from gui.simulator import Simulator
from tests.fakes import FakeClient
from tests.simkeys import TEST_KEY, TEST_SECRET
from tests.test_engine_unit import BTC, ETH, Rig, run


def _state(rig: Rig, target: Target) -> State:
    status = rig.engine.status(target)
    assert status is not None
    return status.state


def test_a_silent_beat_turns_overdue_at_its_bound_and_green_again() -> None:
    silent = threading.Event()

    def behave(target: Any, timeout: int) -> Any:
        return ("hang", 1000.0) if target == BTC and timeout and silent.is_set() else None

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC, ETH], timeout=20, interval=5)
        await rig.until(lambda: _state(rig, BTC) is State.ARMED and _state(rig, ETH)
                        is State.ARMED)
        silent.set()
        await rig.until(lambda: _state(rig, BTC) is State.OVERDUE, seconds=10)
        assert _state(rig, ETH) is State.ARMED
        sent = rig.client.sent(BTC, 20)[-1].sent
        event = next(e for e in rig.events if e.kind is EventKind.OVERDUE)
        status = event.status
        assert status is not None and status.deadline_mono is not None
        # Amber at the bound, with most of the countdown left, not at the deadline.
        assert rig.clock.monotonic() - sent < OVERDUE_FLOOR_S + 1.0
        assert status.deadline_mono - rig.clock.monotonic() > 10
        assert "no answer for 2 s" in event.message
        silent.clear()
        await rig.until(lambda: _state(rig, BTC) is State.ARMED, seconds=15)

    rig = run(scenario, behave)
    assert rig.exchange.firings == []
    assert EventKind.FIRED not in rig.kinds()


def test_each_attempt_leaves_room_for_two_more() -> None:
    bounds: list[tuple[float, float | None]] = []

    class Recording(FakeClient):
        def countdown(self, target: Target, timeout: int, *,
                      request_timeout: float | None = None) -> CountdownAck:
            left = None
            if rig.engine.status(target) and (status := rig.engine.status(target)) \
                    and status.deadline_mono is not None:
                left = status.deadline_mono - rig.clock.monotonic()
            if timeout:
                bounds.append((request_timeout or 0.0, left))
            return super().countdown(target, timeout, request_timeout=request_timeout)

    def behave(target: Any, timeout: int) -> Any:
        return ("hang", 1000.0) if timeout and len(bounds) > 1 else None

    rig = Rig(behave)
    rig.client = Recording(rig.exchange, behave)
    rig.engine = Engine(rig.client, clock=rig.clock, late_window=12.0, request_timeout=30.0)
    rig.engine.subscribe(rig.events.append)

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=60, interval=15)
        await rig.until(lambda: _state(rig, BTC) is State.FIRED, seconds=120)

    rig.play(scenario)
    assert bounds[0] == (ATTEMPT_CAP_S, None)  # nothing counting down yet
    for bound, left in bounds[1:]:
        assert left is not None
        assert bound <= max(ATTEMPT_FLOOR_S, left / 4) + 0.05 and bound <= ATTEMPT_CAP_S
    # While it failed, many attempts went out, the later ones ever shorter.
    assert len(bounds) > 8


def test_fired_at_the_deadline_while_a_request_is_stuck_in_its_thread() -> None:
    # A request no timeout reaches (a name lookup the OS will not give up): the engine's own
    # watch says FIRED at the deadline, not whenever the thread returns.
    stuck = threading.Event()
    release = threading.Event()

    class Stuck(FakeClient):
        def countdown(self, target: Target, timeout: int, *,
                      request_timeout: float | None = None) -> CountdownAck:
            if timeout and stuck.is_set():
                release.wait(30)
            return super().countdown(target, timeout, request_timeout=request_timeout)

    rig = Rig()
    rig.client = Stuck(rig.exchange)
    rig.engine = Engine(rig.client, clock=rig.clock, late_window=12.0)
    rig.engine.subscribe(rig.events.append)

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: _state(rig, BTC) is State.ARMED)
        stuck.set()
        await rig.until(lambda: _state(rig, BTC) is State.FIRED, seconds=20)
        assert not release.is_set()  # still stuck: the watch did not wait for it
        release.set()
        await rig.engine.wait_sweeps(timeout=30)

    try:
        rig.play(scenario)
    finally:
        release.set()
    assert len(rig.exchange.firings) == 1


def test_a_countdown_that_ran_out_under_429_pressure_is_reported_fired_not_disarmed() -> None:
    pressure = threading.Event()

    def behave(target: Any, timeout: int) -> Any:
        if pressure.is_set():
            return RateLimitedError("Too many requests.", label="TOO_MANY_REQUESTS", status=429)
        return None

    result: dict[Target, bool] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: _state(rig, BTC) is State.ARMED)
        pressure.set()
        stop = asyncio.ensure_future(rig.engine.disarm())
        await rig.until(lambda: not rig.exchange.armed(), seconds=20)  # it fired
        await rig.run_for(1.0)
        pressure.clear()
        result.update(await stop)

    rig = run(scenario, behave)
    assert _state(rig, BTC) is State.FIRED
    assert EventKind.FIRED in rig.kinds() and EventKind.DISARMED not in rig.kinds()
    assert result == {BTC: True}


def test_arming_beyond_the_budget_is_refused_with_an_interval_that_fits() -> None:
    pairs = [parse_target(f"spot:P{i}_USDT") for i in range(300)]

    async def scenario(rig: Rig) -> None:
        with pytest.raises(InvalidInputError) as caught:
            rig.engine.arm(pairs, timeout=15, interval=3.75)
        assert "nothing was armed" in str(caught.value) and "spot:all" in str(caught.value)
        assert rig.engine.statuses() == []
        with pytest.raises(InvalidInputError) as caught:
            rig.engine.arm(pairs[:40], timeout=60, interval=1.0)
        assert "A beat every" in str(caught.value)
        # What it offers fits.
        offered = float(str(caught.value).split("A beat every ")[1].split(" s")[0])
        rig.engine.arm(pairs[:40], timeout=60, interval=offered)
        # The budget is shared: a second batch counts what already beats.
        with pytest.raises(InvalidInputError) as caught:
            rig.engine.arm(pairs[40:80], timeout=60, interval=offered)
        assert "already used" in str(caught.value)

    run(scenario)


# -- the real simulator ----------------------------------------------------------------------


@pytest.mark.slow
def test_hanging_requests_warn_with_more_than_half_the_timeout_left(sim: Simulator) -> None:
    events: list[EngineEvent] = []

    async def scenario() -> None:
        client = GateClient(sim.base_url, TEST_KEY, TEST_SECRET)
        engine = Engine(client, late_window=2.0)
        engine.subscribe(events.append)
        try:
            engine.arm([BTC], timeout=30, interval=7.5)
            while not any(e.kind is EventKind.BEAT_OK for e in events):
                await asyncio.sleep(0.01)
            fault = sim.add_fault("hang", scope=str(BTC))
            end = time.monotonic() + 15
            while not any(e.kind in (EventKind.OVERDUE, EventKind.BEAT_FAILED) for e in events):
                assert time.monotonic() < end, "no warning"
                await asyncio.sleep(0.01)
            sim.clear_faults(fault)
            await engine.disarm()
        finally:
            await engine.shutdown(disarm=False)
            client.close()

    asyncio.run(scenario())
    warning = next(e for e in events if e.kind in (EventKind.OVERDUE, EventKind.BEAT_FAILED))
    assert warning.kind is EventKind.OVERDUE
    status = warning.status
    assert status is not None and status.deadline_mono is not None
    assert warning.fields["waited_s"] < 3.0
    assert sim.firings() == []


@pytest.mark.slow
def test_a_dripping_answer_is_retried_and_fired_is_reported_at_the_deadline(
        sim: Simulator) -> None:
    events: list[tuple[float, EngineEvent]] = []

    async def scenario() -> None:
        client = GateClient(sim.base_url, TEST_KEY, TEST_SECRET)
        engine = Engine(client, late_window=2.0)
        engine.subscribe(lambda e: events.append((time.monotonic(), e)))
        try:
            engine.arm([BTC], timeout=5, interval=1.25)
            while not any(e.kind is EventKind.BEAT_OK for _, e in events):
                await asyncio.sleep(0.01)
            sim.add_fault("drip", scope=str(BTC), rate_bps=8.0)
            while not any(e.kind is EventKind.FIRED for _, e in events):
                await asyncio.sleep(0.01)
            sim.clear_faults()
            await engine.wait_sweeps(timeout=10)
        finally:
            await engine.shutdown(disarm=False)
            client.close()

    asyncio.run(scenario())
    fired_at, fired = next((t, e) for t, e in events if e.kind is EventKind.FIRED)
    assert fired.status is not None and fired.status.deadline_mono is not None
    assert fired_at - fired.status.deadline_mono < 1.0
    cut = [e for _, e in events if e.kind is EventKind.BEAT_FAILED]
    assert len(cut) >= 2 and all("cut off" in e.message for e in cut)
    assert len(sim.firings()) == 1


@pytest.mark.slow
def test_implausible_trigger_times_are_retried_and_never_fired(sim: Simulator) -> None:
    events: list[EngineEvent] = []

    async def scenario() -> None:
        client = GateClient(sim.base_url, TEST_KEY, TEST_SECRET)
        engine = Engine(client, late_window=2.0)
        engine.subscribe(events.append)
        try:
            engine.arm([BTC], timeout=5, interval=1.25)
            while sum(e.kind is EventKind.BEAT_OK for e in events) < 2:
                await asyncio.sleep(0.01)
            far_future = int((client.server_now() + 1e11) * 1000)
            sim.add_fault("answer", scope=str(BTC), body='{"triggerTime":"1"}', count=2)
            sim.add_fault("answer", scope=str(BTC), body=f'{{"triggerTime":"{far_future}"}}',
                          count=2)
            while sum(e.kind is EventKind.BEAT_FAILED for e in events) < 4 or \
                    events[-1].kind is not EventKind.BEAT_OK:
                await asyncio.sleep(0.01)
            status = engine.status(BTC)
            assert status is not None and status.state is State.ARMED
            await engine.disarm()
        finally:
            await engine.shutdown(disarm=False)
            client.close()

    asyncio.run(scenario())
    assert EventKind.FIRED not in [e.kind for e in events]
    failed = [e for e in events if e.kind is EventKind.BEAT_FAILED]
    assert all(e.fields["error"] == "BadResponseError" for e in failed)
    assert any("triggerTime 1 " in e.message for e in failed)
    assert sim.firings() == []
