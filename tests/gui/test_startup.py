"""Starting: --self-test figures, no display, remembered settings, profiles from the keyring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gui.controller import AppController
from gui.core.heartbeat import State
from gui.core.journal import Journal
from gui.core.keys import KeyStore, ProfileStore
from gui.core.settings import Settings, SettingsStore
from gui.core.targets import parse_target
from gui.options import GuiOptions
from gui.startup import NO_DISPLAY_MESSAGE, display_problem
from tests.gui.conftest import INTERVAL, TIMEOUT
from tests.memkeyring import LockedKeyring, MemoryKeyring, no_backend
from tests.simkeys import TEST_KEY, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update({"GATE_KILLSWITCH_CONFIG_DIR": str(tmp_path / "config"),
                "GATE_KILLSWITCH_DATA_DIR": str(tmp_path / "data"),
                "GATE_KILLSWITCH_CACHE_DIR": str(tmp_path / "cache")}, **extra)
    return env


def test_self_test_prints_one_json_line_and_exits_zero(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gui", "--demo", "--self-test"], cwd=ROOT,
                          env=_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout
    figures = json.loads(lines[0])
    assert 0 < figures["startup_s"] < 30
    assert figures["rss_mb"] > 10
    assert figures["qt"].count(".") == 2
    assert figures["python"].startswith("3.")


def test_no_display_is_a_plain_message_and_exit_code_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gui", "--demo"], cwd=ROOT,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "QT_QPA_PLATFORM=offscreen" in done.stderr
    assert "desktop session" in done.stderr
    assert "Aborted" not in done.stderr and "core dumped" not in done.stderr


def test_display_problem_rules():
    assert display_problem({}, "linux") == NO_DISPLAY_MESSAGE
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "xcb"}, "linux") == NO_DISPLAY_MESSAGE
    assert display_problem({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"},
                           "linux") == NO_DISPLAY_MESSAGE
    assert display_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"}, "linux") is None
    assert display_problem({}, "win32") is None
    assert display_problem({}, "darwin") is None


def test_settings_are_remembered_and_never_hold_keys(make_app, qtbot, demo_sim, tmp_path):
    make_app(arm=[BTC, ETH])
    qtbot.waitUntil(lambda: len(demo_sim.countdowns()) == 2, timeout=5_000)
    saved = SettingsStore(tmp_path / "config").load()
    assert saved.targets == ["spot:BTC_USDT", "spot:ETH_USDT"]
    assert (saved.timeout, saved.interval) == (TIMEOUT, INTERVAL)
    text = (tmp_path / "config" / "settings.json").read_text()
    assert TEST_KEY not in text and TEST_SECRET not in text


def test_without_arm_it_starts_disarmed_whatever_was_remembered(make_app, qtbot, demo_sim,
                                                                tmp_path):
    store = SettingsStore(tmp_path / "config")
    store.save(Settings(targets=["spot:BTC_USDT", "spot:ETH_USDT"], timeout=30, interval=7.5))
    app = make_app(timeout=None, interval=None)
    assert app.window.picker.selected_targets() == [BTC, ETH]
    assert app.window.timing() == (30, 7.5)
    qtbot.wait(300)
    assert app.window.mode == "arm" and not app.window.cards
    assert demo_sim.countdowns() == {}


def test_the_last_profile_is_loaded_from_the_keyring_and_arm_waits_for_it(
        qtbot, qloop, demo_sim, tmp_path, isolated):
    settings = SettingsStore(tmp_path / "config")
    profiles = ProfileStore(settings, KeyStore())
    profiles.set_profile("sim", demo_sim.base_url, TEST_KEY, TEST_SECRET)
    assert ("gate-killswitch", "sim") in isolated.entries  # the in-memory keyring
    app = AppController(GuiOptions(arm=[BTC], timeout=TIMEOUT, interval=INTERVAL),
                        settings_store=settings, journal=Journal(tmp_path / "data"),
                        profile_store=profiles, use_tray=False)
    try:
        app.start()
        qtbot.waitUntil(lambda: "spot:BTC_USDT" in demo_sim.countdowns(), timeout=10_000)
        assert app.window.profile_label.text() == "Profile: sim"
        assert app.window.cards[BTC].state in (State.ARMED, State.ARMING)
        assert TEST_SECRET not in (tmp_path / "config" / "settings.json").read_text()
    finally:
        with qtbot.waitSignal(app.finished, timeout=10_000):
            app.spawn(app.quit_now())
        app.window.deleteLater()
        app.deleteLater()


@pytest.mark.parametrize("backend", [LockedKeyring, no_backend], ids=["locked", "none"])
def test_a_locked_keyring_is_said_plainly_in_the_window(qtbot, qloop, demo_sim, tmp_path,
                                                        backend):
    settings = SettingsStore(tmp_path / "config")
    settings.save(Settings(profiles={}, last_profile=None))
    from gui.core.settings import Profile

    saved = settings.load()
    saved.profiles["sim"] = Profile("sim", demo_sim.base_url)
    saved.last_profile = "sim"
    settings.save(saved)
    profiles = ProfileStore(settings, KeyStore(backend()))
    app = AppController(GuiOptions(), settings_store=settings,
                        journal=Journal(tmp_path / "data"), profile_store=profiles,
                        use_tray=False)
    try:
        app.start()
        qtbot.waitUntil(lambda: any("keyring" in t.lower() for t in app.window.banner.texts()),
                        timeout=5_000)
        assert not app.window.arm_button.isEnabled()
        assert "keyring" in app.window.button_hint.text().lower()
        # Said once: the title does not repeat what its text says ("No usable OS keyring").
        assert all(t.lower().count("no usable") <= 1 for t in app.window.banner.texts()
                   if "keyring" in t.lower())
    finally:
        if app._keys_dialog is not None:
            app._keys_dialog.reject()
        with qtbot.waitSignal(app.finished, timeout=10_000):
            app.spawn(app.quit_now())
        app.window.deleteLater()
        app.deleteLater()


def test_the_journal_pane_shows_events_and_opens_its_folder(make_app, qtbot, demo_sim,
                                                            tmp_path, monkeypatch):
    app = make_app(arm=[BTC])
    pane = app.window.journal
    qtbot.waitUntil(lambda: any(r[1] == "beat ok" and r[2] == "spot:BTC_USDT"
                                for r in pane.row_texts()), timeout=5_000)
    assert any(r[1] == "arm" for r in pane.row_texts())
    opened = []
    monkeypatch.setattr("gui.window.journal_pane.QDesktopServices.openUrl",
                        lambda url: opened.append(url.toLocalFile()) or True)
    qtbot.mouseClick(pane.open_folder, Qt.MouseButton.LeftButton)
    assert opened == [str(tmp_path / "data")]


def test_without_a_profile_the_keys_dialog_opens_and_a_chosen_profile_is_used(
        qtbot, qloop, demo_sim, tmp_path):
    from gui.dialogs.keys_dialog import ProfilesDialog

    settings = SettingsStore(tmp_path / "config")
    profiles = ProfileStore(settings, KeyStore())
    app = AppController(GuiOptions(timeout=TIMEOUT, interval=INTERVAL), settings_store=settings,
                        journal=Journal(tmp_path / "data"), profile_store=profiles,
                        use_tray=False)
    try:
        app.start()
        qtbot.waitUntil(lambda: app.window.findChild(ProfilesDialog) is not None
                        and app.window.findChild(ProfilesDialog).isVisible(), timeout=5_000)
        dialog = app.window.findChild(ProfilesDialog)
        assert not app.window.arm_button.isEnabled()
        # What the dialog does when a person saves a profile and presses "Use this profile".
        profiles.set_profile("sim", demo_sim.base_url, TEST_KEY, TEST_SECRET)
        dialog.profilesChanged.emit()
        dialog.profileChosen.emit("sim")
        dialog.accept()
        qtbot.waitUntil(lambda: app.window.profile_label.text() == "Profile: sim",
                        timeout=5_000)
        app.window.picker.set_selected([BTC])
        qtbot.waitUntil(app.window.arm_button.isEnabled, timeout=5_000)
        qtbot.mouseClick(app.window.arm_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "spot:BTC_USDT" in demo_sim.countdowns(), timeout=5_000)
        assert SettingsStore(tmp_path / "config").load().last_profile == "sim"
    finally:
        with qtbot.waitSignal(app.finished, timeout=10_000):
            app.spawn(app.quit_now())
        app.window.deleteLater()
        app.deleteLater()


def test_without_a_keyring_the_profile_and_its_markets_show_and_arm_says_why_not(
        qtbot, qloop, demo_sim, tmp_path):
    from gui.core.settings import Profile

    settings = SettingsStore(tmp_path / "config")
    settings.save(Settings(profiles={"sim": Profile("sim", demo_sim.base_url)}))
    profiles = ProfileStore(settings, KeyStore(no_backend()))
    app = AppController(GuiOptions(profile="sim", timeout=TIMEOUT, interval=INTERVAL),
                        settings_store=settings, journal=Journal(tmp_path / "data"),
                        profile_store=profiles, use_tray=True)
    window = app.window
    try:
        app.start()
        # The spot pairs are public: they load without the key, from the profile's exchange.
        qtbot.waitUntil(lambda: window.picker.pair_list.count() > 0, timeout=10_000)
        pairs = {window.picker.pair_list.item(i).text().split()[0]
                 for i in range(window.picker.pair_list.count())}
        assert {"BTC_USDT", "ETH_USDT"} <= pairs
        label = window.profile_label.text()
        assert label.startswith("Profile: sim") and demo_sim.base_url in label
        assert "key not loaded" in label
        assert any(t.startswith("Keys not loaded") and "No usable OS keyring" in t
                   for t in window.banner.texts())
        # Chosen markets and valid timing, and still nothing is armable: the key is missing.
        window.picker.set_selected([BTC])
        assert not window.arm_button.isEnabled()
        assert "keyring" in window.button_hint.text()
        app.tray.menu.aboutToShow.emit()
        arm_entry = next(a for a in app.tray.menu.actions() if a.text().startswith("ARM"))
        assert not arm_entry.isEnabled()
        # Asked anyway (a shortcut, a second launch): refused, and the words name the keyring.
        assert not app.arm([BTC], TIMEOUT, INTERVAL)
        assert any(t.startswith("Cannot arm") and "keyring" in t for t in window.banner.texts())
        app.cancel_now()
        assert any(t.startswith("Cannot cancel") and "keyring" in t
                   for t in window.banner.texts())
        assert app.engine is None and window.mode == "arm" and not window.cards
        assert window.summary.text() == "Not armed"
        assert demo_sim.countdowns() == {}
        # Only public lists were asked for: nothing signed, nothing sent on the account.
        assert {r.path.split("/")[1] for r in demo_sim.requests()} <= {"spot", "options",
                                                                      "futures"}
        assert all(r.method == "GET" and "orders" not in r.path and "accounts" not in r.path
                   for r in demo_sim.requests())
        # The keyring is unlocked and the profile chosen again (Keys…): its key takes over.
        public = app.keyless.client
        unlocked = MemoryKeyring()
        KeyStore(unlocked).store("sim", TEST_KEY, TEST_SECRET)
        profiles.key_store = KeyStore(unlocked)
        app.spawn(app.load_profile("sim"))
        qtbot.waitUntil(lambda: window.profile_label.text() == "Profile: sim", timeout=5_000)
        assert app.keyless.client is None and app.engine is not None
        assert public is not None and public is not window.picker._client
        qtbot.waitUntil(window.arm_button.isEnabled, timeout=5_000)
    finally:
        with qtbot.waitSignal(app.finished, timeout=10_000):
            app.spawn(app.quit_now())
        window.deleteLater()
        app.deleteLater()
