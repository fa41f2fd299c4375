"""On a real X server with a tray host, a notification server and GNOME Keyring."""

from __future__ import annotations

import keyring.backends.SecretService

from gui.core.heartbeat import State
from gui.core.keys import KeyStore, ProfileStore
from gui.core.settings import SettingsStore
from gui.core.targets import parse_target
from gui.dialogs.keys_dialog import ProfilesDialog
from gui.tray import Tray
from gui.words import clock_text
from tests.desktop.busmon import closed_ids, notify_calls
from tests.simkeys import TEST_KEY, TEST_SECRET

BTC = parse_target("spot:BTC_USDT")


def _said(bus_log, summary):
    return [c for c in notify_calls(bus_log) if c.summary == summary]


def test_the_tray_icon_is_embedded_in_the_tray_host(make_app, qtbot):
    qtbot.waitUntil(Tray.available, timeout=10_000)
    app = make_app(use_tray=True)
    assert app.tray is not None
    # The tray host gave the icon a place of its own on the screen: it is embedded.
    qtbot.waitUntil(lambda: app.tray.icon.geometry().width() > 0, timeout=10_000)
    assert app.tray.icon.isVisible()
    assert app.tray.icon.toolTip() == "gate-killswitch — Not armed"


def test_alerts_reach_the_notification_server_and_show_the_window(make_app, qtbot, demo_sim,
                                                                  bus_log, stack):
    app = make_app(use_tray=True, arm=[BTC])
    desktop = app.notifier.desktop
    assert desktop is not None and desktop.server.startswith("dunst")
    sounds = []
    app.notifier.soundPlayed.connect(sounds.append)
    qtbot.waitUntil(lambda: BTC in app.window.cards
                    and app.window.cards[BTC].state is State.ARMED, timeout=5_000)
    demo_sim.add_fault("status", status=503, path="/spot/countdown_cancel_all")
    qtbot.waitUntil(lambda: app.window.cards[BTC].state is State.FIRED, timeout=10_000)
    qtbot.waitUntil(lambda: bool(_said(bus_log, "FIRED: spot:BTC_USDT")), timeout=5_000)

    (failing,) = _said(bus_log, "Beats failing: spot:BTC_USDT")
    assert failing.urgency == 1 and failing.actions == [] and failing.expire_timeout == -1
    (short,) = _said(bus_log, "Time is short: spot:BTC_USDT")
    assert short.urgency == 2 and short.expire_timeout == 0  # stays until dismissed
    assert short.actions == ["default", "Show window", "stop", "Stop"]
    assert "fires at" in short.body
    (fired,) = _said(bus_log, "FIRED: spot:BTC_USDT")
    assert fired.urgency == 2 and fired.expire_timeout == 0
    assert fired.actions == ["default", "Show window"]
    assert fired.body.startswith("The exchange cancelled")
    assert fired.icon.endswith("fired.svg")
    # FIRED supersedes beats failing and time short: both were taken down.
    assert len(closed_ids(bus_log)) == 2
    qtbot.waitUntil(lambda: stack.dunstctl("count", "displayed") == "1", timeout=5_000)
    # dunst plays no sounds (no "sound" capability): the system's alert sound, for each alarm.
    assert desktop.ready and "sound" not in desktop.capabilities
    qtbot.waitUntil(lambda: sounds == ["beep", "beep"], timeout=5_000)

    # Its button (the default action) brings the window back.
    app.window.hide()
    stack.dunstctl("action", "0")
    qtbot.waitUntil(app.window.isVisible, timeout=5_000)


def test_stop_from_the_time_short_notification(make_app, qtbot, demo_sim, bus_log, stack):
    app = make_app(use_tray=True, arm=[BTC], timeout=10, interval=2.5)
    qtbot.waitUntil(lambda: BTC in app.window.cards
                    and app.window.cards[BTC].state is State.ARMED, timeout=5_000)
    fault = demo_sim.add_fault("status", status=503, path="/spot/countdown_cancel_all")
    qtbot.waitUntil(lambda: bool(_said(bus_log, "Time is short: spot:BTC_USDT")), timeout=10_000)
    # The person opens the notification's menu and picks Stop.
    (stack.home / "pick").write_text("#Stop (Time is short: spot:BTC_USDT)")
    stack.dunstctl("context")
    qtbot.waitUntil(lambda: app.window.cards[BTC].state is State.STOPPING, timeout=5_000)
    assert "#Stop (Time is short: spot:BTC_USDT)" in (stack.home / "offered").read_text()
    demo_sim.clear_faults(fault)
    qtbot.waitUntil(lambda: app.window.cards[BTC].state is State.DISARMED, timeout=10_000)
    assert demo_sim.countdowns() == {} and not demo_sim.firings()


