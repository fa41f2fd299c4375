"""Light and dark: every state's text keeps WCAG AA contrast, measured on the styled widgets.

The colours are read back from the widgets after Qt applied the palette and the stylesheet (a
QSS ``color``/``background`` becomes the widget's palette), so the test checks what is drawn,
not a list of colours kept beside the stylesheet.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QVBoxLayout, QWidget

from gui.core.heartbeat import State, TargetStatus
from gui.core.targets import spot
from gui.notifications import Notice, NoticeBanner
from gui.theme import Theme, apply_scheme, resolve
from gui.window.target_card import TargetCard

BTC = spot("BTC_USDT")
#: WCAG 2.1 AA: 4.5:1 for text, 3:1 for large text (24 px, or 18.7 px bold)
AA_TEXT, AA_LARGE = 4.5, 3.0
_W, _T = QPalette.ColorRole.Window, QPalette.ColorRole.WindowText


def luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_is_wcags():
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)
    assert contrast(QColor("#123456"), QColor("#123456")) == pytest.approx(1.0)


@pytest.fixture(params=["light", "dark"])
def scheme(request, qapp: QApplication) -> Iterator[str]:
    apply_scheme(qapp, request.param)
    try:
        yield request.param
    finally:
        qapp.setStyleSheet("")
        qapp.setPalette(QApplication.style().standardPalette())


def _status(state: State) -> TargetStatus:
    return TargetStatus(target=BTC, state=state, timeout=60, interval=15.0,
                        trigger_time_ms=1_700_000_000_000, deadline_mono=1030.0,
                        last_latency=0.012, last_ack_mono=1000.0, beats=1,
                        reason="the exchange refused the key" if state is State.ERROR else "")


def _behind(label: QWidget, root: QWidget) -> QColor:
    """The colour behind a label's text: its own background if the stylesheet gave it one that
    is opaque, else the nearest such ancestor's, else the root's."""
    widget: QWidget | None = label
    while widget is not None and widget is not root:
        color = widget.palette().color(_W)
        if widget.testAttribute(Qt.WidgetAttribute.WA_StyledBackground) and color.alpha() == 255:
            return color
        widget = widget.parentWidget()
    return root.palette().color(_W)


def _pairs_of(root: QWidget) -> list[tuple[str, QColor, QColor, bool]]:
    """(name, text colour, colour behind it, large?) for every label with text under root."""
    root.ensurePolished()
    found = []
    for label in root.findChildren(QLabel):
        if not label.text() or label.isHidden():
            continue
        label.ensurePolished()
        font = label.font()
        px = font.pixelSize() if font.pixelSize() > 0 else font.pointSizeF() * 96 / 72
        large = px >= 24 or (font.bold() and px >= 18.7)
        found.append((label.objectName() or label.text()[:20], label.palette().color(_T),
                      _behind(label, root), large))
    return found


@pytest.mark.parametrize("state", [State.IDLE, State.ARMING, State.ARMED, State.DEGRADED,
                                   State.STOPPING, State.ERROR, State.FIRED, State.DISARMED])
def test_every_card_state_keeps_aa_contrast(qtbot, scheme, state):
    card = TargetCard(BTC, clock=lambda: 1000.0)
    qtbot.addWidget(card)
    card.resize(380, 260)
    card.show()
    card.set_status(_status(state))
    card.set_orders([])
    card.ensurePolished()
    pairs = _pairs_of(card)
    assert {"statePill", "countdown", "cardTitle"} <= {name for name, *_ in pairs}
    low = [(name, fg.name(), bg.name(), round(contrast(fg, bg), 2))
           for name, fg, bg, large in pairs
           if contrast(fg, bg) < (AA_LARGE if large else AA_TEXT)]
    assert low == [], f"{scheme} {state.value}: {low}"
    # The state is said in words on the card, not only by its colours.
    assert card.pill.text()


@pytest.mark.parametrize("level", ["info", "warning", "critical"])
def test_every_notice_keeps_aa_contrast(qtbot, scheme, level):
    holder = QWidget()
    qtbot.addWidget(holder)
    QVBoxLayout(holder)
    banner = NoticeBanner(holder)
    holder.layout().addWidget(banner)
    banner.post(Notice(level, "Beats failing: spot:BTC_USDT", "It fires at 12:00:00."))
    holder.show()
    (row,) = banner.rows()
    pairs = _pairs_of(row)
    assert {"noticeLevel", "noticeText"} <= {name for name, *_ in pairs}
    for name, fg, bg, _large in pairs:
        assert contrast(fg, bg) >= AA_TEXT, f"{scheme} {level} {name}: {contrast(fg, bg):.2f}"


@pytest.mark.parametrize("state", ["", "armed", "degraded", "fired", "stopping"])
def test_the_header_summary_keeps_aa_contrast(qtbot, scheme, state):
    header = QFrame()
    header.setObjectName("header")
    qtbot.addWidget(header)
    summary = QLabel("Armed: 1 target, 30 s left", header)
    summary.setObjectName("summary")
    summary.setProperty("state", state)
    header.show()
    summary.ensurePolished()
    ratio = contrast(summary.palette().color(_T), header.palette().color(_W))
    assert ratio >= AA_TEXT, f"{scheme} summary[{state}]: {ratio:.2f}"


def test_the_theme_follows_the_desktop_and_a_forced_choice_wins(qapp):
    hints = qapp.styleHints()
    theme = Theme(qapp, "light")
    seen = []
    theme.changed.connect(seen.append)
    try:
        theme.set_choice("system")
        # The desktop switches (the platform tells Qt, Qt tells the app): the app follows.
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert theme.scheme == "dark" and seen == ["dark"]
        assert qapp.palette().color(_W).lightness() < 60
        assert "#15191f" in qapp.styleSheet()
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert theme.scheme == "light" and seen == ["dark", "light"]
        assert "#15191f" not in qapp.styleSheet()
        theme.set_choice("dark")  # forced: the desktop's changes no longer move it
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert theme.scheme == "dark" and resolve("light") == "light"
        with pytest.raises(ValueError, match="theme must be one of"):
            theme.set_choice("purple")
        assert theme.choice == "dark" and theme.scheme == "dark"
    finally:
        theme.close()
        qapp.setStyleSheet("")
        qapp.setPalette(QApplication.style().standardPalette())


@pytest.mark.parametrize("state", [State.ARMED, State.DEGRADED, State.FIRED, State.STOPPING])
def test_the_compact_strip_keeps_aa_contrast(qtbot, scheme, state):
    from gui.window.compact import CompactStrip

    strip = CompactStrip(clock=lambda: 1000.0)
    qtbot.addWidget(strip)
    strip.update_status(_status(state))
    strip.set_mode("stopping" if state is State.STOPPING else "stop")
    strip.show()
    pairs = _pairs_of(strip)
    assert "compactLine" in {name for name, *_ in pairs}
    for name, fg, bg, large in pairs:
        assert contrast(fg, bg) >= (AA_LARGE if large else AA_TEXT), \
            f"{scheme} {state.value} {name}: {contrast(fg, bg):.2f}"
    stop = strip.stop_button
    ratio = contrast(stop.palette().color(QPalette.ColorRole.ButtonText),
                     stop.palette().color(QPalette.ColorRole.Button))
    assert ratio >= AA_TEXT, f"{scheme} STOP: {ratio:.2f}"


def test_the_journals_loud_and_warning_rows_keep_aa_contrast(qtbot, scheme):
    from gui.window.journal_pane import JournalPane

    pane = JournalPane()
    qtbot.addWidget(pane)
    pane.resize(600, 200)
    pane.show()
    qtbot.waitExposed(pane)
    for i, event in enumerate(("fire", "degraded", "error", "time_short")):
        pane.add_record({"ts": 1_760_000_000 + i, "event": event, "target": "spot:BTC_USDT",
                         "message": f"spot:BTC_USDT: {event}"})
    rows = pane.row_texts()
    assert len(rows) == 4
    model, base = pane.model, pane.table.palette().color(QPalette.ColorRole.Base)
    checked = 0
    for row in range(len(rows)):
        index = model.index(row, 1)  # the event column: loud and warning rows colour it
        brush = model.data(index, Qt.ItemDataRole.ForegroundRole)
        assert brush is not None
        behind = model.data(index, Qt.ItemDataRole.BackgroundRole)
        background = behind.color() if behind is not None else base
        ratio = contrast(brush.color(), background)
        assert ratio >= AA_TEXT, f"{scheme} {rows[row][1]}: {ratio:.2f}"
        checked += 1
    assert checked == 4


@pytest.mark.parametrize("tone", ["error", "ok", "caution", "banner"])
def test_messages_coloured_by_tone_keep_aa_contrast(qtbot, scheme, tone):
    """The dialogs' and the picker's messages, on a dialog's background."""
    holder = QWidget()
    qtbot.addWidget(holder)
    label = QLabel("Could not reach the exchange.", holder)
    label.setProperty("tone", tone)
    holder.show()
    (pair,) = _pairs_of(holder)
    _name, fg, bg, _large = pair
    assert contrast(fg, bg) >= AA_TEXT, f"{scheme} {tone}: {contrast(fg, bg):.2f}"
    assert fg != QApplication.palette().color(_T)  # the tone's own colour, not plain text
