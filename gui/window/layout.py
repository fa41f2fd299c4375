"""How the main window fits the screen it is on, and the one-line summary the picker folds to
while armed.

The window opens at its preferred size or the screen's available area, whichever is smaller,
and a remembered geometry is pulled back inside that area: a window saved on a large monitor
must not open with STOP or the journal below the edge of a laptop's screen.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from gui.core.heartbeat import TargetStatus
from gui.core.targets import Target
from gui.window.painted import SteadyLabel, paint_elided
from gui.words import counted, format_left

#: the size the window asks for on a screen large enough for it
PREFERRED_SIZE = QSize(1240, 800)


def available_area(widget: QWidget) -> QRect:
    """The part of the widget's screen that windows may use (without panels and docks)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def clamp_geometry(frame: QRect, area: QRect, minimum: QSize) -> QRect:
    """``frame`` made no larger than ``area`` (but never under ``minimum``) and moved inside
    it. A window that cannot fit at its minimum keeps its top left corner in the area, so its
    title bar and header (the state, the menu) stay on the screen."""
    width = max(min(frame.width(), area.width()), minimum.width())
    height = max(min(frame.height(), area.height()), minimum.height())
    left = min(max(frame.left(), area.left()), area.left() + area.width() - width)
    top = min(max(frame.top(), area.top()), area.top() + area.height() - height)
    return QRect(max(left, area.left()), max(top, area.top()), width, height)


def fit_to_screen(window: QWidget, wanted: QSize | None = None) -> None:
    """Resize and move ``window`` (its frame, title bar included) inside its screen's
    available area; ``wanted`` is the size to start from (else its present size)."""
    size = wanted if wanted is not None else window.size()
    frame = window.frameGeometry()
    # The window manager's frame around the client area (zero before the window is shown).
    extra = QSize(frame.width() - window.width(), frame.height() - window.height())
    want = QRect(frame.topLeft(), size + extra)
    fitted = clamp_geometry(want, available_area(window), window.minimumSizeHint() + extra)
    window.resize(fitted.size() - extra)
    window.move(fitted.topLeft())


class PickerFold(QFrame):
    """The picker folded to one line while armed: what is protected, and a button to unfold
    it (it stays locked) or fold it again."""

    toggled = Signal(bool)  # True: show the whole picker

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pickerFold")
        self.line = QLabel()
        self.line.setObjectName("pickerFoldLine")
        self.line.setAccessibleName("Protected scopes")
        # Ignored: the line never widens the window; the full list is in its tooltip.
        self.line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.button = QPushButton("Show targets")
        self.button.setObjectName("pickerFoldButton")
        self.button.setCheckable(True)
        self.button.setAutoDefault(False)
        self.button.setAccessibleName("Show or hide the target picker")
        self.button.toggled.connect(self._toggled)
        self._full = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 8, 4)
        layout.setSpacing(10)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.button)

    def set_targets(self, targets: list[Target]) -> None:
        names = ", ".join(str(t) for t in targets)
        full = (f"Protecting {counted(len(targets), 'target')}: {names}" if targets
                else "No target is protected now")
        if full == self._full:
            return  # a beat of a target already named: nothing to lay out again
        self._full = full
        self.line.setToolTip(self._full)
        self.line.setAccessibleDescription(self._full)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def unfolded(self) -> bool:
        return self.button.isChecked()

    def set_unfolded(self, unfolded: bool) -> None:
        self.button.setChecked(unfolded)

    def _toggled(self, unfolded: bool) -> None:
        self.button.setText("Hide targets" if unfolded else "Show targets")
        self.toggled.emit(unfolded)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.line.width())
        self.line.setText(self.line.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideRight, width))


