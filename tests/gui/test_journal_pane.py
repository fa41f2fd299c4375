"""The journal pane: follows new records unless the person scrolled up to read, adds records in
batches, filters the routine ones, keeps the newest MAX_ROWS, and paints only what changed."""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QFrame, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from gui.resources import resource_path
from gui.window.journal_pane import LOUD_COLORS, MAX_ROWS, WARN_COLORS, JournalPane


def record(i: int, event: str = "beat") -> dict[str, object]:
    return {"ts": 1_760_000_000 + i, "event": event, "target": "spot:BTC_USDT",
            "message": f"spot:BTC_USDT: beat ok, {i} s left"}


def shown_pane(qtbot: QtBot, *, themed: bool = False) -> JournalPane:
    pane = JournalPane()
    qtbot.addWidget(pane)
    if themed:  # the app's style sheet: its border on the table changes how the view paints
        pane.setStyleSheet(resource_path("style.qss").read_text(encoding="utf-8"))
    pane.resize(600, 200)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def data(pane: JournalPane, row: int, column: int, role: Qt.ItemDataRole) -> object:
    return pane.model.data(pane.model.index(row, column), role)


def test_new_records_scroll_into_view_unless_the_person_scrolled_up(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    bar = pane.table.verticalScrollBar()
    for i in range(60):
        pane.add_record(record(i))
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())

    bar.setValue(0)  # reading something older
    for i in range(60, 70):
        pane.add_record(record(i))
    qtbot.waitUntil(lambda: pane.model.rowCount() == 70)
    assert bar.value() == 0
    assert pane.row_texts()[-1][3] == "beat ok, 69 s left"

    bar.setValue(bar.maximum())  # back at the end: following again
    pane.add_record(record(70))
    qtbot.waitUntil(lambda: pane.model.rowCount() == 71 and bar.value() == bar.maximum())
    assert pane.model.rowCount() == 71 <= MAX_ROWS


def test_columns_fit_the_longest_target_without_measuring_every_row(qtbot: QtBot) -> None:
    pane = JournalPane()
    qtbot.addWidget(pane)
    pane.add_record({"ts": 1_760_000_000, "event": "fired",
                     "target": "options:BTC_USDT-20241001-46000-C", "message": "fired"})
    metrics = pane.table.fontMetrics()
    header = pane.table.horizontalHeader()
    assert header.sectionSize(2) >= metrics.horizontalAdvance("options:BTC_USDT-20241001-46000-C")
    assert header.sectionSize(0) >= metrics.horizontalAdvance("88:88:88")