def test_a_key_is_kept_in_gnome_keyring_through_the_keys_dialog(qtbot, qloop, demo_sim,
                                                                tmp_path):
    from tests.widgets.conftest import run
    from tests.widgets.test_keys_dialog import click, fill

    backend = keyring.backends.SecretService.Keyring()
    assert backend.priority > 0  # GNOME Keyring is there and unlocked
    profiles = ProfileStore(SettingsStore(tmp_path / "config"), KeyStore(backend))
    dialog = ProfilesDialog(profiles)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    run(qtbot, dialog.refresh())
    fill(qtbot, dialog, name="desk", url=demo_sim.base_url, key=TEST_KEY, secret=TEST_SECRET)
    with qtbot.waitSignal(dialog.profilesChanged, timeout=10_000):
        click(qtbot, dialog.save_button)
    # Read back through a keyring of its own: the secret is in GNOME Keyring, not in memory.
    again = KeyStore(keyring.backends.SecretService.Keyring()).load("desk")
    assert (again.key, again.secret) == (TEST_KEY, TEST_SECRET)
    assert TEST_SECRET not in (tmp_path / "config" / "settings.json").read_text()
    dialog.close()


def _send(logind, word):
    logind.stdin.write(word + "\n")
    logind.stdin.flush()
    assert logind.stdout.readline().strip() == f"sent {word}"


def test_sleep_and_wake_from_logind(make_app, qtbot, demo_sim, logind):
    app = make_app(arm=[BTC])
    assert app.sleep is not None and app.sleep.watch.listening
    qtbot.waitUntil(lambda: BTC in app.window.cards
                    and app.window.cards[BTC].state is State.ARMED, timeout=5_000)
    records = []
    app.journal.subscribe(records.append)
    checks = []
    real_check = app.engine.check_clock

    async def check_clock():
        checks.append(1)
        return await real_check()

    app.engine.check_clock = check_clock
    _send(logind, "sleep")
    qtbot.waitUntil(lambda: any(r["event"] == "sleep" for r in records), timeout=5_000)
    (sleep,) = [r for r in records if r["event"] == "sleep"]
    status = app.engine.status(BTC)
    assert sleep["message"].startswith("the computer is going to sleep; the countdowns will "
                                       f"fire at spot:BTC_USDT at "
                                       f"{clock_text(status.trigger_time_ms)}")
    orders_before = len(demo_sim.requests("/spot/open_orders"))
    _send(logind, "wake")
    qtbot.waitUntil(lambda: any(r["event"] == "wake" for r in records), timeout=5_000)
    # At once: the clocks are checked and the orders fetched again, not at the next tick.
    qtbot.waitUntil(lambda: checks == [1], timeout=5_000)
    qtbot.waitUntil(lambda: len(demo_sim.requests("/spot/open_orders")) > orders_before,
                    timeout=5_000)
    assert app.window.cards[BTC].state is State.ARMED  # it slept a moment: nothing ran out


