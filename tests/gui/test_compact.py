"""Compact mode: the strip on top with the overall state and a hold-to-STOP; it remembers its
place. Toggled from the tray menu and with Ctrl+Shift+M."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from gui.core.heartbeat import State
from gui.core.settings import SettingsStore
from gui.core.targets import parse_target
from gui.window.arm_button import HoldButton

BTC = parse_target("spot:BTC_USDT")


def _compact_entry(app):
    app.tray.menu.aboutToShow.emit()
    (entry,) = [a for a in app.tray.menu.actions() if a.text() == "Compact strip on top"]
    return entry


def test_the_strip_stays_on_top_and_says_what_the_window_says(make_app, qtbot, demo_sim):
    app = make_app(use_tray=True, arm=[BTC])
    qtbot.waitUntil(lambda: BTC in app.window.cards
                    and app.window.cards[BTC].state is State.ARMED, timeout=5_000)
    _compact_entry(app).trigger()
    strip = app.compact.strip
    qtbot.waitUntil(strip.isVisible, timeout=2_000)
    assert strip.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert strip.isWindow() and strip.state == "armed"
    # The same words as the window's header, counting down with it.
    first = strip.line.text()
    assert first.startswith("Armed: 1 target")
    qtbot.waitUntil(lambda: strip.line.text() != first, timeout=3_000)
    qtbot.waitUntil(lambda: strip.line.text() == app.window.summary.text(), timeout=500)
    assert strip.stop_button.isVisible() and strip.stop_button.isEnabled()
    _compact_entry(app).trigger()  # again: it goes
    assert not strip.isVisible()


def test_stop_on_the_strip_must_be_held(make_app, qtbot, demo_sim):
    app = make_app(arm=[BTC])
    qtbot.waitUntil(lambda: app.window.mode == "stop", timeout=5_000)
    qtbot.keyClick(app.window, Qt.Key.Key_M,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    strip = app.compact.strip
    qtbot.waitUntil(strip.isVisible, timeout=2_000)
    button = strip.stop_button
    stops = []
    strip.stopRequested.connect(lambda: stops.append(1))
    # A click, however it lands, does nothing.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert stops == [] and app.window.mode == "stop"
    # Held: it stops everything, as the big button does.
    with qtbot.waitSignal(button.activated, timeout=3_000):
        qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    assert stops == [1]
    qtbot.waitUntil(lambda: app.window.mode == "arm", timeout=10_000)
    assert demo_sim.countdowns() == {}
    qtbot.waitUntil(lambda: not button.isVisible(), timeout=2_000)  # nothing left to stop
    assert isinstance(button, HoldButton)


def test_the_strip_remembers_its_place(make_app, qtbot, tmp_path):
    app = make_app(use_tray=True)
    _compact_entry(app).trigger()
    strip = app.compact.strip
    qtbot.waitUntil(strip.isVisible, timeout=2_000)
    strip.move(QPoint(137, 91))
    qtbot.waitUntil(lambda: strip.pos() == QPoint(137, 91), timeout=2_000)
    strip.close()
    assert SettingsStore(tmp_path / "config").load().compact_geometry
    strip.move(QPoint(0, 0))
    _compact_entry(app).trigger()
    qtbot.waitUntil(strip.isVisible, timeout=2_000)
    assert strip.pos() == QPoint(137, 91)
    # The window's own saving keeps it.
    app.save_settings(geometry=True)
    assert SettingsStore(tmp_path / "config").load().compact_geometry
