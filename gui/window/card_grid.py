"""The cards' grid (as many columns as fit) and its scroll area.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QGridLayout,
    QScrollArea,
    QWidget,
)

from gui.window.target_card import (
    TargetCard,
)

CARD_MIN_WIDTH = 340


class CardGrid(QWidget):
    """Target cards in as many columns as fit, in the order they came.

    A new card goes into the next free cell; the cards are placed again only when the column
    count changes or a card leaves (once, after a burst of removals), never for each new card:
    arming two hundred targets at once would otherwise place cards 20,000 times.
    """

    #: the grid's size changed, or its cards moved: the cards in sight may be others
    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(12)
        self._grid.setVerticalSpacing(12)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._cards: list[TargetCard] = []
        self._columns = 1
        self._grid.setColumnStretch(0, 1)
        self._repack = QTimer(self)
        self._repack.setSingleShot(True)
        self._repack.setInterval(0)
        self._repack.timeout.connect(self._place_all)  # a method: a lambda would keep self alive

    @property
    def cards(self) -> list[TargetCard]:
        return list(self._cards)

    def position(self, card: TargetCard) -> tuple[int, int] | None:
        """The (row, column) of ``card`` in the grid, or None when it is not placed."""
        index = self._grid.indexOf(card)
        if index < 0:
            return None
        row, column, _rows, _columns = self._grid.getItemPosition(index)
        return row, column

    def add_card(self, card: TargetCard) -> None:
        index = len(self._cards)
        self._cards.append(card)
        if not self._repack.isActive():  # else the coming repack places it
            self._grid.addWidget(card, index // self._columns, index % self._columns)

    def remove_card(self, card: TargetCard) -> None:
        if card not in self._cards:
            return
        self._cards.remove(card)
        self._grid.removeWidget(card)
        self._repack.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._relayout()
        self.resized.emit()

    def _place_all(self) -> None:
        self._relayout(force=True)
        # Cards moved up a cell: what is in sight changed as with a resize, whichever of this
        # and the window's repaint after the removal the loop happens to run first.
        self.resized.emit()

    def _relayout(self, force: bool = False) -> None:
        columns = max(1, min(3, self.width() // (CARD_MIN_WIDTH + 12)))
        if not force and columns == self._columns:
            return
        self._repack.stop()
        self._columns = columns
        while self._grid.count():
            self._grid.takeAt(0)
        for i, card in enumerate(self._cards):
            self._grid.addWidget(card, i // columns, i % columns)
        for column in range(3):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)


class CardsScroll(QScrollArea):
    """The scroll area of the cards; says when its viewport changes size (more cards show)."""

    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()
