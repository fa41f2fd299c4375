"""Quitting while armed: disarm and quit, quit and let it fire, or cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt

from gui.core.heartbeat import State
from gui.core.settings import SettingsStore
from gui.core.targets import parse_target
from gui.dialogs.quit_dialog import QuitDialog
from gui.options import Phase

BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")


def _armed_app(make_app, qtbot, demo_sim, **options):
    app = make_app(arm=[BTC, ETH], **options)
    qtbot.waitUntil(lambda: len(demo_sim.countdowns()) == 2 and app.window.mode == "stop",
                    timeout=5_000)
    return app


def _close_window(app, qtbot) -> QuitDialog:
    """Closing the window while armed, without a tray, asks like Quit does."""
    app.window.close()
    dialog = app.window.findChild(QuitDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2_000)
    return dialog


def test_disarm_and_quit_waits_for_the_exchange(make_app, qtbot, demo_sim):
    app = _armed_app(make_app, qtbot, demo_sim)
    dialog = _close_window(app, qtbot)
    assert app.window.isVisible()  # nothing happened yet
    assert "BTC_USDT spot orders" in dialog.body.text()
    assert "ETH_USDT spot orders" in dialog.body.text()
    assert dialog.cancel_button.isDefault()
    with qtbot.waitSignal(app.finished, timeout=15_000) as quitting:
        qtbot.mouseClick(dialog.disarm_button, Qt.MouseButton.LeftButton)
        assert "Stopping" in dialog.progress.text()
    assert quitting.args == [0]
    assert demo_sim.countdowns() == {}
    assert not app.window.isVisible()


def test_quit_and_let_it_fire_leaves_the_countdowns_running(make_app, qtbot, demo_sim):
    app = _armed_app(make_app, qtbot, demo_sim)
    dialog = app.request_quit()
    assert dialog is not None
    with qtbot.waitSignal(app.finished, timeout=10_000):
        qtbot.mouseClick(dialog.fire_button, Qt.MouseButton.LeftButton)
    assert set(demo_sim.countdowns()) == {"spot:BTC_USDT", "spot:ETH_USDT"}
    assert app.engine is not None and all(
        task.done() for task in [w.task for w in app.engine._workers.values()] if task)


def test_cancel_keeps_running_and_beating(make_app, qtbot, demo_sim):
    app = _armed_app(make_app, qtbot, demo_sim)
    dialog = _close_window(app, qtbot)
    beats = app.engine.status(BTC).beats
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2_000)
    assert app.phase is not Phase.FINISHED and app.window.isVisible()
    qtbot.waitUntil(lambda: app.engine.status(BTC).beats > beats, timeout=5_000)
    assert app.window.mode == "stop"
    assert set(demo_sim.countdowns()) == {"spot:BTC_USDT", "spot:ETH_USDT"}


def test_a_stop_that_cannot_be_confirmed_is_named(make_app, qtbot, demo_sim):
    app = _armed_app(make_app, qtbot, demo_sim)
    # The exchange refuses every countdown request for ETH from now on (no retry can help).
    demo_sim.add_fault("status", status=403, label="FORBIDDEN", scope="spot:ETH_USDT")
    dialog = app.request_quit()
    qtbot.mouseClick(dialog.disarm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.disarm_button.isEnabled(), timeout=15_000)
    assert "spot:ETH_USDT" in dialog.progress.text()
    assert "spot:BTC_USDT" not in dialog.progress.text()
    assert app.phase is not Phase.FINISHED
    assert app.engine.status(BTC).state is State.DISARMED
    assert any("Stop NOT confirmed" in t and "spot:ETH_USDT" in t
               for t in app.window.banner.texts())
    with qtbot.waitSignal(app.finished, timeout=10_000):
        qtbot.mouseClick(dialog.fire_button, Qt.MouseButton.LeftButton)


def test_quit_when_not_armed_just_quits(make_app, qtbot, tmp_path):
    app = make_app()
    with qtbot.waitSignal(app.finished, timeout=5_000):
        app.window.close()
    # The window's geometry is remembered, never a key.
    saved = SettingsStore(tmp_path / "config").load()
    assert saved.window_geometry
    assert "sim-test" not in (tmp_path / "config" / "settings.json").read_text()


def test_closing_with_a_tray_keeps_running_and_says_so_once(make_app, qtbot, demo_sim, tmp_path):
    app = _armed_app(make_app, qtbot, demo_sim, use_tray=True)
    assert app.tray is not None
    said = []
    app.tray.notify = lambda title, message, level="info": said.append(title)
    app.window.close()
    assert not app.window.isVisible() and app.phase is not Phase.FINISHED
    assert said == ["Still running in the tray"]
    assert "close-to-tray" in SettingsStore(tmp_path / "config").load().notices_shown
    app.show_window()
    app.window.close()
    assert said == ["Still running in the tray"]  # once only
    assert len(demo_sim.countdowns()) == 2
