"""What the engine says after a stop that came too late and after a suspend, on a fast clock."""

from __future__ import annotations

from typing import Any

from gui.core.errors import NetworkError
from gui.core.heartbeat import EventKind, State
from tests.fakes import FastClock
from tests.test_engine_unit import BTC, ETH, OPT, Rig


def test_a_stop_acknowledged_after_the_deadline_is_fired_not_confirmed() -> None:
    # Every request takes longer than the countdown has left: the beats time out, and the
    # stop is answered only after the exchange's countdown ran out.
    slow = {"on": False}

    def behave(target: Any, timeout: int) -> Any:
        return ("slow", 4.5) if slow["on"] else None

    rig = Rig(behave)
    results: dict[Any, bool] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC, ETH, OPT], timeout=5, interval=1.25)
        await rig.until(lambda: all(s.state is State.ARMED for s in rig.engine.statuses()))
        slow["on"] = True
        await rig.run_for(0.5)
        results.update(await rig.engine.disarm())

    rig.play(scenario)
    fired = {f.target for f in rig.exchange.firings}
    assert fired == {BTC, ETH, OPT}  # the exchange did fire on all three
    assert results == {BTC: False, ETH: False, OPT: False}
    for target in (BTC, ETH, OPT):
        status = rig.engine.status(target)
        assert status is not None and status.state is State.FIRED, status
        assert status.fired_at_ms is not None
        assert EventKind.FIRED in rig.kinds(target)
        assert EventKind.DISARMED not in rig.kinds(target)


def test_a_stop_never_confirmed_after_the_deadline_passed_is_fired() -> None:
    down = {"on": False}

    def behave(target: Any, timeout: int) -> Any:
        return NetworkError("unreachable") if down["on"] else None

    rig = Rig(behave)
    results: dict[Any, bool] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).state is State.ARMED)  # type: ignore[union-attr]
        down["on"] = True
        results.update(await rig.engine.disarm(give_up_after=10))

    rig.play(scenario)
    assert results == {BTC: False}
    status = rig.engine.status(BTC)
    assert status is not None and status.state is State.FIRED, status
    rig.exchange.settle()
    assert [f.target for f in rig.exchange.firings] == [BTC]


class SuspendingClock(FastClock):
    """A fast clock that can skip a suspend the way CLOCK_BOOTTIME does: on wake it has moved
    on by the time asleep, while the event loop's timers (on a clock that stops in suspend,
    as asyncio's and Qt's do) still wait out whatever they had left."""

    def __init__(self) -> None:
        super().__init__()
        self.asleep = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self.asleep

    def suspend(self, seconds: float) -> None:
        self.asleep += seconds


def test_a_countdown_that_ran_out_in_a_suspend_is_fired_at_once_with_the_network_down() -> None:
    down = {"on": False}

    def behave(target: Any, timeout: int) -> Any:
        return NetworkError("unreachable") if down["on"] else None

    rig = Rig(behave)
    clock = SuspendingClock()
    rig.clock = clock
    rig.exchange.clock = clock
    rig.engine.clock = clock
    rig.engine.budget._clock = clock
    seen: dict[str, float] = {}

    async def scenario(rig: Rig) -> None:
        # A long interval: the worker sleeps most of it, as a laptop's does when the lid shuts.
        rig.engine.arm([BTC], timeout=120, interval=100)
        await rig.until(lambda: rig.engine.status(BTC).state is State.ARMED)  # type: ignore[union-attr]
        status = rig.engine.status(BTC)
        assert status is not None and status.next_beat_mono is not None
        seen["next_beat"] = status.next_beat_mono
        down["on"] = True
        clock.suspend(300)
        seen["woke"] = clock.monotonic()
        await rig.until(lambda: rig.engine.status(BTC).state is State.FIRED)  # type: ignore[union-attr]
        seen["fired"] = clock.monotonic()

    rig.play(scenario)
    # Told at once on waking, not when the worker's own sleep would have ended (its next beat,
    # which had 300 s of suspend added in front of it) and with no answer from the exchange.
    assert seen["fired"] < seen["next_beat"] + 300
    assert rig.client.sent(BTC, 120) and all(c.outcome == "ok" for c in rig.client.sent(BTC, 120))


def test_resuming_a_countdown_that_ran_out_meanwhile_is_fired_not_armed() -> None:
    rig = Rig()

    async def scenario(rig: Rig) -> None:
        # An earlier run's countdown, already run out by the time it is resumed.
        gone = int((rig.exchange.now() - 2) * 1000)
        rig.engine.arm([BTC], timeout=5, interval=1.25, left={BTC: gone})
        await rig.until(lambda: rig.engine.status(BTC).state is State.FIRED)  # type: ignore[union-attr]

    rig.play(scenario)
    assert rig.client.sent(BTC, 5) == []  # said at once, no beat that would arm it again


def test_disarm_now_of_a_countdown_left_armed_stops_it_on_the_exchange() -> None:
    rig = Rig()
    results: dict[str, bool] = {}

    async def scenario(rig: Rig) -> None:
        left = rig.exchange.apply(BTC, 5)  # an earlier run's beat
        results["ok"] = await rig.engine.disarm_left(BTC, 5, left)

    rig.play(scenario)
    assert results == {"ok": True}
    assert rig.exchange.armed() == set()
    assert rig.engine.status(BTC).state is State.DISARMED  # type: ignore[union-attr]
