"""The controller between the engine and the window: bursts of engine events, and quitting."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import qasync
from PySide6.QtWidgets import QApplication

from gui.adapter import PreciseClock
from gui.core.heartbeat import EngineEvent, EventKind, State, TargetStatus
from gui.core.targets import parse_target
from gui.simulator import Simulator
from tests.gui.conftest import AppFactory, card_states

BTC = parse_target("spot:BTC_USDT")


def test_a_burst_of_engine_events_refreshes_the_mode_once(make_app: AppFactory, qtbot: Any,
                                                          monkeypatch: Any) -> None:
    app = make_app()
    refreshes: list[str] = []
    refresh = app._refresh_mode

    def counted() -> None:
        refresh()
        refreshes.append(app.window.mode)

    monkeypatch.setattr(app, "_refresh_mode", counted)
    # 200 targets arming at once, as the engine reports them through the adapter.
    for i in range(200):
        target = parse_target(f"spot:C{i}_USDT")
        status = TargetStatus(target=target, state=State.ARMING, timeout=60, interval=15.0)
        app.adapter.eventReceived.emit(EngineEvent(EventKind.ARMING, target, status, "arming"))
    assert refreshes == []  # not one pass over every target per event...
    qtbot.waitUntil(lambda: bool(refreshes), timeout=2_000)
    for _ in range(3):
        QApplication.processEvents()
    assert len(refreshes) == 1  # ...but one, once the loop turns


def test_the_mode_follows_engine_events_and_a_click_at_once(make_app: AppFactory,
                                                            qtbot: Any) -> None:
    app = make_app()
    assert app.engine is not None
    app.engine.arm([BTC], 5, 1.25)  # not through the window: only the engine's events say it
    assert app.window.mode == "arm"
    qtbot.waitUntil(lambda: app.window.mode == "stop", timeout=2_000)
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.ARMED}, timeout=5_000)
    app.stop()  # what the STOP button does: said at once, before any answer
    assert app.window.mode == "stopping"
    qtbot.waitUntil(lambda: app.window.mode == "arm", timeout=10_000)


def test_quitting_ends_every_background_job_before_the_loop_closes(
        make_app: AppFactory, qtbot: Any, demo_sim: Simulator,
        qloop: qasync.QEventLoop) -> None:
    app = make_app(arm=[BTC])
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.ARMED}, timeout=5_000)
    # The market lists and the open orders are being fetched, and the exchange never answers.
    for path in ("/spot/currency_pairs", "/options/underlyings", "/spot/open_orders"):
        demo_sim.add_fault("hang", path=f"/api/v4{path}")
    seen = len(demo_sim.requests())
    app.window.picker.set_client(app.client, "another-cache")
    app.refresh_orders()

    def hanging() -> set[str]:
        return {r.path for r in demo_sim.requests()[seen:]}

    qtbot.waitUntil(lambda: {"/spot/currency_pairs", "/spot/open_orders"} <= hanging(),
                    timeout=5_000)
    quitting = asyncio.ensure_future(app.quit_now())
    qtbot.waitUntil(quitting.done, timeout=10_000)
    assert quitting.exception() is None
    left = [t for t in asyncio.all_tasks(qloop) if not t.done()]
    assert left == []


def test_the_engines_sleeps_never_end_early_and_can_be_cancelled(
        qtbot: Any, qloop: qasync.QEventLoop) -> None:
    # Under qasync a plain asyncio.sleep is a coarse Qt timer, which may end up to 5 % early
    # (so a worker slept again) or late (a beat late): the app's engine sleeps on precise ones.
    clock = PreciseClock()
    # Coarse timers round the moment they fire either way: ten of them all late is unlikely.
    asked = (0.0, 0.013, *[0.2] * 10)
    slept: list[float] = []

    async def sleeps() -> None:
        for seconds in asked:
            start = time.monotonic()
            await clock.sleep(seconds)
            slept.append(time.monotonic() - start)

    done = asyncio.ensure_future(sleeps())
    qtbot.waitUntil(done.done, timeout=5_000)
    assert done.exception() is None
    assert all(took >= seconds for took, seconds in zip(slept, asked, strict=True)), slept

    cancelled = asyncio.ensure_future(clock.sleep(0.05))
    qtbot.waitUntil(lambda: asyncio.all_tasks(qloop) == {cancelled}, timeout=1_000)
    cancelled.cancel()
    qtbot.wait(150)  # past the timer's time: it was stopped, nothing is set on the future
    assert cancelled.cancelled()


def test_sleeps_that_end_together_wake_the_app_once(qtbot: Any,
                                                     qloop: qasync.QEventLoop) -> None:
    # Beats and the clock watch sleep until whole seconds of the monotonic clock (see
    # Engine._beat_time): one timer serves every sleep, so the app wakes once for all of them.
    clock = PreciseClock()
    wakes: list[float] = []
    wake = clock._wake

    def counted() -> None:
        wakes.append(time.monotonic())
        wake()

    clock._wake = counted  # type: ignore[method-assign]  # before the timer connects to it
    moment = math.floor(time.monotonic()) + 1.0
    if moment - time.monotonic() < 0.2:
        moment += 1.0
    ended: list[float] = []

    async def until(when: float) -> None:
        await clock.sleep_until(when)
        ended.append(time.monotonic())

    together = [asyncio.ensure_future(until(moment)) for _ in range(5)]
    later = asyncio.ensure_future(until(moment + 0.05))
    cancelled = asyncio.ensure_future(until(moment + 0.1))
    qtbot.waitUntil(lambda: all(t.done() for t in together), timeout=3_000)
    cancelled.cancel()
    qtbot.waitUntil(later.done, timeout=1_000)
    qtbot.wait(150)  # past the cancelled sleep's time: it no longer keeps the timer
    assert len(ended) == 6 and min(ended) >= moment
    assert len(wakes) == 2, wakes  # the five together, then the one 50 ms after
    assert cancelled.cancelled()