def test_records_arriving_together_are_added_in_one_insertion(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    inserted: list[tuple[int, int]] = []
    pane.model.rowsInserted.connect(
        lambda _parent, first, last: inserted.append((first, last)))
    for i in range(25):
        pane.add_record(record(i))
    assert pane.model.rowCount() == 0  # waiting for the batch timer
    qtbot.waitUntil(lambda: pane.model.rowCount() == 25)
    assert inserted == [(0, 24)]
    assert pane.row_texts()[-1][3] == "beat ok, 24 s left"


def test_a_record_on_its_own_is_added_as_soon_as_the_loop_turns(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    pane.add_record(record(0))
    assert pane.model.rowCount() == 0
    assert pane._batch.isActive() and pane._batch.interval() == 0
    qtbot.waitUntil(lambda: pane.model.rowCount() == 1)
    pane.add_record(record(1))
    qtbot.waitUntil(lambda: pane.model.rowCount() == 2)


def test_a_loud_record_is_added_at_once_with_what_came_before_it(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    inserted: list[tuple[int, int]] = []
    pane.model.rowsInserted.connect(
        lambda _parent, first, last: inserted.append((first, last)))
    pane.add_record(record(0))
    pane.add_record(record(1))
    pane.add_record(record(2, "fire"))
    # No event processed, no timer run: the firing is in the model already.
    assert inserted == [(0, 2)]
    assert data(pane, 2, 1, Qt.ItemDataRole.DisplayRole) == "FIRED"
    assert data(pane, 0, 3, Qt.ItemDataRole.DisplayRole) == "beat ok, 0 s left"


def test_row_texts_and_load_apply_what_is_pending(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    pane.add_record(record(0))
    assert pane.model.rowCount() == 0
    assert [row[3] for row in pane.row_texts()] == ["beat ok, 0 s left"]

    pane.add_record(record(1))
    pane.load([record(10), record(11)])
    assert not pane._batch.isActive()  # the record pending before load cannot come back
    assert [row[3] for row in pane.row_texts()] == ["beat ok, 10 s left", "beat ok, 11 s left"]


def test_show_every_beat_hides_and_restores_the_routine_rows_in_order(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    events = ["arm", "beat", "retry", "failure", "beat", "fire", "retry", "disarmed"]
    pane.load([record(i, event) for i, event in enumerate(events)])
    everything = [row[1] for row in pane.row_texts()]
    assert everything == ["arm", "beat ok", "retry", "beat failed", "beat ok", "FIRED",
                          "retry", "disarmed"]

    pane.show_beats.setChecked(False)
    assert [row[1] for row in pane.row_texts()] == ["arm", "beat failed", "FIRED", "disarmed"]
    pane.add_record(record(8))  # a beat while hidden: kept, not shown
    pane.add_record(record(9, "stop"))
    assert [row[1] for row in pane.row_texts()] == ["arm", "beat failed", "FIRED", "disarmed",
                                                    "stopping"]

    pane.show_beats.setChecked(True)
    assert [row[1] for row in pane.row_texts()] == [*everything, "beat ok", "stopping"]


def test_the_newest_max_rows_are_kept(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    pane.load([record(i) for i in range(MAX_ROWS + 5)])
    rows = pane.row_texts()
    assert len(rows) == MAX_ROWS
    assert rows[0][3] == "beat ok, 5 s left"

    total = MAX_ROWS + 5 + 3 * 17
    for i in range(MAX_ROWS + 5, total):
        pane.add_record(record(i))
        if i % 17 == 0:
            pane.row_texts()  # batches of various sizes
    rows = pane.row_texts()
    assert len(rows) == pane.model.rowCount() == MAX_ROWS
    assert rows[0][3] == f"beat ok, {total - MAX_ROWS} s left"
    assert rows[-1][3] == f"beat ok, {total - 1} s left"

    # With the routine rows hidden, the cap still counts them: the newest MAX_ROWS records.
    pane.show_beats.setChecked(False)
    pane.add_record(record(total, "arm"))
    assert [row[3] for row in pane.row_texts()] == [f"beat ok, {total} s left"]


def test_loud_rows_are_red_and_bold_and_warnings_amber(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    pane.load([record(0), record(1, "error"), record(2, "retry")])
    foreground = Qt.ItemDataRole.ForegroundRole
    font = Qt.ItemDataRole.FontRole
    for column in range(4):
        brush = data(pane, 1, column, foreground)
        assert brush.color().name() == LOUD_COLORS["light"]  # type: ignore[attr-defined]
        assert data(pane, 1, column, font).bold()  # type: ignore[attr-defined]
        assert data(pane, 0, column, foreground) is None
        assert data(pane, 0, column, font) is None
        assert data(pane, 2, column, font) is None
    assert data(pane, 2, 1, foreground).color().name() == WARN_COLORS["light"]  # type: ignore[attr-defined]
    assert data(pane, 2, 0, foreground) is None
    assert data(pane, 0, 3, Qt.ItemDataRole.ToolTipRole) == "beat ok, 0 s left"
    assert data(pane, 0, 0, Qt.ItemDataRole.ToolTipRole) is None


def test_the_table_is_set_up_as_the_tree_was(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot, themed=True)
    table = pane.table
    assert table.objectName() == "journalTable"
    assert table.accessibleName() == "Recent journal events"
    assert [pane.model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == [
        "Time", "Event", "Target", "Details"]
    assert table.verticalHeader().isHidden()
    assert not table.showGrid() and not table.wordWrap() and not table.tabKeyNavigation()
    assert table.horizontalHeader().stretchLastSection()
    assert table.font().pixelSize() == 12  # the style sheet's rule for #journalTable applies
    # Rows alternate in colour, and a row keeps its colour when the oldest rows are dropped.
    pane.load([record(i) for i in range(MAX_ROWS)])
    stripes = [data(pane, row, 0, Qt.ItemDataRole.BackgroundRole) is not None
               for row in range(4)]
    assert stripes in ([False, True, False, True], [True, False, True, False])
    for i in range(MAX_ROWS, MAX_ROWS + 3):
        pane.add_record(record(i))
        pane.row_texts()
    assert [data(pane, row, 0, Qt.ItemDataRole.BackgroundRole) is not None
            for row in range(3)] == stripes[3:] + stripes[:2]
    striped = [data(pane, row, 0, Qt.ItemDataRole.BackgroundRole) is not None
               for row in range(MAX_ROWS)]
    assert all(a != b for a, b in pairwise(striped))


def test_the_reading_position_stays_when_the_oldest_rows_are_dropped(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    table = pane.table
    pane.load([record(i) for i in range(MAX_ROWS)])
    bar = table.verticalScrollBar()
    bar.setValue(bar.maximum() // 2 + 5)  # reading in the middle, a row partly scrolled off
    top = table.indexAt(QPoint(1, 1)).row()
    reading = pane.row_texts()[top]
    position = table.rowViewportPosition(top)

    for i in range(MAX_ROWS, MAX_ROWS + 30):
        pane.add_record(record(i))
    qtbot.waitUntil(lambda: pane.row_texts()[-1][3] == f"beat ok, {MAX_ROWS + 29} s left")
    now_top = table.indexAt(QPoint(1, 1)).row()
    assert pane.row_texts()[now_top] == reading
    assert table.rowViewportPosition(now_top) == position
    assert bar.value() < bar.maximum()


def test_records_are_only_stored_while_the_pane_is_hidden(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    pane.hide()
    pane.add_record(record(0))
    pane.add_record(record(1, "fire"))
    assert pane.model.rowCount() == 0
    assert not pane._batch.isActive()
    pane.show()
    assert pane.model.rowCount() == 2


def on_screen(widget: QWidget) -> QImage:
    """What the window's backing store holds for ``widget`` (offscreen grabs read it)."""
    window = widget.window()
    corner = widget.mapTo(window, QPoint(0, 0))
    shot = window.screen().grabWindow(window.winId(), corner.x(), corner.y(),
                                      widget.width(), widget.height())
    return shot.toImage().convertToFormat(QImage.Format.Format_RGB32)


def painted_afresh(widget: QWidget) -> QImage:
    return widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def test_what_is_on_screen_after_each_batch_is_what_a_full_repaint_draws(qtbot: QtBot) -> None:
    # The view scrolls painted pixels and paints only new rows: any mistake in that leaves
    # stale or shifted rows on screen, which a fresh paint of the viewport would not show.
    pane = shown_pane(qtbot, themed=True)
    table = pane.table
    viewport = table.viewport()
    assert viewport.autoFillBackground()  # opaque, so Qt scrolls it by copying pixels
    bar = table.verticalScrollBar()

    def settled() -> None:
        qtbot.waitUntil(lambda: on_screen(viewport) == painted_afresh(viewport))

    events = ["beat", "beat", "retry", "arm", "beat", "failure", "beat", "error"]
    n = 0

    def add(count: int) -> None:
        nonlocal n
        for _ in range(count):
            pane.add_record(record(n, events[n % len(events)]))
            n += 1
        pane.row_texts()

    add(3)  # a table shorter than the view
    settled()
    for count in (1, 2, 7, 30):  # growing, following the end
        add(count)
        settled()
    pane.load([record(i, events[i % len(events)]) for i in range(MAX_ROWS)])
    n = MAX_ROWS
    settled()
    for count in (1, 3, 1, 40):  # full: the oldest rows go
        add(count)
        assert bar.value() == bar.maximum()
        settled()
    bar.setValue(bar.maximum() // 3 + 7)  # scrolled up to read
    settled()
    for count in (1, 5, 2):
        add(count)
        settled()
    bar.setValue(2)  # at the top: some of the rows on screen go
    for count in (1, 20):
        add(count)
        settled()
    bar.setValue(bar.maximum())
    pane.show_beats.setChecked(False)
    settled()
    for count in (1, 2, 9):  # some of them hidden
        add(count)
        settled()
    table.selectRow(pane.model.rowCount() - 2)
    add(4)
    settled()
    assert pane.model.index(0, 0) != QModelIndex()


class Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_the_scroll_bar_growing_with_the_records_repaints_alone(qtbot: QtBot) -> None:
    # While the table fills up the scroll range grows, and the bar repaints with each record.
    # See-through, it made Qt repaint every widget behind it, up to the window; filled with the
    # table's background, it repaints alone and looks the same.
    panel = QFrame()
    panel.setObjectName("journalPanel")
    panel.setStyleSheet(resource_path("style.qss").read_text(encoding="utf-8"))
    pane = JournalPane()
    QVBoxLayout(panel).addWidget(pane)
    qtbot.addWidget(panel)
    panel.resize(600, 220)
    panel.show()
    qtbot.waitExposed(panel)
    for i in range(20):
        pane.add_record(record(i))
    pane.row_texts()
    bar = pane.table.verticalScrollBar()
    qtbot.waitUntil(bar.isVisible)
    behind, bar_paints = Paints(), Paints()
    panel.installEventFilter(behind)
    pane.installEventFilter(behind)
    bar.installEventFilter(bar_paints)
    before = bar.maximum()
    for i in range(20, 23):
        pane.add_record(record(i))
        pane.row_texts()
        QApplication.processEvents()
    assert bar.maximum() > before and bar_paints.count >= 1
    assert behind.count == 0

    def drawn(fill: bool) -> QImage:
        bar.setAutoFillBackground(fill)
        bar.window().repaint()
        return on_screen(bar)

    see_through, filled = drawn(False), drawn(True)
    # The same pixels, give or take two levels where the bar's outline is translucent.
    assert filled.size() == see_through.size()
    assert max(abs(QColor(filled.pixel(x, y)).value() - QColor(see_through.pixel(x, y)).value())
               for x in range(filled.width()) for y in range(filled.height())) <= 3


def test_a_layout_shift_does_not_stop_the_following(qtbot: QtBot) -> None:
    pane = shown_pane(qtbot)
    bar = pane.table.verticalScrollBar()
    for i in range(60):
        pane.add_record(record(i))
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    # Something above takes room (a message, a splitter dragged): the view gets shorter.
    pane.resize(600, 120)
    qtbot.waitUntil(lambda: bar.maximum() > 0 and pane.table.height() < 100)
    pane.add_record(record(60))
    qtbot.waitUntil(lambda: pane.model.rowCount() == 61)
    assert bar.value() == bar.maximum()
    assert not pane.follow_button.isVisible()


def test_scrolled_up_it_says_it_does_not_follow_and_follows_again_on_demand(qtbot: QtBot
                                                                            ) -> None:
    pane = shown_pane(qtbot)
    bar = pane.table.verticalScrollBar()
    for i in range(60):
        pane.add_record(record(i))
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    assert not pane.follow_button.isVisible()
    bar.setValue(0)  # the person scrolls up to read
    assert pane.follow_button.isVisible()
    pane.add_record(record(60))
    qtbot.waitUntil(lambda: pane.model.rowCount() == 61)
    assert bar.value() == 0
    assert "new" in pane.follow_button.text().lower()
    qtbot.mouseClick(pane.follow_button, Qt.MouseButton.LeftButton)
    assert bar.value() == bar.maximum()
    assert not pane.follow_button.isVisible()
    pane.add_record(record(61))
    qtbot.waitUntil(lambda: pane.model.rowCount() == 62 and bar.value() == bar.maximum())
