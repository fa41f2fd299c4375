"""The tray (built by hand: offscreen has no system tray) and the notifications."""

from __future__ import annotations

import time

import pytest

from gui.core.client import GateClient
from gui.core.heartbeat import State, TargetStatus
from gui.core.targets import parse_target
from gui.tray import Tray
from gui.words import overall_state
from tests.simkeys import TEST_KEY

BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")


def _status(target, state, left=None, now=None):
    now = time.monotonic() if now is None else now
    return TargetStatus(target=target, state=state, timeout=60, interval=15.0,
                        trigger_time_ms=int((time.time() + (left or 0)) * 1000) if left else None,
                        deadline_mono=now + left if left is not None else None)


def test_overall_state_is_the_loudest_and_says_the_shortest_time():
    now = time.monotonic()
    assert overall_state([], now) == ("idle", "Not armed")
    armed = [_status(BTC, State.ARMED, 42, now), _status(ETH, State.ARMED, 17.2, now)]
    assert overall_state(armed, now) == ("armed", "Armed: 2 targets, 18 s left")
    degraded = [_status(BTC, State.DEGRADED, 9, now), _status(ETH, State.ARMED, 30, now)]
    state, line = overall_state(degraded, now)
    assert state == "degraded" and line.startswith("Beats failing: spot:BTC_USDT")
    # Silence is said as loudly as a failure: amber, with its own words.
    silent = [_status(BTC, State.OVERDUE, 25, now), _status(ETH, State.ARMED, 30, now)]
    assert overall_state(silent, now) == ("degraded",
                                          "No answer: spot:BTC_USDT · 2 targets armed, 25 s left")
    fired = [_status(BTC, State.FIRED), _status(ETH, State.ARMED, 30, now)]
    state, line = overall_state(fired, now)
    assert state == "fired" and "FIRED: spot:BTC_USDT" in line and "1 target armed" in line
    assert overall_state([_status(BTC, State.STOPPING, 5, now)], now)[0] == "stopping"


def test_the_tray_menu_is_rebuilt_with_a_status_line_and_the_actions(qapp):
    now = 1000.0
    tray = Tray(clock=lambda: now)
    try:
        tray.set_can_arm(True)
        tray.menu.aboutToShow.emit()
        assert tray.actions() == ["Not armed", "ARM the selected markets", "Show window",
                                  "Cancel orders now…", "Compact strip on top", "Preferences…",
                                  "Quit"]
        tray.update_status(_status(BTC, State.ARMED, 40, now))
        tray.set_mode("stop")
        tray.menu.aboutToShow.emit()
        assert tray.actions()[:2] == ["Armed: 1 target, 40 s left", "STOP: disarm everything"]
        fired = []
        tray.stopRequested.connect(lambda: fired.append("stop"))
        tray.menu.actions()[2].trigger()
        assert fired == ["stop"]
        tray.update_status(_status(BTC, State.DEGRADED, 30, now))
        assert tray.state == "degraded"
        assert tray.icon.toolTip() == ("gate-killswitch — Beats failing: spot:BTC_USDT · "
                                       "1 target armed, 30 s left")
        tray.forget(BTC)
        tray.set_mode("arm")
        assert tray.state == "idle" and tray.icon.toolTip() == "gate-killswitch — Not armed"
    finally:
        tray.close()


