"""The big ARM/STOP button: a click, or a key held for 0.6 s, never a single bare key press.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
)
from PySide6.QtWidgets import (
    QPushButton,
    QWidget,
)

HOLD_MS = 600


_HOLD_KEYS = {Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Select}


class HoldButton(QPushButton):
    """The big ARM/STOP button.

    A mouse click activates it; from the keyboard it must be held for :data:`HOLD_MS` while a
    fill grows across it, so a stray Space or Enter never arms or stops anything.
    """

    activated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoDefault(False)
        self.setDefault(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._progress = 0.0
        self._holding = False
        self._elapsed = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(16)
        self._timer.timeout.connect(self._advance)
        self.clicked.connect(self._clicked)

    @property
    def hold_progress(self) -> float:
        return self._progress

    def _clicked(self) -> None:
        if self.isEnabled():
            self.activated.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if Qt.Key(event.key()) in _HOLD_KEYS:
            # QPushButton would click on a bare Space release: never here.
            event.accept()
            if not event.isAutoRepeat():
                self.start_hold()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if Qt.Key(event.key()) in _HOLD_KEYS:
            event.accept()
            if not event.isAutoRepeat():
                self.cancel_hold()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self.cancel_hold()
        super().focusOutEvent(event)

    def start_hold(self) -> None:
        """Begin a hold: it acts once held for :data:`HOLD_MS`, unless cancelled first."""
        if not self._holding and self.isEnabled():
            self._holding = True
            self._elapsed.start()
            self._timer.start()

    def cancel_hold(self) -> None:
        if self._holding or self._progress:
            self._holding = False
            self._timer.stop()
            self._progress = 0.0
            self.update()

    def _advance(self) -> None:
        if not self._holding:
            return
        self._progress = min(1.0, self._elapsed.elapsed() / HOLD_MS)
        self.update()
        if self._progress >= 1.0:
            self.cancel_hold()
            if self.isEnabled():
                self.activated.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._progress <= 0:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        clip = QPainterPath()
        clip.addRoundedRect(rect, 8, 8)
        painter.setClipPath(clip)
        fill = QRectF(rect.left(), rect.top(), rect.width() * self._progress, rect.height())
        painter.fillRect(fill, QColor(255, 255, 255, 90))
        painter.end()
