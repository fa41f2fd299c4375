"""Preferences (header button, tray menu): sound, theme, start at login; and --autostart."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gui.__main__ import build_parser
from gui.core import autostart
from gui.core.settings import SettingsStore
from gui.core.targets import parse_target
from gui.theme import Theme

BTC = parse_target("spot:BTC_USDT")


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


@pytest.fixture
def theme(qapp: QApplication):
    theme = Theme(qapp, "light")
    yield theme
    theme.close()
    qapp.setStyleSheet("")
    qapp.setPalette(QApplication.style().standardPalette())


def _open(qtbot, app):
    app.window.menu_actions["preferences"].trigger()  # the menu's Preferences…
    dialog = app.preferences.dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def test_sound_and_theme_apply_at_once_and_are_remembered(make_app, qtbot, theme, tmp_path,
                                                          config_home):
    app = make_app(theme=theme)
    dialog = _open(qtbot, app)
    assert dialog.sound_box.isChecked() and dialog.theme_combo.currentData() == "light"
    qtbot.mouseClick(dialog.sound_box, Qt.MouseButton.LeftButton)
    assert app.notifier.sound is False
    dialog.theme_combo.setFocus()
    qtbot.keyClick(dialog.theme_combo, Qt.Key.Key_Down)  # Light -> Dark
    assert dialog.theme_combo.currentData() == "dark"
    assert theme.scheme == "dark" and "#15191f" in QApplication.instance().styleSheet()
    saved = SettingsStore(tmp_path / "config").load()
    assert saved.alert_sound is False and saved.theme == "dark"
    # Saving the window's own settings later keeps them.
    app.save_settings()
    saved = SettingsStore(tmp_path / "config").load()
    assert saved.alert_sound is False and saved.theme == "dark"


def test_start_at_login_writes_and_removes_the_autostart_entry(make_app, qtbot, tmp_path,
                                                               config_home):
    app = make_app()
    dialog = _open(qtbot, app)
    assert not dialog.login_box.isChecked()  # off by default
    qtbot.mouseClick(dialog.login_box, Qt.MouseButton.LeftButton)
    entry = config_home / "autostart" / autostart.ENTRY_NAME
    assert entry.is_file() and "--autostart" in entry.read_text()
    assert "starts at login" in dialog.message.text()
    assert SettingsStore(tmp_path / "config").load().start_at_login is True
    qtbot.mouseClick(dialog.login_box, Qt.MouseButton.LeftButton)
    assert not entry.exists()
    assert SettingsStore(tmp_path / "config").load().start_at_login is False


def test_an_entry_that_cannot_be_written_is_said_and_the_box_tells_the_truth(
        make_app, qtbot, tmp_path, config_home):
    config_home.mkdir()
    (config_home / "autostart").write_text("a file where the folder should be")
    app = make_app()
    dialog = _open(qtbot, app)
    qtbot.mouseClick(dialog.login_box, Qt.MouseButton.LeftButton)
    assert not dialog.login_box.isChecked()
    assert dialog.message.text().startswith("Start at login could not be changed: could not "
                                            "write")
    assert SettingsStore(tmp_path / "config").load().start_at_login is False


def test_the_tray_menu_opens_the_same_preferences(make_app, qtbot):
    app = make_app(use_tray=True)
    app.tray.menu.aboutToShow.emit()
    (entry,) = [a for a in app.tray.menu.actions() if a.text() == "Preferences…"]
    entry.trigger()
    first = app.preferences.dialog
    assert first is not None and first.isVisible()
    entry.trigger()
    assert app.preferences.dialog is first  # one dialog, brought forward


def test_started_at_login_it_waits_disarmed_in_the_tray(make_app, qtbot, demo_sim, tmp_path):
    store = SettingsStore(tmp_path / "config")
    settings = store.load()
    settings.targets = ["spot:BTC_USDT"]  # armed when it last quit: not armed again by itself
    store.save(settings)
    assert build_parser().parse_args(["--autostart"]).autostart is True
    app = make_app(use_tray=True, start_hidden=True)
    assert not app.window.isVisible()
    assert app.tray.state == "idle"
    assert app.window.picker.selected_targets() == [BTC]
    assert app.engine is not None and app.engine.armed_targets == []
    assert demo_sim.countdowns() == {}
    app.tray._activated(app.tray.icon.ActivationReason.Trigger)
    assert app.window.isVisible()
