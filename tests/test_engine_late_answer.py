"""A beat the exchange took in time, whose answer comes only after the engine said FIRED.

The engine says FIRED at the deadline whatever request is still in flight (the thread may be
stuck in a name lookup no timeout reaches). If that request then turns out to have been taken in
time, the exchange never fired: its countdown was renewed, the orders were never cancelled, and
"FIRED: orders cancelled" would be false. On the fast clock (tests/fakes.py).
"""

from __future__ import annotations

import threading

from gui.core.client import CountdownAck
from gui.core.heartbeat import Engine, EventKind, State
from gui.core.targets import Target
from tests.fakes import FakeClient
from tests.test_engine_unit import BTC, Rig


class TakenThenStuck(FakeClient):
    """While ``stuck`` is set, a beat is taken by the exchange at once, and its answer is held
    until ``release`` is set: a reply lost on its way back, longer than any timeout."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stuck = threading.Event()
        self.release = threading.Event()

    def countdown(self, target: Target, timeout: int, *,
                  request_timeout: float | None = None) -> CountdownAck:
        hold = bool(timeout) and self.stuck.is_set()
        ack = super().countdown(target, timeout, request_timeout=request_timeout)
        if hold:
            self.stuck.clear()  # the next beats travel normally
            self.release.wait(30)
        return ack


def _rig() -> tuple[Rig, TakenThenStuck]:
    rig = Rig()
    client = TakenThenStuck(rig.exchange)
    rig.client = client
    rig.engine = Engine(client, clock=rig.clock, late_window=12.0)
    rig.engine.subscribe(rig.events.append)
    return rig, client


def _state(rig: Rig) -> State:
    status = rig.engine.status(BTC)
    assert status is not None
    return status.state


def test_an_answer_that_proves_the_beat_was_taken_in_time_is_not_left_as_fired() -> None:
    rig, client = _rig()
    results: dict[Target, bool] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=20, interval=5)
        await rig.until(lambda: _state(rig) is State.ARMED)
        client.stuck.set()
        # Said at the deadline of the last answered beat, with the next one still unanswered.
        await rig.until(lambda: _state(rig) is State.FIRED, seconds=30)
        await rig.run_for(1.0)
        client.release.set()  # the answer arrives: that beat renewed the countdown in time
        await rig.until(lambda: _state(rig) is State.ARMED, seconds=10)
        beats = len(rig.client.sent(BTC, 20))
        await rig.until(lambda: len(rig.client.sent(BTC, 20)) > beats + 1, seconds=15)
        assert BTC in rig.exchange.armed()  # not swept away: it is kept alive again
        results.update(await rig.engine.disarm())

    try:
        rig.play(scenario)
    finally:
        client.release.set()
    assert rig.exchange.firings == []  # the exchange never fired
    assert results == {BTC: True}
    unfired = [e for e in rig.events if e.kind is EventKind.WARNING and e.fields.get("unfired")]
    assert len(unfired) == 1 and "not fired after all" in unfired[0].message
    kinds = rig.kinds(BTC)
    assert kinds.index(EventKind.FIRED) < kinds.index(EventKind.WARNING)


def test_taken_in_time_but_answered_after_its_own_deadline_is_fired_at_that_deadline() -> None:
    rig, client = _rig()
    first_said: list[int] = []

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=20, interval=5)
        await rig.until(lambda: _state(rig) is State.ARMED)
        client.stuck.set()
        await rig.until(lambda: _state(rig) is State.FIRED, seconds=30)
        status = rig.engine.status(BTC)
        assert status is not None and status.fired_at_ms is not None
        first_said.append(status.fired_at_ms)
        # Held past the renewed countdown's end too: the exchange fired then, not earlier.
        await rig.until(lambda: BTC not in rig.exchange.armed(), seconds=15)
        client.release.set()
        await rig.until(lambda: (s := rig.engine.status(BTC)) is not None
                        and s.fired_at_ms != first_said[0], seconds=10)
        await rig.engine.wait_sweeps(timeout=30)

    try:
        rig.play(scenario)
    finally:
        client.release.set()
    status = rig.engine.status(BTC)
    assert status is not None and status.state is State.FIRED
    (firing,) = rig.exchange.firings
    assert status.fired_at_ms is not None and status.fired_at_ms > first_said[0]
    # The time said is the exchange's own trigger time of the renewed countdown.
    assert abs(status.fired_at_ms / 1000 - firing.trigger_s) < 0.01
    corrected = [e for e in rig.events if e.kind is EventKind.FIRED and e.fields.get("corrected")]
    assert len(corrected) == 1
