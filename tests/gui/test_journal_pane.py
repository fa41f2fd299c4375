"""The journal pane: follows new records unless the person scrolled up to read."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from gui.journal_pane import MAX_ROWS, JournalPane


def record(i: int) -> dict[str, object]:
    return {"ts": 1_760_000_000 + i, "event": "beat", "target": "spot:BTC_USDT",
            "message": f"spot:BTC_USDT: beat ok, {i} s left"}


def test_new_records_scroll_into_view_unless_the_person_scrolled_up(qtbot: QtBot) -> None:
    pane = JournalPane()
    qtbot.addWidget(pane)
    pane.resize(600, 200)
    pane.show()
    bar = pane.table.verticalScrollBar()
    for i in range(60):
        pane.add_record(record(i))
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())

    bar.setValue(0)  # reading something older
    for i in range(60, 70):
        pane.add_record(record(i))
    qtbot.wait(50)
    assert bar.value() == 0
    assert pane.row_texts()[-1][3] == "beat ok, 69 s left"

    bar.setValue(bar.maximum())  # back at the end: following again
    pane.add_record(record(70))
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    assert pane.table.topLevelItemCount() == 71 <= MAX_ROWS


def test_columns_fit_the_longest_target_without_measuring_every_row(qtbot: QtBot) -> None:
    pane = JournalPane()
    qtbot.addWidget(pane)
    pane.add_record({"ts": 1_760_000_000, "event": "fired",
                     "target": "options:BTC_USDT-20241001-46000-C", "message": "fired"})
    metrics = pane.table.fontMetrics()
    header = pane.table.header()
    assert header.sectionSize(2) >= metrics.horizontalAdvance("options:BTC_USDT-20241001-46000-C")
    assert header.sectionSize(0) >= metrics.horizontalAdvance("88:88:88")