class ElidedLabel(QLabel):
    """A one-line label that may be narrower than its text: it is then painted ending in "…",
    with the whole text (still its ``text()``) in its tooltip and accessible description, so
    nothing is lost, only folded."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setText(text)

    def setText(self, text: str) -> None:  # type: ignore[override]
        super().setText(text)
        self.setToolTip(text)
        self.setAccessibleDescription(text)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.fontMetrics().horizontalAdvance("M…") * 4),
                     hint.height())

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def paintEvent(self, event: QPaintEvent) -> None:
        paint_elided(self)


class FittingSlot(QWidget):
    """The room a :class:`SteadyLabel` may take in a row, and no more: the label is right-aligned
    in it and never wider than it (longer text ends in "…", whole in the tooltip).

    The slot, not the label, is what the row lays out: it asks for the label's whole width but
    can be squeezed to :data:`MIN_WIDTH`, so a long line never widens the window, and the label
    stays fixed-size, so a new text of the same shape lays nothing out again.
    """

    MIN_WIDTH = 140
    SPACING = 8

    def __init__(self, label: SteadyLabel, lead: QWidget | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.lead = lead  # a fixed-size widget just left of the text (the state icon)
        label.setParent(self)
        label.installEventFilter(self)
        if lead is not None:
            lead.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def _lead_width(self) -> int:
        return 0 if self.lead is None else self.lead.width() + self.SPACING

    def _height(self) -> int:
        return max(self.label.height(), 0 if self.lead is None else self.lead.height())

    def sizeHint(self) -> QSize:
        return QSize(self._lead_width() + self.label.natural_width(), self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(self._lead_width() + min(self.MIN_WIDTH, self.label.natural_width()),
                     self._height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The label took a new size (a text of another shape, a new font): place it again,
        # and ask the row for another height or width if it now needs one. A resize reaches
        # here whether or not the window is shown yet.
        if watched is self.label and event.type() == QEvent.Type.Resize:
            self._place()
            if self.sizeHint().height() != self.height() or \
                    self.label.natural_width() > self.label.width():
                self.updateGeometry()
        return False

    def _place(self) -> None:
        self.label.set_max_width(max(1, self.width() - self._lead_width()))
        x = self.width() - self.label.width()
        self.label.move(x, (self.height() - self.label.height()) // 2)
        if self.lead is not None:
            self.lead.move(x - self._lead_width(), (self.height() - self.lead.height()) // 2)


class ShortestLeft(QFrame):
    """Above many compact cards: the soonest countdown in large type, and whose it is."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortestLeftPanel")
        self.number = SteadyLabel("—")
        self.number.setObjectName("shortestLeft")
        self.number.setAccessibleName("Shortest time left")
        self.caption = ElidedLabel()
        self.caption.setObjectName("countdownCaption")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self.number)
        layout.addWidget(self.caption, 1, Qt.AlignmentFlag.AlignBottom)

    def show_soonest(self, soonest: tuple[TargetStatus, float] | None) -> None:
        if soonest is None:
            self.number.setText("—")
            self.caption.setText("no countdown is running")
            return
        status, left = soonest
        self.number.setText(format_left(left))
        self.caption.setText(f"shortest time left: {status.target} fires first")


class BottomOverlay(QObject):
    """Keeps ``widget`` floating over the bottom of ``host``, across its width, as tall as its
    contents. Out of the layout, it moves nothing when it comes and goes: a click aimed at STOP
    or a card lands there whatever the messages do. (It covers the journal's last rows while
    shown, which the journal keeps.)"""

    def __init__(self, widget: QWidget, host: QWidget, margin: int = 14) -> None:
        super().__init__(widget)
        self._widget = widget
        self._host = host
        self._margin = margin
        widget.setParent(host)
        host.installEventFilter(self)
        widget.installEventFilter(self)
        self.place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest):
            self.place()
        return False

    def place(self) -> None:
        widget, host, margin = self._widget, self._host, self._margin
        width = max(0, host.width() - 2 * margin)
        layout = widget.layout()
        height = (layout.totalHeightForWidth(width) if layout is not None
                  and layout.hasHeightForWidth() else widget.sizeHint().height())
        height = min(max(0, height), max(0, host.height() - 2 * margin))
        widget.setGeometry(margin, host.height() - margin - height, width, height)
        widget.raise_()
