"""Widgets that paint themselves: a label whose size never jumps as its digits change, and the
countdown's drain bar.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import Property, QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QLabel,
    QSizePolicy,
    QWidget,
)

_DIGIT = re.compile(r"\d")


def paint_elided(label: QLabel) -> None:
    """Paint ``label``'s text on one line, ending in "…" where its width runs out."""
    painter = QPainter(label)
    rect = label.contentsRect()
    shown = label.fontMetrics().elidedText(label.text(), Qt.TextElideMode.ElideRight,
                                           rect.width())
    label.style().drawItemText(painter, rect, int(label.alignment()), label.palette(),
                               label.isEnabled(), shown, label.foregroundRole())


#: (font, shape) → the largest size of a text of that shape; two hundred cards share a font
_shape_sizes: dict[tuple[str, str], tuple[int, int]] = {}


class SteadyLabel(QLabel):
    """A one-line label for text that ticks: a countdown, an age, a clock time.

    Its size is fixed to the shape of its text, every digit counted as the widest one, so a new
    number of the same shape ("41 s" after "42 s"; not "9 s" after "10 s") does not resize it. A
    label whose size may change makes its card, the grid and the window lay themselves out again
    at every new text: Qt stops that climb only at a fixed-size widget (QWidget::updateGeometry).

    With ``grow_only`` it never narrows: for a value left-aligned in a column that has the room
    anyway, so that "just now", "8 s ago" and "12 s ago" after each beat are not three layouts.

    Given a backdrop (:meth:`set_backdrop`, the colour behind it), it paints that first and is
    opaque, so a new text repaints this label alone: a see-through one makes Qt repaint every
    widget behind it, up to the window.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 grow_only: bool = False) -> None:
        super().__init__(parent)
        self._shape: str | None = None
        self._grow_only = grow_only
        self._width = 0
        self._max_width: int | None = None
        self._backdrop: QColor | None = None
        self.setText(text)

    def natural_width(self) -> int:
        """The width of the text's shape, whatever :meth:`set_max_width` allows."""
        return self._width

    def set_max_width(self, width: int | None) -> None:
        """At most ``width`` wide (None: no limit); a longer text is painted ending in "…",
        with the whole text in the tooltip. Still a fixed size: a new text of the same shape
        lays nothing out again."""
        if width != self._max_width:
            self._max_width = width
            self._fit()

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def setText(self, text: str) -> None:
        shape = _DIGIT.sub("0", text)
        if shape != self._shape:
            self._shape = shape
            self._fit()
        super().setText(text)
        if self._max_width is not None:  # the whole line on hover, when it is folded
            self.setToolTip(text if self.is_elided() else "")

    @property
    def backdrop(self) -> QColor | None:
        return None if self._backdrop is None else QColor(self._backdrop)

    def set_backdrop(self, color: QColor | None) -> None:
        """Paint ``color`` behind the text (opaque), or nothing (see-through) when None."""
        if color is not None and color.alpha() < 255:
            color = None
        if color != self._backdrop:
            self._backdrop = None if color is None else QColor(color)
            self.update()
        self._hold_opaque()

    def _hold_opaque(self) -> None:
        # Polishing by the style sheet clears WA_OpaquePaintEvent (a label in a card has a
        # transparent background there): it is set again after every polish.
        opaque = self._backdrop is not None
        if self.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent) != opaque:
            self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, opaque)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.Polish:
            self._hold_opaque()
        return handled

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._backdrop is not None:
            painter = QPainter(self)
            painter.fillRect(event.rect(), self._backdrop)
            painter.end()
        if self._max_width is not None and self.is_elided():
            paint_elided(self)
            return
        super().paintEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # The style sheet sets the font and padding when it polishes the label, after the
        # first text: measure again.
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange,
                            QEvent.Type.ContentsRectChange):
            self._width = 0
            self._fit()
            self._hold_opaque()

    def _fit(self) -> None:
        shape = self._shape or ""
        key = (self.font().key(), shape)
        size = _shape_sizes.get(key)
        if size is None:
            # Measured as QLabel measures its size hint, for the widest digit in every place.
            metrics = self.fontMetrics()
            sizes = [metrics.size(0, shape.replace("0", digit)) for digit in
                     ("0123456789" if "0" in shape else "0")]
            size = max(s.width() for s in sizes), max(s.height() for s in sizes)
            if len(_shape_sizes) > 1000:  # the summary line names targets: keep it bounded
                _shape_sizes.clear()
            _shape_sizes[key] = size
        margins = self.contentsMargins()
        extra = 2 * max(0, self.margin())
        width = size[0] + margins.left() + margins.right() + extra
        self._width = max(width, self._width) if self._grow_only else width
        shown = self._width if self._max_width is None else min(self._width, self._max_width)
        self.setFixedSize(shown, size[1] + margins.top() + margins.bottom() + extra)
        if self._max_width is not None:
            self.setToolTip(self.text() if self.is_elided() else "")


