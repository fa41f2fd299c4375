"""The tray icon: the overall state at a glance, and the few actions that matter from anywhere.

Built only where a system tray exists (``Tray.available()``); without one the app keeps its
window and says nothing about it. The menu is rebuilt each time it opens (``aboutToShow``) so
its status line and ARM/STOP entry are never stale. Cleaned up by :meth:`Tray.close`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from gui.resources import resource_path
from gui.words import OVERALL_STATES


@dataclass(frozen=True)
class TraySnapshot:
    """What the tray shows; built by the app from the engine's statuses."""

    state: str  # one of OVERALL_STATES
    status_line: str  # "Armed · 2 targets · 42 s left"
    armed: bool  # the ARM/STOP entry says STOP
    stopping: bool
    can_arm: bool


class Tray(QObject):
    """A :class:`QSystemTrayIcon` with a menu; emits what the person chose."""

    armRequested = Signal()
    stopRequested = Signal()
    toggleWindowRequested = Signal()
    showWindowRequested = Signal()
    cancelNowRequested = Signal()
    quitRequested = Signal()

    def __init__(self, snapshot: Callable[[], TraySnapshot], parent: QObject | None = None
                 ) -> None:
        super().__init__(parent)
        self._snapshot = snapshot
        self._state = ""
        self._tooltip = ""
        self._icons = {state: QIcon(str(resource_path("icons", f"{state}.svg")))
                       for state in OVERALL_STATES}
        self.icon = QSystemTrayIcon(self._icons["idle"])
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.set_state("idle", "gate-killswitch: not armed")
        self.rebuild_menu()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self.icon.show()

    def close(self) -> None:
        self.icon.hide()
        self.icon.setContextMenu(None)
        self.menu.deleteLater()
        self.icon.deleteLater()

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> str:
        return self._state

    def set_state(self, state: str, tooltip: str) -> None:
        if state not in self._icons:
            raise ValueError(f"unknown tray state {state!r}")
        if state != self._state:
            self._state = state
            self.icon.setIcon(self._icons[state])
        if tooltip != self._tooltip:
            self._tooltip = tooltip
            self.icon.setToolTip(tooltip)

    def notify(self, title: str, message: str, level: str = "info") -> None:
        icon = {
            "info": QSystemTrayIcon.MessageIcon.Information,
            "warning": QSystemTrayIcon.MessageIcon.Warning,
            "critical": QSystemTrayIcon.MessageIcon.Critical,
        }.get(level, QSystemTrayIcon.MessageIcon.Information)
        self.icon.showMessage(title, message, icon, 10_000 if level == "critical" else 6_000)

    # ------------------------------------------------------------------ menu

    def rebuild_menu(self) -> None:
        snap = self._snapshot()
        self.menu.clear()
        status = QAction(snap.status_line, self.menu)
        status.setEnabled(False)
        self.menu.addAction(status)
        self.menu.addSeparator()
        if snap.stopping:
            toggle = QAction("Stopping…", self.menu)
            toggle.setEnabled(False)
        elif snap.armed:
            toggle = QAction("STOP: disarm everything", self.menu)
            toggle.triggered.connect(self.stopRequested.emit)
        else:
            toggle = QAction("ARM the selected markets", self.menu)
            toggle.setEnabled(snap.can_arm)
            toggle.triggered.connect(self.armRequested.emit)
        self.menu.addAction(toggle)
        show = QAction("Show window", self.menu)
        show.triggered.connect(self.showWindowRequested.emit)
        self.menu.addAction(show)
        cancel = QAction("Cancel orders now…", self.menu)
        cancel.triggered.connect(self.cancelNowRequested.emit)
        self.menu.addAction(cancel)
        self.menu.addSeparator()
        quit_action = QAction("Quit", self.menu)
        quit_action.triggered.connect(self.quitRequested.emit)
        self.menu.addAction(quit_action)

    def actions(self) -> list[str]:
        """The menu's entries as text (tests, accessibility)."""
        return [a.text() for a in self.menu.actions() if not a.isSeparator()]

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A double click also sends Trigger first: reacting to both would toggle twice.
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.toggleWindowRequested.emit()
