"""The picker's parts: an in-place load status with Retry, and Space toggling the check box of
a table's current cell or row.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QStandardItem
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QWidget,
)

NAME_ROLE = Qt.ItemDataRole.UserRole + 1  # the pair, underlying or contract name of an item



class LoadStatus(QWidget):
    """One line under a list: "Loading…", a note, or an error message with a Retry button."""

    retryRequested = Signal()

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName(f"{what} status")
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setAccessibleName(f"Retry loading {what}")
        self.retry_button.clicked.connect(self.retryRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        self.state = "idle"
        self.clear()

    def _show(self, state: str, text: str, *, error: bool, retry: bool) -> None:
        self.state = state
        self.label.setText(text)
        # Red text (style.qss, by tone) plus the words "Could not": never colour alone.
        self.label.setProperty("tone", "error" if error else "")
        self.label.style().unpolish(self.label)
        self.label.style().polish(self.label)
        self.retry_button.setVisible(retry)
        self.setVisible(bool(text))

    def show_loading(self, what: str | None = None) -> None:
        self._show("loading", f"Loading {what or self.what}…", error=False, retry=False)

    def show_note(self, text: str) -> None:
        self._show("note", text, error=False, retry=False)

    def show_error(self, message: str) -> None:
        self._show("error", message, error=True, retry=True)

    def clear(self) -> None:
        self._show("idle", "", error=False, retry=False)

    @property
    def text(self) -> str:
        return self.label.text()


class SpaceTogglesRowCheck(QObject):
    """Space asks ``toggle`` for the current index of a table, whatever cell has focus.

    Qt's own Space handling toggles only when the focused cell itself is checkable and selects
    otherwise; here the table decides which box a cell stands for (the option chain: the
    focused side's own box), and a cell with no box changing is left as it is.
    """

    def __init__(self, view: QTableView, toggle: Callable[[QModelIndex], None]) -> None:
        super().__init__(view)
        self._view = view
        self._toggle = toggle

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Select)
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            index = self._view.currentIndex()
            if index.isValid():
                self._toggle(index)
                return True
        return False


def set_check(item: QListWidgetItem | QStandardItem, checked: bool) -> None:
    state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
    if item.checkState() != state:
        item.setCheckState(state)
