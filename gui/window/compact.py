"""Compact mode: a small strip that stays on top, for keeping the countdown in view over the
exchange's window.

It shows the overall state in words and with the state's icon (the tray's), the shortest time
left, and STOP, which must be held for 0.6 s with the mouse or the keyboard: a stray click on a
strip floating over a trading screen must never disarm anything. Like the tray, it keeps the
statuses it is handed and works the overall state out itself; it never reads the window. It
remembers where it was put (the controller saves its geometry).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QKeySequence, QMouseEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from gui.core.heartbeat import TargetStatus
from gui.core.settings import SettingsError, SettingsStore
from gui.core.targets import Target
from gui.resources import resource_path
from gui.window.arm_button import HoldButton
from gui.window.painted import SteadyLabel
from gui.words import OVERALL_STATES, Overview

log = logging.getLogger(__name__)

#: toggles compact mode, in the window and in the strip
SHORTCUT = "Ctrl+Shift+M"
_SAFETY_S = 60.0


class HoldToStop(HoldButton):
    """STOP that acts only when held, with the mouse as with the keyboard; a click does nothing."""

    def _clicked(self) -> None:
        pass

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        if event.button() is Qt.MouseButton.LeftButton:
            self.start_hold()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.cancel_hold()
        super().mouseReleaseEvent(event)


class CompactStrip(QWidget):
    stopRequested = Signal()
    showWindowRequested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("compactStrip")
        self.setWindowTitle("gate-killswitch")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._clock = clock
        self.overview = Overview()
        self.state = ""
        self._icons = {state: QIcon(str(resource_path("icons", f"{state}.svg")))
                       for state in OVERALL_STATES}
        self.icon = QLabel()
        self.icon.setFixedSize(22, 22)
        self.line = SteadyLabel("Not armed")
        self.line.setObjectName("compactLine")
        self.line.setAccessibleName("Overall state")
        self.stop_button = HoldToStop()
        self.stop_button.setText("Hold to STOP")
        self.stop_button.setObjectName("compactStop")
        self.stop_button.setAccessibleName("STOP: disarm everything (hold 0.6 s)")
        self.stop_button.setToolTip("Hold the button (or Space on it) for 0.6 s to disarm "
                                    "every target.")
        self.stop_button.activated.connect(self.stopRequested.emit)
        self.open_button = QPushButton("Window")
        self.open_button.setObjectName("compactOpen")
        self.open_button.setAccessibleName("Show the main window")
        self.open_button.clicked.connect(self.showWindowRequested.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 8, 6)
        layout.setSpacing(8)
        layout.addWidget(self.icon)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.stop_button)
        layout.addWidget(self.open_button)
        self.toggle_shortcut = QShortcut(QKeySequence(SHORTCUT), self)
        self.toggle_shortcut.activated.connect(self.close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.refresh)

    def sizeHint(self) -> QSize:
        return QSize(460, super().sizeHint().height())

    # ------------------------------------------------------------------ what it is told

    def update_status(self, status: TargetStatus) -> None:
        if self.overview.update(status):
            self.refresh()

    def forget(self, target: Target) -> None:
        if self.overview.forget(target):
            self.refresh()

    def set_mode(self, mode: str) -> None:
        """As the big button: 'arm', 'stop' or 'stopping'; STOP shows only while armed."""
        self.overview.set_mode(mode)
        self.refresh()

    def refresh(self) -> None:
        """Work the overall state out, show it, and plan the next change (only while shown)."""
        if not self.isVisible():
            self._timer.stop()
            return
        state, line, changes_in = self.overview.state(self._clock())
        if state != self.state:
            self.state = state
            self.icon.setPixmap(self._icons[state].pixmap(QSize(22, 22)))
            self.setProperty("state", state)
            self.line.setProperty("state", state)
            for widget in (self, self.line):
                widget.style().unpolish(widget)
                widget.style().polish(widget)
        self.line.setText(line)
        self.setToolTip(f"gate-killswitch — {line}")
        self.stop_button.setVisible(self.overview.mode != "arm")
        self.stop_button.setEnabled(self.overview.mode == "stop")
        wait = _SAFETY_S if changes_in is None else min(changes_in, _SAFETY_S)
        self._timer.start(max(1, math.ceil(wait * 1000)))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        self.closed.emit()
        super().closeEvent(event)


class CompactMode(QObject):
    """Owns the strip: shows and hides it, remembers its place in the settings."""

    stopRequested = Signal()
    showWindowRequested = Signal()

    def __init__(self, settings_store: SettingsStore, parent: QObject | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._store = settings_store
        self.strip = CompactStrip(clock=clock)
        self.strip.stopRequested.connect(self.stopRequested.emit)
        self.strip.showWindowRequested.connect(self.showWindowRequested.emit)
        self.strip.closed.connect(self._remember_place)

    @property
    def shown(self) -> bool:
        return self.strip.isVisible()

    def update_status(self, status: TargetStatus) -> None:
        self.strip.update_status(status)

    def forget(self, target: Target) -> None:
        self.strip.forget(target)

    def set_mode(self, mode: str) -> None:
        self.strip.set_mode(mode)

    def toggle(self) -> None:
        if self.strip.isVisible():
            self.strip.close()
            return
        geometry = self._store.load().compact_geometry
        if geometry:
            self.strip.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))
        else:
            self.strip.adjustSize()
        self.strip.show()
        self.strip.raise_()

    def _remember_place(self) -> None:
        settings = self._store.load()
        settings.compact_geometry = bytes(self.strip.saveGeometry().toBase64().data()).decode(
            "ascii")
        try:
            self._store.save(settings)
        except (OSError, SettingsError) as exc:
            log.warning("Could not save where the compact strip was: %s", exc)

    def close(self) -> None:
        if self.strip.isVisible():
            self.strip.close()
        self.strip.deleteLater()