def test_the_open_menus_status_line_ticks_and_no_timer_runs_when_nothing_counts(qapp, qtbot):
    now = [1000.0]
    tray = Tray(clock=lambda: now[0])
    try:
        assert not tray.ticking  # nothing counts down: no timer at all
        tray.update_status(_status(BTC, State.ARMED, 16.01, now[0]))
        tray.update_status(_status(ETH, State.ARMED, 30, now[0]))
        tray.set_mode("stop")
        tray.menu.aboutToShow.emit()
        assert tray.menu_open
        status = tray.menu.actions()[0]
        assert status.text() == "Armed: 2 targets, 17 s left"
        # The menu stays open while the countdown runs: its line follows, as the tooltip does.
        now[0] += 5
        qtbot.waitUntil(lambda: status.text() == "Armed: 2 targets, 12 s left", timeout=2_000)
        # Disarmed while it is open: the entry says what a click on it would do now.
        tray.forget(BTC)
        tray.forget(ETH)
        tray.set_mode("arm")
        assert status.text() == "Not armed" and not tray.ticking
        assert tray.actions()[1] == "ARM the selected markets"
        assert not tray.menu.actions()[2].isEnabled()  # nothing selected in the window
        tray.set_can_arm(True)
        assert tray.menu.actions()[2].isEnabled()
        # Closed: the menu is left alone (it is brought up to date as it opens again).
        tray.update_status(_status(BTC, State.ARMED, 9.01, now[0]))
        tray.menu.aboutToHide.emit()
        assert not tray.menu_open
        shown = status.text()
        now[0] += 3
        qtbot.waitUntil(lambda: tray.icon.toolTip() == "gate-killswitch — Armed: 1 target, "
                                                       "7 s left", timeout=2_000)
        assert status.text() == shown
        tray.menu.aboutToShow.emit()
        assert status.text() == "Armed: 1 target, 7 s left"
        tray.menu.aboutToHide.emit()
        tray.forget(BTC)
        assert not tray.ticking
    finally:
        tray.close()


def test_the_app_keeps_the_tray_in_step(make_app, qtbot, demo_sim):
    app = make_app(use_tray=True, arm=[BTC])
    qtbot.waitUntil(lambda: app.tray.state == "armed", timeout=5_000)
    assert app.tray.icon.toolTip().startswith("gate-killswitch — Armed: 1 target")
    # Its tooltip counts the seconds down with the window's summary line. The two work it
    # out each for itself from the same statuses, so one may be drawn a few ms before the
    # other: they agree within the window's drawing allowance (COUNTDOWN_LATE_S).
    first = app.tray.icon.toolTip()
    qtbot.waitUntil(lambda: app.tray.icon.toolTip() != first, timeout=3_000)
    qtbot.waitUntil(lambda: app.tray.icon.toolTip()
                    == f"gate-killswitch — {app.window.summary.text()}", timeout=500)
    app.tray.menu.aboutToShow.emit()
    assert "STOP: disarm everything" in app.tray.actions()
    # A click on the icon toggles the window.
    app.tray._activated(app.tray.icon.ActivationReason.Trigger)
    assert not app.window.isVisible()
    app.tray._activated(app.tray.icon.ActivationReason.Trigger)
    assert app.window.isVisible()


def test_a_rejected_key_is_said_plainly(make_app, qtbot, demo_sim):
    wrong = GateClient(demo_sim.base_url, TEST_KEY, "not-the-right-secret-123")
    app = make_app(client=wrong, arm=[BTC])
    qtbot.waitUntil(lambda: any(t.startswith("API key rejected")
                                for t in app.window.banner.texts()), timeout=5_000)
    card = app.window.cards[BTC]
    assert card.state is State.ERROR
    assert card.pill.text() == "STOPPED"
    assert "refused" in card.reason.text()
    assert app.window.mode == "arm"


def test_fired_and_time_short_sound_and_flash_the_taskbar(make_app, qtbot, demo_sim,
                                                          monkeypatch):
    from PySide6.QtWidgets import QApplication
    alerts, beeps = [], []
    monkeypatch.setattr(QApplication, "alert", lambda widget, ms=0: alerts.append(widget))
    monkeypatch.setattr(QApplication, "beep", lambda: beeps.append(1))
    app = make_app(arm=[BTC])
    sounds = []
    app.notifier.soundPlayed.connect(sounds.append)
    qtbot.waitUntil(lambda: BTC in app.window.cards
                    and app.window.cards[BTC].state is State.ARMED, timeout=5_000)
    assert sounds == [] and alerts == []
    demo_sim.add_fault("status", status=503, path="/spot/countdown_cancel_all")
    qtbot.waitUntil(lambda: app.window.cards[BTC].state is State.FIRED, timeout=10_000)
    # Without a notification server that plays sounds, the system's alert sound: once for
    # "time short", once for FIRED; and the window asks the taskbar for attention each time.
    assert sounds == ["beep", "beep"] and len(beeps) == 2
    assert alerts == [app.window, app.window]


