"""Quitting while armed: disarm and quit, quit and let the exchange fire, or cancel.

Non-blocking: show it with :meth:`QDialog.open` and connect its signals (no ``exec()`` inside an
async slot: docs/ARCHITECTURE.md). While the disarm runs the dialog says so; if a stop cannot be
confirmed it says which, and the three answers are offered again.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.core.targets import Target
from gui.dialogs.fit import grow_to_fit
from gui.words import futures_note


class QuitDialog(QDialog):
    """Asks what to do with the armed targets before quitting."""

    disarmAndQuit = Signal()
    quitAndFire = Signal()
    cancelled = Signal()

    def __init__(self, targets: Sequence[Target], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grow_to_fit(self)  # as tall as its messages need
        self.setObjectName("quitDialog")
        self.setWindowTitle("Quit gate-killswitch?")
        self.setMinimumWidth(460)
        self._answered = False
        scopes = "\n".join(f"  •  {t.describe()}  ({t})" for t in targets)
        title = QLabel("The kill switch is armed")
        title.setObjectName("dialogTitle")
        self.body = body = QLabel(
            "If the app quits without disarming, nothing renews the exchange's countdown and "
            f"it will cancel these orders when it runs out:\n\n{scopes}"
            + (f"\n\n{note}" if (note := futures_note(targets)) else ""))
        body.setWordWrap(True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QLabel()
        self.progress.setObjectName("dialogProgress")
        self.progress.setWordWrap(True)
        self.progress.hide()

        self.disarm_button = QPushButton("Disarm and quit")
        self.disarm_button.setObjectName("disarmQuitButton")
        self.disarm_button.setToolTip(
            "Turn every countdown off on the exchange, wait until it confirms, then quit.")
        self.fire_button = QPushButton("Quit and let it fire")
        self.fire_button.setObjectName("fireQuitButton")
        self.fire_button.setToolTip(
            "Quit now. The exchange cancels the orders above when their countdown runs out.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Keep running and keep the countdowns alive.")
        # Enter must not quit by accident: the default answer is to keep running.
        for button in (self.disarm_button, self.fire_button):
            button.setAutoDefault(False)
            button.setDefault(False)
        self.cancel_button.setDefault(True)
        self.disarm_button.clicked.connect(self._disarm)
        self.fire_button.clicked.connect(self._fire)
        self.cancel_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        buttons.addWidget(self.disarm_button)
        buttons.addWidget(self.fire_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.addWidget(title)
        layout.addWidget(body)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

    def set_busy(self, text: str) -> None:
        """Say what is happening (e.g. 'Stopping…'); 'Disarm and quit' waits meanwhile."""
        self.progress.setText(text)
        self.progress.setProperty("level", "info")
        self.progress.show()
        self.disarm_button.setEnabled(False)

    def set_failed(self, text: str) -> None:
        """The stop could not be confirmed: say so and offer the three answers again."""
        self.progress.setText(text)
        self.progress.setProperty("level", "critical")
        self.progress.style().unpolish(self.progress)
        self.progress.style().polish(self.progress)
        self.progress.show()
        self.disarm_button.setText("Try again: disarm and quit")
        self.disarm_button.setEnabled(True)

    def _disarm(self) -> None:
        self.disarmAndQuit.emit()

    def _fire(self) -> None:
        self._answered = True
        self.quitAndFire.emit()
        self.accept()

    def reject(self) -> None:
        if not self._answered:
            self._answered = True
            self.cancelled.emit()
        super().reject()

    def finish(self) -> None:
        """Close without saying 'cancelled' (the app is quitting)."""
        self._answered = True
        self.accept()
