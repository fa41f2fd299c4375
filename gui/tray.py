"""The tray icon: the overall state at a glance, and the few actions that matter from anywhere.

Built only where a system tray exists (``Tray.available()``); without one the app keeps its
window and says nothing about it. The tray keeps the statuses it is handed (the adapter's
``statusChanged``, wired by the controller) and works the overall state out itself, as the
window's header does; it never reads the window. Its tooltip counts the seconds left: one
timer is set for the moment its text next changes, and none while nothing counts down. The
menu's status line and ARM/STOP entry are brought up to date as it opens (``aboutToShow``) and,
while it stays open, by that same timer, so they tick with the tooltip; once it closes
(``aboutToHide``) the menu is left alone until it opens again. Cleaned up by
:meth:`Tray.close`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from gui.core.clock import monotonic
from gui.core.heartbeat import TargetStatus
from gui.core.targets import Target
from gui.resources import resource_path
from gui.words import OVERALL_STATES, Overview

#: the longest the tooltip goes without being worked out again while something counts down
_SAFETY_S = 60.0


class Tray(QObject):
    """A :class:`QSystemTrayIcon` with a menu; emits what the person chose."""

    armRequested = Signal()
    stopRequested = Signal()
    toggleWindowRequested = Signal()
    showWindowRequested = Signal()
    cancelNowRequested = Signal()
    preferencesRequested = Signal()
    compactRequested = Signal()
    quitRequested = Signal()

    def __init__(self, parent: QObject | None = None, *,
                 clock: Callable[[], float] = monotonic) -> None:
        super().__init__(parent)
        self._clock = clock
        self.overview = Overview()
        self._can_arm = False
        self._state = ""
        self._tooltip = ""
        self._line = ""
        self._menu_open = False
        self._icons = {state: QIcon(str(resource_path("icons", f"{state}.svg")))
                       for state in OVERALL_STATES}
        self.icon = QSystemTrayIcon(self._icons["idle"])
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self._menu_shown)
        self.menu.aboutToHide.connect(self._menu_hidden)
        self._status_action = QAction(self.menu)
        self._toggle_action = QAction(self.menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.refresh)
        self.set_state("idle", "gate-killswitch: not armed")
        self._build_menu()
        self.refresh()

    # ------------------------------------------------------------------ what it is told

    def update_status(self, status: TargetStatus) -> None:
        """A target's new status; an idle one the tray has not seen is none of its business."""
        if self.overview.update(status):
            self.refresh()

    def forget(self, target: Target) -> None:
        """The target's card was dismissed or replaced: it is no longer shown anywhere."""
        if self.overview.forget(target):
            self.refresh()

    def set_mode(self, mode: str) -> None:
        """What the big button says: 'arm', 'stop' or 'stopping' (the menu's ARM/STOP entry)."""
        if self.overview.set_mode(mode):
            self.refresh()

    def set_can_arm(self, can: bool) -> None:
        """Whether ARM can be pressed now (a selection, valid timing, a key)."""
        self._can_arm = can
        if self._menu_open:
            self._sync_menu()

    @property
    def menu_open(self) -> bool:
        """Whether the menu is shown (between its aboutToShow and aboutToHide)."""
        return self._menu_open

    @property
    def ticking(self) -> bool:
        """Whether a timer is set to redraw the tooltip (and the menu, while it is open)."""
        return self._timer.isActive()

    def refresh(self) -> None:
        """Work the overall state out from the statuses, show it, and plan the next change:
        a timer only while a shown countdown runs, since otherwise no text changes by itself."""
        state, self._line, changes_in = self.overview.state(self._clock())
        self.set_state(state, f"gate-killswitch — {self._line}")
        if self._menu_open:
            self._sync_menu()
        if changes_in is None:
            self._timer.stop()
        else:
            self._timer.start(max(1, math.ceil(min(changes_in, _SAFETY_S) * 1000)))

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self.icon.show()

    def close(self) -> None:
        self._menu_open = False
        self._timer.stop()
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

    def _menu_shown(self) -> None:
        self._menu_open = True
        self.refresh()  # works the line out now, syncs the menu, plans the next change

    def _menu_hidden(self) -> None:
        self._menu_open = False

    def _sync_menu(self) -> None:
        """The status line and the ARM/STOP entry, as they are now."""
        self._status_action.setText(self._line)
        toggle, mode = self._toggle_action, self.overview.mode
        if mode == "stopping":
            toggle.setText("Stopping…")
            toggle.setEnabled(False)
        elif mode == "stop":
            toggle.setText("STOP: disarm everything")
            toggle.setEnabled(True)
        else:
            toggle.setText("ARM the selected markets")
            toggle.setEnabled(self._can_arm)

    def _toggle_chosen(self) -> None:
        # Decided by the mode when chosen, which the entry's text was synced to: a click can
        # only ever do what the entry said.
        if self.overview.mode == "stop":
            self.stopRequested.emit()
        elif self.overview.mode == "arm" and self._can_arm:
            self.armRequested.emit()

    def _build_menu(self) -> None:
        self._status_action.setEnabled(False)
        self.menu.addAction(self._status_action)
        self.menu.addSeparator()
        self._toggle_action.triggered.connect(self._toggle_chosen)
        self.menu.addAction(self._toggle_action)
        show = QAction("Show window", self.menu)
        show.triggered.connect(self.showWindowRequested.emit)
        self.menu.addAction(show)
        cancel = QAction("Cancel orders now…", self.menu)
        cancel.triggered.connect(self.cancelNowRequested.emit)
        self.menu.addAction(cancel)
        compact = QAction("Compact strip on top", self.menu)
        compact.triggered.connect(self.compactRequested.emit)
        self.menu.addAction(compact)
        preferences = QAction("Preferences…", self.menu)
        preferences.triggered.connect(self.preferencesRequested.emit)
        self.menu.addAction(preferences)
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
