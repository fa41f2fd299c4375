"""The desktop app's start: the QApplication, its theme, signal handlers and the qasync loop.

``gui/__main__.py`` parses the command line and calls :func:`run_gui` with a
:class:`~gui.controller.GuiOptions`; :class:`~gui.controller.AppController` does the rest.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gui.controller import AppController
from gui.options import GuiOptions
from gui.qt_workarounds import guard_refcounts
from gui.startup import display_problem

# The id of resources/linux/io.github.gate_killswitch.desktop.
DESKTOP_ID = "io.github.gate_killswitch"
log = logging.getLogger(__name__)

__all__ = ["DESKTOP_ID", "apply_theme", "run_gui"]

def apply_theme(app: QApplication, choice: str = "light") -> None:
    """Fusion with the scheme's palette and stylesheet (gui/theme.py); 'system' follows the
    desktop once, without following its later changes (the running app uses a Theme)."""
    from gui.theme import apply_scheme, resolve

    apply_scheme(app, resolve(choice))


def _install_signal_handlers(controller: AppController) -> dict[int, Any]:
    """Ctrl+C quits as the Quit menu does (asking while armed); SIGTERM (logout, shutdown,
    ``kill``) quits at once and leaves the countdowns to fire, as any dead man's switch would.
    SIGHUP (the terminal it was started from closed) does the same as SIGTERM: nobody is left
    to answer the question Ctrl+C would ask.

    Python runs its handlers between bytecodes; the window's repaint timer keeps it running.
    """
    import signal

    def interrupt(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, controller.request_quit)

    def terminate(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, lambda: controller.spawn(controller.quit_now()))

    previous: dict[int, Any] = {}
    hangup = getattr(signal, "SIGHUP", None)
    for signum, handler in ((signal.SIGINT, interrupt), (getattr(signal, "SIGTERM", None),
                                                         terminate), (hangup, terminate)):
        if signum is None:
            continue
        if signum == hangup and signal.getsignal(signum) is signal.SIG_IGN:
            continue  # started under nohup: the person chose to outlive the terminal
        try:
            previous[signum] = signal.signal(signum, handler)
        except (ValueError, OSError):  # not the main thread, or not supported here
            pass
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    import signal

    for signum, handler in previous.items():
        try:
            signal.signal(signum, handler)
        except (ValueError, OSError, TypeError):
            pass


def run_gui(options: GuiOptions) -> int:
    """Run the window until the person quits. Returns the process exit code.

    2 when there is no display (with a message naming the fix) or the journal is not a
    regular file. When another instance was already running, this launch's request went to it:
    0 when it did all that was asked (armed every target, or showed its window), 1 when it
    refused, could not arm, or did not answer. Else 0 after a normal quit.
    """
    problem = display_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2

    import PySide6.QtWidgets  # noqa: F401  (PySide6 before qasync, so qasync picks it)
    import qasync

    guard_refcounts()

    from gui import APP_NAME
    from gui.core.journal import Journal, data_dir
    from gui.core.settings import SettingsStore, config_dir
    from gui.resources import state_icon
    from gui.single_instance import SingleInstance, instance_name

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_NAME])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("gate-killswitch")
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName(DESKTOP_ID)  # Wayland matches the window to its launcher by this
    app.setWindowIcon(state_icon("gate-killswitch"))

    from gui.core.journal import JournalError

    journal = Journal(data_dir() / "demo") if options.demo else Journal()
    try:
        journal.check()
    except JournalError as exc:
        print(f"gate-killswitch: {exc}", file=sys.stderr)
        return 2

    instance: SingleInstance | None = None
    if not options.self_test:
        instance = SingleInstance(instance_name(config_dir()))
        reply = instance.claim(options.launch)
        if reply is not None:
            print(f"gate-killswitch is already running: {reply.message}", file=sys.stderr)
            return 0 if reply.ok else 1

    simulator = None
    client = None
    profile_store = None
    label, cache_key = "", ""
    settings_store = SettingsStore()
    from gui.theme import Theme

    # Before the window is built, so that it is drawn once, in the right colours.
    theme = Theme(app, settings_store.load().theme)
    if options.demo:
        from gui.core.client import GateClient
        from gui.simulator import DEMO_KEY, DEMO_SECRET, Simulator

        simulator = Simulator(keys={DEMO_KEY: DEMO_SECRET}, demo=True)
        simulator.start()
        client = GateClient(simulator.base_url, DEMO_KEY, DEMO_SECRET)
        label, cache_key = f"Demo exchange · {simulator.base_url.split('/')[2]}", "demo"
    else:
        from gui.core.keys import KeyStore, ProfileStore

        profile_store = ProfileStore(settings_store, KeyStore())

    controller = AppController(
        options, settings_store=settings_store, journal=journal, profile_store=profile_store,
        client=client, client_label=label, cache_key=cache_key, simulator=simulator,
        use_tray=False if options.self_test else None,
        use_desktop_bus=False if options.self_test else None, theme=theme)
    if instance is not None:
        instance.showRequested.connect(controller.show_window)
        instance.handler = controller.answer_launch
    if controller.tray is not None:
        app.setQuitOnLastWindowClosed(False)

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    previous = _install_signal_handlers(controller)
    code = 1
    try:
        with loop:
            code = loop.run_until_complete(controller.run())
    finally:
        _restore_signal_handlers(previous)
        theme.close()
        if instance is not None:
            instance.close()
        if simulator is not None:
            simulator.stop()
        journal.close()
        asyncio.set_event_loop(None)
    return code