def test_sound_can_be_turned_off_and_recovery_replaces_beats_failing(make_app, qtbot,
                                                                     demo_sim, monkeypatch):
    from PySide6.QtWidgets import QApplication
    beeps = []
    monkeypatch.setattr(QApplication, "beep", lambda: beeps.append(1))
    app = make_app(arm=[BTC])
    app.notifier.set_sound(False)
    qtbot.waitUntil(lambda: BTC in app.window.cards
                    and app.window.cards[BTC].state is State.ARMED, timeout=5_000)
    fault = demo_sim.add_fault("status", status=503, path="/spot/countdown_cancel_all")
    qtbot.waitUntil(lambda: any(t.startswith("Time is short") for t in app.window.banner.texts()),
                    timeout=5_000)
    demo_sim.clear_faults(fault)
    qtbot.waitUntil(lambda: app.window.cards[BTC].state is State.ARMED, timeout=5_000)
    texts = app.window.banner.texts()
    # "Beats failing" was replaced in place by its recovery; "time short" no longer holds.
    about_btc = [t for t in texts if "spot:BTC_USDT" in t]
    assert len(about_btc) == 1
    assert about_btc[0].startswith("Beats getting through again: spot:BTC_USDT")
    assert beeps == []


def test_a_late_answer_that_shows_it_never_fired_replaces_the_fired_notice(qapp):
    from gui.core.heartbeat import EngineEvent, EventKind
    from gui.notifications import NoticeBanner, Notifier

    banner = NoticeBanner()
    notifier = Notifier(banner, None)
    now = time.monotonic()
    fired = _status(BTC, State.FIRED)
    notifier.on_event(EngineEvent(EventKind.FIRED, BTC, fired, "spot:BTC_USDT: FIRED at 12:00:00"))
    assert [t for t in banner.texts() if t.startswith("FIRED: spot:BTC_USDT")]
    armed = _status(BTC, State.ARMED, 20, now)
    notifier.on_event(EngineEvent(EventKind.BEAT_OK, BTC, armed, "beat ok"))
    notifier.on_event(EngineEvent(
        EventKind.WARNING, BTC, armed, "spot:BTC_USDT: not fired after all: the exchange took "
        "the beat in time", {"unfired": True}))
    about_btc = [t for t in banner.texts() if "spot:BTC_USDT" in t]
    # The false "cancelled" notice is gone: one notice, saying what is true now.
    assert len(about_btc) == 1 and about_btc[0].startswith("Not fired after all: spot:BTC_USDT")
    banner.deleteLater()


def test_an_overview_keeps_what_it_is_shown_and_says_when_its_line_changes():
    from gui.words import Overview

    now = 1000.0
    overview = Overview()
    assert not overview.update(_status(BTC, State.IDLE))  # never shown: not kept
    assert overview.state(now) == ("idle", "Not armed", None)
    assert overview.update(_status(BTC, State.ARMED, 17.25, now))
    state, line, changes_in = overview.state(now)
    assert (state, line) == ("armed", "Armed: 1 target, 18 s left")
    assert changes_in == pytest.approx(0.25)  # 17.25 s left reads "18 s" until 17.0
    assert overview.set_mode("stopping") and not overview.set_mode("stopping")
    assert overview.state(now)[0] == "stopping"
    assert overview.forget(BTC) and not overview.forget(BTC)
    with pytest.raises(ValueError):
        overview.set_mode("armed")
