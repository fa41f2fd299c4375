"""The journal pane: the most recent journal records, newest at the bottom, and its folder.

Records arrive as dicts (from :meth:`Journal.recent` and, live, from the adapter's
``journalRecord`` signal). The pane keeps at most :data:`MAX_ROWS` rows so a long session of
beats costs neither memory nor time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

MAX_ROWS = 500

# Event names as the engine writes them (EventKind values), in words for people.
EVENT_WORDS = {
    "arm": "arm",
    "beat": "beat ok",
    "failure": "beat failed",
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
}
_LOUD = {"fire", "disarm_failed", "error"}
_WARN = {"failure", "degraded", "time_short", "retry", "warning", "clock"}
_QUIET = {"beat", "retry"}


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

        self.table = QTreeWidget()
        self.table.setObjectName("journalTable")
        self.table.setAccessibleName("Recent journal events")
        self.table.setColumnCount(4)
        self.table.setHeaderLabels(["Time", "Event", "Target", "Details"])
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.table.header()
        header.setStretchLastSection(True)
        # Widths from the font, not ResizeToContents: that measures every row again for each
        # record added, which with a beat every few seconds was most of the window's idle CPU.
        # The person can still drag them.
        metrics = self.table.fontMetrics()
        pad = 4 * metrics.averageCharWidth()
        samples = ("88:88:88", max(EVENT_WORDS.values(), key=metrics.horizontalAdvance),
                   "options:BTC_USDT-20241001-46000-C")
        for column, sample in enumerate(samples):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + pad)
        # Records arriving together scroll the view once.
        self._scroll = QTimer(self)
        self._scroll.setSingleShot(True)
        self._scroll.setInterval(0)
        self._scroll.timeout.connect(self.table.scrollToBottom)

        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.show_beats)
        top.addWidget(self.open_folder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    # ------------------------------------------------------------------ records

    def load(self, records: Iterable[dict[str, Any]]) -> None:
        """Replace the rows with ``records`` (oldest first), e.g. ``journal.recent(200)``."""
        self.table.clear()
        for record in records:
            self._append(record, scroll=False)
        self.table.scrollToBottom()

    def add_record(self, record: dict[str, Any]) -> None:
        self._append(record, scroll=True)

    def row_texts(self) -> list[tuple[str, str, str, str]]:
        """What the rows say (for tests and accessibility checks)."""
        rows = []
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            rows.append((item.text(0), item.text(1), item.text(2), item.text(3)))
        return rows

    def _append(self, record: dict[str, Any], *, scroll: bool) -> None:
        event = str(record.get("event", ""))
        ts = record.get("ts")
        when = time.strftime("%H:%M:%S", time.localtime(ts)) if isinstance(
            ts, int | float) else str(record.get("t", ""))[11:19]
        target = str(record.get("target", "") or "")
        message = str(record.get("message", "") or "")
        if target and message.startswith(f"{target}: "):
            message = message[len(target) + 2:]  # the Target column says it already
        item = QTreeWidgetItem([when, EVENT_WORDS.get(event, event), target, message])
        item.setData(0, Qt.ItemDataRole.UserRole, event)
        item.setToolTip(3, message)
        if event in _LOUD:
            brush = QBrush(QColor("#ff7b72"))
            font = item.font(1)
            font.setBold(True)
            for column in range(4):
                item.setForeground(column, brush)
                item.setFont(column, font)
        elif event in _WARN:
            item.setForeground(1, QBrush(QColor("#e3b341")))
        bar = self.table.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        self.table.addTopLevelItem(item)
        item.setHidden(event in _QUIET and not self.show_beats.isChecked())
        overflow = self.table.topLevelItemCount() - MAX_ROWS
        for _ in range(max(0, overflow)):
            self.table.takeTopLevelItem(0)
        if scroll and at_bottom:
            self._scroll.start()

    def _apply_filter(self, show: bool) -> None:
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) in _QUIET:
                item.setHidden(not show)
        self.table.scrollToBottom()

    # ------------------------------------------------------------------ folder

    def open_journal_folder(self) -> None:
        self.openFolderRequested.emit()
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.directory)))
