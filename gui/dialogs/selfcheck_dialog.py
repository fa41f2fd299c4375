"""Self-check… in the window: the steps of :mod:`gui.core.selfcheck` for one target, shown as
they happen.

On a live account the exact order is shown first and placed only when the person presses
"Place the test order"; on the demo and TestNet it starts at once. "Stop" (or closing the
dialog) asks the check to stop: it still cancels the test order and ends the countdown, and the
dialog says so before it can be closed. The blocking work runs in worker threads (``in_thread``);
progress comes back through a queued signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Collection, Coroutine
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.core.client import GateClient
from gui.core.errors import GateError
from gui.core.journal import Journal
from gui.core.selfcheck import Outcome, Refused, Report, SelfCheck, is_live
from gui.core.targets import Target
from gui.dialogs.fit import grow_to_fit
from gui.tasks import in_thread


class SelfCheckDialog(QDialog):
    """Shows one self-check; :func:`run_selfcheck` drives it."""

    said = Signal(str)  # from worker threads: queued to the dialog's thread
    reported = Signal(object)  # the Report, once the check has ended and cleaned up

    def __init__(self, target: Target, *, live: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grow_to_fit(self)  # as tall as its messages need
        self.setObjectName("selfCheckDialog")
        self.setWindowTitle(f"Self-check: {target}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.target = target
        self.live = live
        self.stop_event = threading.Event()
        self.report: Report | None = None
        self._running = False
        self._confirmed: asyncio.Future[bool] | None = None

        intro = QLabel(
            f"Places one post-only test order far from the market in {target.describe()}, "
            "arms a 5-second countdown with no beat, and watches Gate cancel it. Nothing is "
            "left behind, whatever the outcome.")
        intro.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setObjectName("selfCheckLog")
        self.log.setReadOnly(True)
        self.log.setMinimumSize(560, 260)
        # Fixed width: the report's times line up in columns.
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.verdict = QLabel("")
        self.verdict.setObjectName("selfCheckVerdict")
        self.verdict.setWordWrap(True)
        bold = self.verdict.font()
        bold.setBold(True)
        self.verdict.setFont(bold)
        self.place_button = QPushButton("Place the test order")
        self.place_button.setObjectName("selfCheckPlace")
        self.place_button.setEnabled(False)
        self.place_button.clicked.connect(lambda: self._answer(True))
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("selfCheckStop")
        self.stop_button.clicked.connect(self.ask_stop)
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("selfCheckClose")
        self.close_button.setEnabled(False)
        self.close_button.clicked.connect(self.accept)
        buttons = QDialogButtonBox()
        for button in (self.place_button, self.stop_button, self.close_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        # After addButton, which shows each button it takes.
        self.place_button.setVisible(live)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.verdict)
        layout.addWidget(buttons)
        self.said.connect(self.add_line, Qt.ConnectionType.QueuedConnection)

    def add_line(self, text: str) -> None:
        self.log.appendPlainText(text)

    def say(self, text: str) -> None:
        """Thread-safe: the check calls this from a worker thread."""
        self.said.emit(text)

    async def confirm(self) -> bool:
        """Wait for "Place the test order" (True) or Stop/close (False)."""
        self._confirmed = asyncio.get_running_loop().create_future()
        self.place_button.setEnabled(True)
        self.place_button.setDefault(True)
        try:
            return await self._confirmed
        finally:
            self.place_button.setEnabled(False)
            self._confirmed = None

    def _answer(self, yes: bool) -> None:
        if self._confirmed is not None and not self._confirmed.done():
            self._confirmed.set_result(yes)

    def ask_stop(self) -> None:
        self._answer(False)
        if not self.stop_event.is_set():
            self.stop_event.set()
            if self._running:
                self.add_line("Stopping: cancelling the test order and ending the countdown…")
        self.stop_button.setEnabled(False)

    def set_running(self, running: bool) -> None:
        self._running = running

    def show_report(self, report: Report) -> None:
        self.report = report
        for line in report.lines():
            self.add_line(line)
        self.verdict.setText(f"{report.outcome.value}: {report.message}")
        self.verdict.setProperty("outcome", report.outcome.value)
        self.stop_button.setEnabled(False)
        self.close_button.setEnabled(True)
        self.close_button.setDefault(True)
        self.reported.emit(report)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Never closed while something may still be on the exchange: ask to stop instead.
        if self.report is None:
            self.ask_stop()
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:  # Escape
        if self.report is None:
            self.ask_stop()
            return
        super().reject()


def selfcheck_button(targets: Callable[[], list[Target]],
                     chosen: Callable[[Target], None]) -> QPushButton:
    """The window's "Self-check…" button: a menu of the targets chosen in the list, one check
    per target."""
    button = QPushButton("Self-check…")
    button.setObjectName("selfCheckButton")
    button.setAccessibleName("Self-check a target with one test order")
    button.setToolTip("Prove the countdown on your account: one post-only test order far from "
                      "the market, a 5-second countdown with no beat, and Gate cancels it.")
    menu = QMenu(button)

    def fill() -> None:
        menu.clear()
        listed = targets()
        if not listed:
            menu.addAction("Choose a target in the list first").setEnabled(False)
        for target in listed:
            menu.addAction(f"Self-check {target}", functools.partial(chosen, target))

    menu.aboutToShow.connect(fill)
    button.setMenu(menu)
    return button


async def run_selfcheck(dialog: SelfCheckDialog, client: GateClient, journal: Journal) -> Report:
    """Plan, confirm (live accounts), run and report, in ``dialog``."""
    target = dialog.target
    try:
        check = SelfCheck(client, target, journal=journal, stop=dialog.stop_event,
                          say=dialog.say)
        dialog.add_line("Reading the market and the scope's open orders…")
        plan = await in_thread(check.prepare)
    except Refused as exc:
        report = Report(Outcome.REFUSED, target, message=str(exc))
        dialog.show_report(report)
        return report
    except GateError as exc:
        report = Report(Outcome.ERROR, target, message=f"Nothing was placed: {exc}")
        dialog.show_report(report)
        return report
    dialog.add_line("The self-check will place this order:" if dialog.live else "Test order:")
    for line in plan.lines():
        dialog.add_line(f"  {line}")
    if dialog.live and not await dialog.confirm():
        report = Report(Outcome.REFUSED, target, plan=plan,
                        message="Not confirmed; nothing was placed.")
        dialog.show_report(report)
        return report
    dialog.set_running(True)
    try:
        report = await in_thread(check.run, plan)
    except asyncio.CancelledError:
        # The app is quitting: the worker thread still runs its cleanup once asked to stop.
        dialog.stop_event.set()
        raise
    finally:
        dialog.set_running(False)
    with contextlib.suppress(RuntimeError):  # the dialog was deleted under us
        dialog.show_report(report)
    return report


def open_selfcheck(window: QWidget, client: GateClient | None, target: Target, *,
                   journal: Journal, armed: Collection[Target], demo: bool,
                   claim: Callable[[list[Target]], str | None],
                   post: Callable[[str, str, str, str], None]
                   ) -> tuple[SelfCheckDialog, Coroutine[Any, Any, Report]] | None:
    """Open the dialog for ``target`` and the job that runs it; None (and said why through
    ``post``, the window's notices) when it cannot start."""
    problem = None
    if client is None:
        problem = "No API key loaded yet: choose a profile (Keys…)."
    elif target in armed:
        problem = (f"{target} is armed here: stop it first (its beats would keep the test "
                   "countdown from ending).")
    else:
        problem = claim([target])
    if problem is not None or client is None:
        post("warning", "Self-check", problem or "", "selfcheck")
        return None
    dialog = SelfCheckDialog(target, live=not demo and is_live(client.base_url), parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog, run_selfcheck(dialog, client, journal)