def _color_property(attribute: str) -> Property:
    def get(bar: DrainBar) -> QColor:
        return QColor(getattr(bar, attribute))

    def set_(bar: DrainBar, color: QColor) -> None:
        if QColor(color) != getattr(bar, attribute):
            setattr(bar, attribute, QColor(color))
            bar.update()

    return Property(QColor, get, set_)


class DrainBar(QWidget):
    """The share of the countdown left, under the big number: it drains, and refills at a beat.

    Painted here rather than by a styled QProgressBar, which repaints itself at once on every
    new value, and with it everything behind it (it is see-through). This bar asks for a paint
    only when its fill moves by a device pixel, and paints every one of its pixels (the backdrop,
    the card's background, in its rounded ends), so Qt repaints nothing behind it. Its colours
    come from the style sheet (``qproperty-fillColor``, ``qproperty-trackColor``, by its
    ``state`` property), or from the palette without one.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(6)
        palette = self.palette()
        self._backdrop = palette.color(QPalette.ColorRole.Window)
        self._track = palette.color(QPalette.ColorRole.Midlight)
        self._fill = palette.color(QPalette.ColorRole.Highlight)
        self._share = 0.0
        self._fill_px = 0

    @property
    def share(self) -> float:
        """The share of the countdown left that the bar shows, 0 to 1."""
        return self._share

    @property
    def fill_px(self) -> int:
        """How many device pixels of the bar are filled."""
        return self._fill_px

    def set_share(self, share: float) -> None:
        self._share = max(0.0, min(1.0, share))
        self._refit()
        # What a QProgressBar would tell a screen reader.
        percent = f"{math.ceil(self._share * 100)} %"
        if self.accessibleDescription() != percent:
            self.setAccessibleDescription(percent)

    @property
    def backdrop(self) -> QColor:
        return QColor(self._backdrop)

    def set_backdrop(self, color: QColor) -> None:
        """The colour behind the bar, painted in its rounded ends."""
        if color != self._backdrop:
            self._backdrop = QColor(color)
            self.update()

    def _refit(self) -> None:
        fill_px = round(self._share * self.width() * self.devicePixelRatioF())
        if fill_px != self._fill_px:
            self._fill_px = fill_px
            self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refit()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.fillRect(rect, self._backdrop)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        radius = rect.height() / 2
        track = QPainterPath()
        track.addRoundedRect(rect, radius, radius)
        painter.fillPath(track, self._track)
        if self._fill_px > 0:
            painter.setClipPath(track)
            width = self._fill_px / self.devicePixelRatioF()
            painter.fillRect(QRectF(rect.left(), rect.top(), width, rect.height()), self._fill)
        painter.end()

    # Set by the style sheet (qproperty-...) when it polishes the bar, by its state.
    trackColor = _color_property("_track")
    fillColor = _color_property("_fill")