def test_the_theme_switches_live_on_the_screen(make_app, qtbot, qapp):
    from PySide6.QtCore import Qt as QtNS

    from gui.theme import Theme

    theme = Theme(qapp, "system")
    try:
        app = make_app(theme=theme)
        qtbot.waitExposed(app.window)
        header = app.window._header

        def header_lightness() -> int:
            image = header.grab().toImage()
            return image.pixelColor(image.width() // 2, 4).lightness()

        assert header_lightness() > 200  # light: white header
        qapp.styleHints().colorSchemeChanged.emit(QtNS.ColorScheme.Dark)  # the desktop switched
        assert theme.scheme == "dark"
        qtbot.waitUntil(lambda: header_lightness() < 60, timeout=5_000)
        app.preferences.open().theme_combo.setCurrentIndex(1)  # forced: Light
        qtbot.waitUntil(lambda: header_lightness() > 200, timeout=5_000)
        assert theme.choice == "light"
    finally:
        theme.close()


def test_compact_mode_shows_a_strip_on_top(make_app, qtbot):
    from PySide6.QtCore import Qt as QtNS

    qtbot.waitUntil(Tray.available, timeout=10_000)
    app = make_app(use_tray=True)
    app.tray.menu.aboutToShow.emit()
    (entry,) = [a for a in app.tray.menu.actions() if a.text() == "Compact strip on top"]
    entry.trigger()
    strip = app.compact.strip
    qtbot.waitExposed(strip)
    handle = strip.windowHandle()
    assert handle is not None and handle.flags() & QtNS.WindowType.WindowStaysOnTopHint
    assert strip.line.text() == "Not armed" and strip.state == "idle"
    # Its shortcut puts it away again (once it has the keyboard).
    strip.activateWindow()
    qtbot.waitUntil(strip.isActiveWindow, timeout=5_000)
    qtbot.keyClick(strip, QtNS.Key.Key_M,
                   QtNS.KeyboardModifier.ControlModifier | QtNS.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not strip.isVisible(), timeout=5_000)


def test_a_hung_notification_server_never_holds_the_window_up(make_app, qtbot, stack):
    import os
    import signal

    app = make_app()  # no tray: what the server does not take goes to the banner
    desktop = app.notifier.desktop
    assert desktop is not None
    qtbot.waitUntil(lambda: desktop.ready, timeout=5_000)
    pid = stack.owner_pid("org.freedesktop.Notifications")
    os.kill(pid, signal.SIGSTOP)  # dunst hangs: it takes calls and never answers
    try:
        app.notifier.notify("critical", "FIRED: spot:BTC_USDT", "The exchange cancelled it.",
                            key="fired:spot:BTC_USDT")
        # Back at once, the call still waiting for the server: the window was not held up.
        assert desktop.sent == [] and not desktop.broken
        qtbot.waitUntil(lambda: any(t.startswith("FIRED: spot:BTC_USDT")
                                    for t in app.window.banner.texts()), timeout=5_000)
        assert desktop.broken
        # From now on, straight to the banner.
        app.notifier.notify("warning", "Beats failing: spot:ETH_USDT", "Retrying.",
                            key="degraded:spot:ETH_USDT")
        assert any(t.startswith("Beats failing: spot:ETH_USDT")
                   for t in app.window.banner.texts())
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_server_that_plays_sounds_gets_the_sound_hint_and_no_beep(qtbot, monkeypatch):
    import json
    import os
    import subprocess
    import sys

    from PySide6.QtDBus import QDBusConnection
    from PySide6.QtWidgets import QApplication

    from gui.desktop_notify import DesktopNotifications
    from gui.notifications import NoticeBanner, Notifier

    # A bus of its own, where the tests' own server (which plays sounds) is the one.
    read, write = os.pipe()
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                               f"--print-address={write}"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        address = pipe.readline().strip()
    server = subprocess.Popen([sys.executable, "-m", "tests.desktop.fake_notify_server",
                               address], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    desktop = None
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        bus = QDBusConnection.connectToBus(address, "sound-test")
        desktop = DesktopNotifications.connect_bus(bus)
        assert desktop is not None
        qtbot.waitUntil(lambda: desktop.ready, timeout=5_000)
        assert desktop.plays_sounds
        assert desktop.server == "?"  # it did not say its name: still used
        beeps = []
        monkeypatch.setattr(QApplication, "beep", lambda: beeps.append(1))
        banner = NoticeBanner()
        qtbot.addWidget(banner)
        notifier = Notifier(banner, None, desktop=desktop)
        sounds = []
        notifier.soundPlayed.connect(sounds.append)
        notifier.notify("critical", "FIRED: spot:BTC_USDT", "Cancelled.",
                        key="fired:spot:BTC_USDT")
        notifier.notify("warning", "Time is short: spot:ETH_USDT", "It fires soon.",
                        key="short:spot:ETH_USDT")
        fired, short = (json.loads(server.stdout.readline()) for _ in range(2))
        assert fired["summary"] == "FIRED: spot:BTC_USDT"
        assert fired["hints"]["sound-name"] == "alarm-clock-elapsed"
        assert fired["hints"]["urgency"] == 2
        assert short["hints"]["sound-name"] == "dialog-warning"
        assert short["actions"] == ["default", "Show window", "stop", "Stop"]
        # The server plays them: no beep besides, and nothing in the banner.
        qtbot.waitUntil(lambda: len(sounds) == 2, timeout=5_000)
        assert sounds == ["hint:alarm-clock-elapsed", "hint:dialog-warning"] and beeps == []
        assert len(desktop.sent) == 2
        assert banner.texts() == []
    finally:
        if desktop is not None:
            desktop.shutdown()
        QDBusConnection.disconnectFromBus("sound-test")
        for proc in (server, daemon):
            proc.terminate()
            proc.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def test_a_server_hung_at_start_holds_nothing_up(make_app, qtbot, stack):
    import os
    import signal

    pid = stack.owner_pid("org.freedesktop.Notifications")
    os.kill(pid, signal.SIGSTOP)  # hung before the app starts: its question goes unanswered
    try:
        app = make_app()  # built and painted without waiting for the server
        desktop = app.notifier.desktop
        assert desktop is not None and not desktop.ready
        app.notifier.notify("critical", "FIRED: spot:BTC_USDT", "The exchange cancelled it.",
                            key="fired:spot:BTC_USDT")
        qtbot.waitUntil(lambda: any(t.startswith("FIRED: spot:BTC_USDT")
                                    for t in app.window.banner.texts()), timeout=5_000)
        assert desktop.broken and not desktop.ready
    finally:
        os.kill(pid, signal.SIGCONT)
