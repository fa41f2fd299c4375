"""The journal pane: the most recent journal records, newest at the bottom, and its folder.

Records arrive as dicts (from :meth:`Journal.recent` and, live, from the adapter's
``journalRecord`` signal). The pane keeps at most :data:`MAX_ROWS` rows so a long session of
beats costs neither memory nor time.

With a beat record every second or so this pane was about a third of the window's idle CPU,
and most of that was painting, not layout: after any change an item view repaints its whole
viewport (with the style sheet's border on the table, the pane under it too), about 1.5 ms a
record. Now a record costs about 0.2 ms (offscreen, 500 rows; see :meth:`JournalView.add_rows`):

* records arriving together (one turn of the event loop: a burst of arming, a stop) are
  added in one go, and not at all while the pane is off screen. A record on its own is added
  in the same turn it came in, so its rows are painted with the card its beat changed: a
  timer of its own would wake the app once more per beat, which costs more than the rows;
* the model (:class:`JournalModel`) appends at the end and drops at the front, and the view
  (:class:`JournalView`, a ``QTableView`` with one fixed row height) measures no row;
* the view scrolls the pixels already painted and paints only the new rows.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QHideEvent,
    QPalette,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

MAX_ROWS = 500

# Event names as the engine writes them (EventKind values), in words for people.
EVENT_WORDS = {
    "arm": "arm",
    "beat": "beat ok",
    "failure": "beat failed",
    "overdue": "no answer yet",
    "retry": "retry",
    "degraded": "degraded",
    "time_short": "time short",
    "fire": "FIRED",
    "stop": "stopping",
    "disarmed": "disarmed",
    "disarm_failed": "STOP FAILED",
    "error": "ERROR",
    "cancel_now": "cancel now",
    "clock": "clock",
    "warning": "warning",
    "left_armed": "LEFT ARMED",
    "reconcile": "found on start",
    "resume": "resume",
    "start": "app start",
    "exit": "app exit",
}
_LOUD = {"fire", "disarm_failed", "error"}
_WARN = {"failure", "overdue", "degraded", "time_short", "retry", "warning", "clock",
         "left_armed", "reconcile"}
_QUIET = {"beat", "retry"}

HEADERS = ("Time", "Event", "Target", "Details")
# The loud and warning rows' text, per scheme: each keeps WCAG AA contrast (4.5:1) on the
# table's base and its stripe (tests/gui/test_theme.py).
LOUD_COLORS = {"light": "#b3261e", "dark": "#ff8a80"}
WARN_COLORS = {"light": "#8a4f00", "dark": "#ffc14d"}
_EVENT = 1
_DETAILS = 3
# Following the end means being this close to it: a last row shown but for a pixel or two.
_BOTTOM_SLACK_PX = 4

# data() is called from C++ for seven roles of every cell painted: plain ints compare fastest.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_USER = int(Qt.ItemDataRole.UserRole)


class Row(NamedTuple):
    """One record as the table shows it."""

    texts: tuple[str, str, str, str]
    event: str
    loud: bool
    warn: bool
    quiet: bool


def row_for(record: dict[str, Any]) -> Row:
    """The table row for a journal record: time, event in words, target, message."""
    event = str(record.get("event", ""))
    ts = record.get("ts")
    when = time.strftime("%H:%M:%S", time.localtime(ts)) if isinstance(
        ts, int | float) else str(record.get("t", ""))[11:19]
    target = str(record.get("target", "") or "")
    message = str(record.get("message", "") or "")
    if target and message.startswith(f"{target}: "):
        message = message[len(target) + 2:]  # the Target column says it already
    profile = record.get("profile")
    if profile:
        # The window and runners of several profiles may share one journal.
        message = f"[{profile}] {message}"
    return Row((when, EVENT_WORDS.get(event, event), target, message), event,
               event in _LOUD, event in _WARN, event in _QUIET)


class JournalModel(QAbstractTableModel):
    """The last :data:`MAX_ROWS` rows; exposes all of them, or all but the routine ones.

    Rows are only added at the end and dropped at the front, so a view hears of a batch as at
    most one removal and one insertion; only changing the filter resets the model.

    Shown rows alternate in colour by a stripe each keeps from when it was added, not by its
    row number: dropping one row at the front then leaves every other row as it was painted,
    which is what lets :class:`JournalView` scroll pixels instead of painting them again.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []  # every kept row, oldest first
        self._shown: list[Row] = []  # what the view sees: all rows, or all but the quiet ones
        self._striped: list[bool] = []  # per shown row: drawn in the alternate colour
        self._show_quiet = True
        self._loud_brush = QBrush(QColor(LOUD_COLORS["light"]))
        self._warn_brush = QBrush(QColor(WARN_COLORS["light"]))
        self._stripe_brush = QBrush(QColor("#f5f6f8"))  # the theme's AlternateBase, until set_look
        self._loud_font = QFont()
        self._loud_font.setBold(True)

    def set_look(self, font: QFont, stripe: QBrush, scheme: str = "light") -> None:
        """Loud rows in bold of the view's font; the stripe in the view's alternate colour;
        loud and warning text in the colours of the scheme ('light' or 'dark')."""
        self._loud_font = QFont(font)
        self._loud_font.setBold(True)
        self._stripe_brush = QBrush(stripe)
        self._loud_brush = QBrush(QColor(LOUD_COLORS[scheme]))
        self._warn_brush = QBrush(QColor(WARN_COLORS[scheme]))

    # ------------------------------------------------------------------ Qt model

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        if role == _DISPLAY:
            return self._shown[index.row()].texts[index.column()]
        if role == _FOREGROUND:
            row = self._shown[index.row()]
            if row.loud:
                return self._loud_brush
            if row.warn and index.column() == _EVENT:
                return self._warn_brush
            return None
        if role == _BACKGROUND:
            return self._stripe_brush if self._striped[index.row()] else None
        if role == _FONT:
            return self._loud_font if self._shown[index.row()].loud else None
        if role == _TOOLTIP and index.column() == _DETAILS:
            return self._shown[index.row()].texts[_DETAILS]  # however narrow the column
        if role == _USER:
            return self._shown[index.row()].event
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = _DISPLAY) -> Any:
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None

    # ------------------------------------------------------------------ rows

    def texts(self) -> list[tuple[str, str, str, str]]:
        return [row.texts for row in self._shown]

    def replace(self, rows: Iterable[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)[-MAX_ROWS:]
        self._rebuild_shown()
        self.endResetModel()

    def set_show_quiet(self, show: bool) -> None:
        if show == self._show_quiet:
            return
        self.beginResetModel()
        self._show_quiet = show
        self._rebuild_shown()
        self.endResetModel()

    def shown_dropped_by(self, count: int) -> int:
        """How many shown rows appending ``count`` rows would drop from the front."""
        overflow = len(self._rows) + min(count, MAX_ROWS) - MAX_ROWS
        return len(self._visible(self._rows[:overflow])) if overflow > 0 else 0

    def append(self, rows: Sequence[Row]) -> int:
        """Add ``rows`` at the end and drop the oldest beyond :data:`MAX_ROWS`.

        Returns the model row of the first added row that is shown (the row count if none is).
        """
        rows = rows[-MAX_ROWS:]
        overflow = len(self._rows) + len(rows) - MAX_ROWS
        if overflow > 0:
            # The shown rows are an ordered subset of all rows: the dropped ones that were shown
            # are the first few shown.
            dropped = len(self._visible(self._rows[:overflow]))
            del self._rows[:overflow]
            if dropped:
                self.beginRemoveRows(QModelIndex(), 0, dropped - 1)
                del self._shown[:dropped]
                del self._striped[:dropped]
                self.endRemoveRows()
        self._rows.extend(rows)
        added = self._visible(rows)
        first = len(self._shown)
        if added:
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            stripe = bool(self._striped) and not self._striped[-1]
            for _ in added:
                self._striped.append(stripe)
                stripe = not stripe
            self._shown.extend(added)
            self.endInsertRows()
        return first

    def _rebuild_shown(self) -> None:
        self._shown = self._visible(self._rows)
        self._striped = [i % 2 == 1 for i in range(len(self._shown))]

    def _visible(self, rows: Sequence[Row]) -> list[Row]:
        if self._show_quiet:
            return list(rows)
        return [row for row in rows if not row.quiet]


class JournalView(QTableView):
    """A table view that, when rows are added at the end, paints only those rows.

    A ``QTableView`` lays out and repaints its whole viewport after any insertion or removal.
    :meth:`add_rows` instead works out how far the rows on screen moved, moves the scroll
    offset without touching the pixels, and then scrolls the pixels once by that distance:
    Qt copies them and paints only the strip uncovered. While the view follows the end of a
    full table the scroll bar does not even change. Everything else (resizing, resetting,
    selecting, the person scrolling) goes through ``QTableView`` unchanged.
    """

    followingChanged = Signal(bool)

    def __init__(self, model: JournalModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._journal = model
        self._quiet_layout = False  # inside add_rows: lay out without repainting everything
        self._offset_only = False  # inside add_rows: the offset moves, the pixels stay
        # Whether new rows scroll into view: what the person last chose by scrolling, not
        # where the bar happens to be, which moves when the view is resized.
        self._following = True
        self.setModel(model)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._range_changed)

    @property
    def following(self) -> bool:
        return self._following

    def follow(self) -> None:
        """Follow the end again: scroll to it, and keep to it as rows come."""
        self._set_following(True)
        self.scrollToBottom()

    def _set_following(self, following: bool) -> None:
        if following != self._following:
            self._following = following
            self.followingChanged.emit(following)

    def _scrolled(self, value: int) -> None:
        if self._offset_only:
            return  # add_rows moving the offset, not the person
        self._set_following(value >= self.verticalScrollBar().maximum() - _BOTTOM_SLACK_PX)

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        if self._following and not self._offset_only:
            self.verticalScrollBar().setValue(maximum)  # a resize keeps the end in view

    def add_rows(self, rows: Sequence[Row]) -> None:
        """Append ``rows`` to the model; follow the end if the view was at it, else stay put."""
        bar = self.verticalScrollBar()
        before = bar.value()
        follow = self._following
        # Rows dropped at the front move every other row up in the model by as many rows.
        moved_up = self._journal.shown_dropped_by(len(rows)) * self.rowHeight(0)
        self._quiet_layout = self._offset_only = True
        try:
            first = self._journal.append(rows)
            self.executeDelayedItemsLayout()  # the new scroll range, nothing repainted
            if follow:
                bar.setValue(bar.maximum())
            elif moved_up:
                bar.setValue(before - moved_up)  # what the person reads stays where it is
        finally:
            self._quiet_layout = self._offset_only = False
        viewport = self.viewport()
        # How far what was on screen moved up: Qt copies the pixels and paints the rest.
        shift = bar.value() - before + moved_up
        if shift:
            viewport.scroll(0, -shift)
        # New rows shown without scrolling (while the table does not fill the view).
        top = max(0, self.rowViewportPosition(first))
        if first < self._journal.rowCount() and top < viewport.height():
            viewport.update(QRect(0, top, viewport.width(), viewport.height() - top))

    def doItemsLayout(self) -> None:
        if not self._quiet_layout:
            super().doItemsLayout()
            return
        # What QTableView.doItemsLayout does, less repainting the whole viewport.
        self.updateGeometries()
        rows = self.verticalHeader()
        rows.setOffset(self.verticalScrollBar().value())
        if not rows.updatesEnabled():  # QTableView turns them off while rows are removed
            rows.setUpdatesEnabled(True)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        if self._offset_only and not dx:
            self.verticalHeader().setOffset(self.verticalScrollBar().value())
            return
        super().scrollContentsBy(dx, dy)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange:  # polished again, e.g. on a new parent
            self.keep_viewport_opaque()
            self.keep_scroll_bar_opaque()

    def keep_viewport_opaque(self) -> None:
        """Undo what the style sheet's border on ``#journalTable`` does to the viewport.

        The style sheet style turns the viewport's background fill off under any rule with a
        border, so that a rule's background would show through. This rule has none, and the
        pixels are the same either way, but only an opaque viewport is scrolled by copying
        pixels: otherwise Qt repaints all of it, and the table and the pane under it too.
        """
        self.viewport().setAutoFillBackground(True)

    def keep_scroll_bar_opaque(self) -> None:
        """Fill the vertical scroll bar with the table's background before it draws itself.

        While records arrive the scroll range grows, and the bar repaints with each one. The
        style's bar is partly see-through, so Qt repainted every widget behind it as well, up to
        the window: ten paints, tall enough that Qt splits their fills over its thread pool.
        Filled first with the colour the table paints there, the bar is opaque and repaints
        alone; its pixels differ by two levels at most where its outline is translucent.
        """
        self.verticalScrollBar().setAutoFillBackground(True)


class JournalPane(QWidget):
    """A table of recent journal records and an "Open journal folder" button."""

    openFolderRequested = Signal()

    def __init__(self, directory: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.directory = directory
        title = QLabel("JOURNAL")
        title.setObjectName("sectionTitle")
        self.show_beats = QCheckBox("Show every beat")
        self.show_beats.setChecked(True)
        self.show_beats.setToolTip("Hide the routine 'beat ok' and 'retry' lines.")
        self.show_beats.toggled.connect(self._apply_filter)
        self.open_folder = QPushButton("Open journal folder")
        self.open_folder.setAccessibleName("Open the journal's folder")
        self.open_folder.setToolTip(str(directory) if directory else "")
        self.open_folder.clicked.connect(self.open_journal_folder)
        # Said when the person scrolled up: new rows then arrive out of sight.
        self.follow_button = QPushButton("Not following new rows — show the newest")
        self.follow_button.setObjectName("journalFollow")
        self.follow_button.setAccessibleName("Scroll the journal to the newest rows and follow")
        self.follow_button.setAutoDefault(False)
        self.follow_button.hide()

        self.model = JournalModel(self)
        self.table = JournalView(self.model)
        self.table.setObjectName("journalTable")
        self.table.setAccessibleName("Recent journal events")
        self._set_up_table()
        self.follow_button.clicked.connect(self._follow)
        self.table.followingChanged.connect(self._following_changed)

        # Records not yet in the model; more than MAX_ROWS would be dropped at once anyway.
        self._pending: deque[Row] = deque(maxlen=MAX_ROWS)
        self._batch = QTimer(self)
        self._batch.setSingleShot(True)
        self._batch.setInterval(0)
        self._batch.timeout.connect(self._flush)
        # From hideEvent to showEvent (hidden to the tray, or minimised) records are only
        # stored: a table nobody sees need not be laid out or painted.
        self._on_screen = False

        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.follow_button)
        top.addWidget(self.show_beats)
        top.addWidget(self.open_folder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def _set_look(self) -> None:
        palette = self.table.palette()
        dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
        self.model.set_look(self.table.font(), palette.brush(QPalette.ColorRole.AlternateBase),
                            "dark" if dark else "light")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # The theme switched: the stripe and the loud and warning colours follow it.
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) \
                and hasattr(self, "table"):
            self._set_look()
            self.table.viewport().update()

    def _set_up_table(self) -> None:
        table = self.table
        # Applies the style sheet's font for #journalTable, so that what follows measures it.
        table.ensurePolished()
        table.keep_viewport_opaque()
        table.keep_scroll_bar_opaque()
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setCornerButtonEnabled(False)
        table.setTabKeyNavigation(False)  # Tab leaves the table, as it left the tree before
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Alternating colours come from the model (see JournalModel): the view's own go by
        # row number, and all of them would flip each time one row is dropped at the front.
        table.setAlternatingRowColors(False)
        font = table.font()
        self._set_look()
        bold = QFont(font)
        bold.setBold(True)
        metrics = table.fontMetrics()

        # One fixed height for every row, from the font: no row is measured.
        rows = table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        row_height = max(metrics.height(), QFontMetrics(bold).height())
        rows.setMinimumSectionSize(row_height)
        rows.setDefaultSectionSize(row_height)

        header = table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setSectionsClickable(False)
        header.setStretchLastSection(True)
        # Widths from the font, not ResizeToContents: that measures every row again for each
        # record added. The person can still drag them.
        pad = 4 * metrics.averageCharWidth()
        samples = ("88:88:88", max(EVENT_WORDS.values(), key=metrics.horizontalAdvance),
                   "options:BTC_USDT-20241001-46000-C")
        for column, sample in enumerate(samples):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + pad)

    # ------------------------------------------------------------------ records

    def load(self, records: Iterable[dict[str, Any]]) -> None:
        """Replace the rows with ``records`` (oldest first), e.g. ``journal.recent(200)``."""
        # What is pending would be replaced as well: drop it rather than add it first, and stop
        # the timer so that it cannot add it after the loaded rows.
        self._pending.clear()
        self._batch.stop()
        self.model.replace(row_for(record) for record in records)
        self.table.scrollToBottom()

    def add_record(self, record: dict[str, Any]) -> None:
        row = row_for(record)
        self._pending.append(row)
        if not self._on_screen:
            return
        if row.loud:
            self._flush()  # a firing or an error is shown at once, after what came before it
        elif not self._batch.isActive():
            self._batch.start()  # once the records arriving in this turn are all in

    def row_texts(self) -> list[tuple[str, str, str, str]]:
        """What the shown rows say, oldest first (for tests and accessibility checks)."""
        self._flush()
        return self.model.texts()

    def _flush(self) -> None:
        self._batch.stop()
        if not self._pending:
            return
        rows = list(self._pending)
        self._pending.clear()
        self.table.add_rows(rows)

    def _follow(self) -> None:
        self.table.follow()

    def _following_changed(self, following: bool) -> None:
        self.follow_button.setVisible(not following)

    def _apply_filter(self, show: bool) -> None:
        self._flush()
        self.model.set_show_quiet(show)
        self.table.scrollToBottom()

    # ------------------------------------------------------------------ visibility

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._on_screen = True
        self._flush()

    def hideEvent(self, event: QHideEvent) -> None:
        # Sent too, as a spontaneous event, when the window is minimised (and showEvent when
        # it is restored), though isVisible() stays true.
        super().hideEvent(event)
        self._on_screen = False
        self._batch.stop()

    # ------------------------------------------------------------------ folder

    def open_journal_folder(self) -> None:
        self.openFolderRequested.emit()
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.directory))):
            # No file manager to open it with: say where it is, rather than nothing.
            box = QMessageBox(QMessageBox.Icon.Information, "Journal folder",
                              f"The journal is in:\n{self.directory}",
                              QMessageBox.StandardButton.Close, self)
            box.setObjectName("journalFolderPath")
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.open()
