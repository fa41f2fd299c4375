"""Silence made visible: overdue beats, attempts sized to the time left, firing declared at the
deadline whatever is in flight, the budget's capacity, and fired-not-disarmed under 429s.

The rules on the fast clock (tests/fakes.py); the real simulator over HTTP at the end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gui.core.client import CountdownAck, GateClient
from gui.core.errors import InvalidInputError, RateLimitedError
from gui.core.heartbeat import Engine, EngineEvent, EventKind, State
from gui.core.journal import Journal
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
    assert result == {BTC: False}  # not a clean stop: it fired first


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
def test_hanging_requests_warn_with_more_than_half_the_timeout_left(
        sim: Simulator, tmp_path: Path) -> None:
    events: list[EngineEvent] = []
    journal = Journal(tmp_path / "journal")

    async def scenario() -> None:
        client = GateClient(sim.base_url, TEST_KEY, TEST_SECRET)
        engine = Engine(client, journal=journal, late_window=2.0)
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
    # The journal has it too, with how long it waited and how much time was left.
    journal.close()
    lines = [json.loads(line) for path in sorted((tmp_path / "journal").iterdir())
             for line in path.read_text().splitlines()]
    overdue = [line for line in lines if line["event"] == "overdue"]
    assert len(overdue) == 1 and overdue[0]["target"] == str(BTC)
    assert overdue[0]["waited_s"] < 3.0 and "s left" in overdue[0]["message"]
    left = float(overdue[0]["message"].split("still runs (")[1].split(" s left")[0])
    assert left > 15  # more than half of the 30 s countdown


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


def test_a_slow_network_gets_attempts_long_enough_for_its_answers() -> None:
    from gui.core.timing import attempt_timeout

    assert attempt_timeout(3.75, 10.0) == pytest.approx(0.9375)
    # Answers take 1.2 s: a quarter of the time left would cut every one of them.
    assert attempt_timeout(3.75, 10.0, p95=1.2) == pytest.approx(1.875)
    assert attempt_timeout(40.0, 10.0, p95=0.05) == 10.0
    assert attempt_timeout(0.5, 10.0) == ATTEMPT_FLOOR_S


class Relay:
    """A loopback TCP relay to the simulator that the test can switch off (every connection
    refused, the open ones cut) and on again: a network that goes away and comes back."""

    def __init__(self, port: int) -> None:
        self.target = port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.on()

    def on(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def off(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # Closing alone leaves it listening while a thread waits in accept().
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.off()
        deadline = time.monotonic() + 5
        while self._open and time.monotonic() < deadline:
            time.sleep(0.01)  # the pumps close their sockets

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # switched off
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        # Each socket is read by one pump: that pump closes it.
        src.close()
        with self._lock:
            self._open.discard(src)


def _play_sim(sim: Simulator, base_url: str, scenario: Any) -> list[tuple[float, EngineEvent]]:
    events: list[tuple[float, EngineEvent]] = []

    async def main() -> None:
        client = GateClient(base_url, TEST_KEY, TEST_SECRET)
        engine = Engine(client, late_window=2.0)
        engine.subscribe(lambda e: events.append((time.monotonic(), e)))
        try:
            await scenario(engine)
        finally:
            await engine.shutdown(disarm=False)
            client.close()

    asyncio.run(main())
    return events


async def _until(cond: Any, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.01)


def _is(engine: Engine, target: Target, *states: State) -> bool:
    status = engine.status(target)
    return status is not None and status.state in states


AMBER = (State.OVERDUE, State.DEGRADED)


@pytest.mark.slow
def test_a_hang_on_one_of_two_targets_turns_it_amber_at_once_and_green_again(
        sim: Simulator) -> None:
    marks: dict[str, float] = {}

    async def scenario(engine: Engine) -> None:
        engine.arm([BTC, ETH], timeout=5, interval=1.25)
        await _until(lambda: _is(engine, BTC, State.ARMED) and _is(engine, ETH, State.ARMED))
        fault = sim.add_fault("hang", scope=str(BTC))
        marks["hang"] = time.monotonic()
        await _until(lambda: _is(engine, BTC, *AMBER))
        marks["amber"] = time.monotonic()
        status = engine.status(BTC)
        assert status is not None and status.deadline_mono is not None
        marks["left"] = status.deadline_mono - marks["amber"]
        assert _is(engine, ETH, State.ARMED)
        sim.clear_faults(fault)
        await _until(lambda: _is(engine, BTC, State.ARMED))
        await engine.disarm()

    events = _play_sim(sim, sim.base_url, scenario)
    # The hang began just after a beat; the next beat is due an interval later, and within
    # the overdue bound of it the card is amber, with time left, not at the deadline.
    assert marks["amber"] - marks["hang"] < 1.25 + OVERDUE_FLOOR_S
    assert marks["left"] > 1.0
    assert EventKind.FIRED not in [e.kind for _, e in events]
    assert sim.firings() == [] and sim.countdowns() == {}


@pytest.mark.slow
def test_fault_windows_shorter_than_the_timeout_never_fire_whatever_their_kind(
        sim: Simulator) -> None:
    relay = Relay(int(sim.base_url.split(":")[2].split("/")[0]))
    base_url = f"http://127.0.0.1:{relay.port}/api/v4"
    pairs = [parse_target(f"spot:{p}") for p in ("BTC_USDT", "ETH_USDT", "SOL_USDT")]
    kinds = [{"kind": "hang"}, {"kind": "drop"}, {"kind": "status", "status": 503}]

    async def scenario(engine: Engine) -> None:
        engine.arm(pairs, timeout=5, interval=1.25)
        await _until(lambda: all(_is(engine, t, State.ARMED) for t in pairs))
        faults = [sim.add_fault(scope=str(t), **kind)  # type: ignore[arg-type]
                  for t, kind in zip(pairs, kinds, strict=True)]
        await _until(lambda: all(_is(engine, t, *AMBER) for t in pairs))
        await asyncio.sleep(1.5)  # the window: shorter than what is left
        for fault in faults:
            sim.clear_faults(fault)
        await _until(lambda: all(_is(engine, t, State.ARMED) for t in pairs))
        # Then the network itself goes away: every connection refused.
        relay.off()
        await _until(lambda: all(_is(engine, t, *AMBER) for t in pairs))
        await asyncio.sleep(1.5)
        relay.on()
        back["on"] = time.monotonic()
        await _until(lambda: all(_is(engine, t, State.ARMED) for t in pairs), seconds=3)
        await engine.disarm()

    back: dict[str, float] = {}
    try:
        events = _play_sim(sim, base_url, scenario)
    finally:
        relay.close()
    # The network came back: the next attempt goes out on a fresh connection, and is answered
    # within its retry delay (at most half a beat interval), not after a dead socket times out.
    first = min(t for t, e in events if e.kind is EventKind.BEAT_OK and t > back["on"])
    assert first - back["on"] < 1.0
    assert EventKind.FIRED not in [e.kind for _, e in events]
    causes = {e.message.split("beat failed: ")[1][:60] for _, e in events
              if e.kind is EventKind.BEAT_FAILED}
    assert any("refused the connection" in c for c in causes), causes
    assert sim.firings() == [] and sim.countdowns() == {}


@pytest.mark.slow
def test_a_stop_held_up_by_429s_past_the_deadline_is_reported_fired(sim: Simulator) -> None:
    async def scenario(engine: Engine) -> None:
        engine.arm([BTC], timeout=5, interval=1.25)
        await _until(lambda: _is(engine, BTC, State.ARMED))
        fault = sim.add_fault("status", status=429, scope=str(BTC))
        stop = asyncio.ensure_future(engine.disarm())
        await _until(lambda: bool(sim.firings()), seconds=10)
        status = engine.status(BTC)
        assert status is not None and status.deadline_mono is not None
        # Past the deadline by more than the clock's uncertainty: no doubt left that it fired.
        sure = status.deadline_mono + status.uncertainty + 0.1
        await _until(lambda: time.monotonic() > sure)
        sim.clear_faults(fault)
        assert (await stop) == {BTC: False}  # not a clean stop: it fired first

    events = _play_sim(sim, sim.base_url, scenario)
    kinds = [e.kind for _, e in events]
    assert EventKind.FIRED in kinds and EventKind.DISARMED not in kinds
    assert [f.scope for f in sim.firings()] == [str(BTC)]
