"""One target's card: its countdown, drain bar and colours, on a clock the test moves.

The card is driven with TargetStatus values and an explicit "now"; nothing here waits on time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from gui.core.heartbeat import State, TargetStatus
from gui.core.targets import spot
from gui.resources import resource_path
from gui.window.painted import SteadyLabel
from gui.window.target_card import AGE_LATE_S, COUNTDOWN_LATE_S, NextChange, TargetCard
from gui.words import age_text_changes_in, format_age, format_left, left_text_changes_in

BTC = spot("BTC_USDT")
T0 = 1000.0  # "now" on the fake monotonic clock


#: the states whose cards the pixel tests below look at
CARD_LOOKS = [State.IDLE, State.ARMED, State.OVERDUE, State.DEGRADED, State.STOPPING, State.ERROR,
              State.FIRED, State.DISARMED]


def armed(deadline: float, *, timeout: int = 60, ack: float | None = T0,
          state: State = State.ARMED) -> TargetStatus:
    return TargetStatus(target=BTC, state=state, timeout=timeout, interval=15.0,
                        trigger_time_ms=1_700_000_000_000, deadline_mono=deadline,
                        last_latency=0.012, last_ack_mono=ack, beats=1)


class Counter(QObject):
    """Counts the events of some types a widget receives."""

    def __init__(self, *types: QEvent.Type) -> None:
        super().__init__()
        self.types = types
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self.types:
            self.count += 1
        return False


def settle() -> None:
    """Deliver what is pending (layouts, then the paints they cause) until all is quiet."""
    busy = Counter(QEvent.Type.Paint, QEvent.Type.LayoutRequest, QEvent.Type.UpdateRequest)
    app = QApplication.instance()
    app.installEventFilter(busy)
    quiet = 0
    for _ in range(20):
        before = busy.count
        QApplication.processEvents()
        quiet = quiet + 1 if busy.count == before else 0
        if quiet == 2:
            break
    app.removeEventFilter(busy)


@pytest.fixture
def card(qtbot: QtBot) -> TargetCard:
    now = [T0]
    widget = TargetCard(BTC, clock=lambda: now[0])
    qtbot.addWidget(widget)
    widget.resize(380, 260)
    return widget


@pytest.fixture
def themed(qapp: QApplication) -> Iterator[None]:
    """The app's style sheet, as the app runs with it (the other tests run without)."""
    qapp.setStyleSheet(resource_path("style.qss").read_text(encoding="utf-8"))
    try:
        yield
    finally:
        qapp.setStyleSheet("")


@pytest.mark.parametrize("left", [30.5, 30.0, 29.999, 0.25, 1.0, 99.5, 100.2, 3600.7])
def test_the_countdown_text_changes_exactly_when_the_next_change_is_due(left: float) -> None:
    due = left_text_changes_in(left)
    assert due is not None and 0 < due <= 1
    # The same text until then, the next whole second from then on.
    assert format_left(left - due * 0.999) == format_left(left)
    assert format_left(left - due - 1e-6) != format_left(left)


def test_zero_seconds_left_never_changes_again() -> None:
    assert left_text_changes_in(0.0) is None
    assert left_text_changes_in(-3.2) is None


@pytest.mark.parametrize("age", [0.0, 0.4, 1.0, 9.999, 59.5, 119.2, 121.0, 600.5])
def test_the_age_of_the_last_beat_changes_exactly_when_due(age: float) -> None:
    due = age_text_changes_in(age)
    assert due > 0
    assert format_age(age + due * 0.999) == format_age(age)
    assert format_age(age + due + 1e-6) != format_age(age)


def test_tick_shows_whole_seconds_rounded_up_and_says_when_they_change(card: TargetCard) -> None:
    change = card.set_status(armed(T0 + 30.5, ack=T0 - 0.7))
    assert card.countdown.text() == "31 s"
    assert card.last_beat.text() == "just now · 12 ms"
    # The countdown changes at T0 + 0.5 and must be drawn then; the age of the beat ("just
    # now" until T0 + 0.3) may wait for it.
    assert change.at == pytest.approx(T0 + 0.5)
    assert change.latest == pytest.approx(T0 + 0.5 + COUNTDOWN_LATE_S)
    assert card.tick(T0 + 0.499).at == pytest.approx(T0 + 0.5)
    assert card.countdown.text() == "31 s"
    assert card.last_beat.text() == "1 s ago · 12 ms"
    change = card.tick(T0 + 0.5001)
    assert card.countdown.text() == "30 s"
    assert change.at == pytest.approx(T0 + 1.5)


def test_the_age_of_the_last_beat_keeps_its_own_time_when_no_countdown_runs(
        card: TargetCard) -> None:
    change = card.set_status(armed(T0 - 3, ack=T0 - 2.4, state=State.FIRED))
    assert card.last_beat.text() == "2 s ago · 12 ms"
    assert change.at == pytest.approx(T0 + 0.6)  # "3 s ago"
    assert change.latest == pytest.approx(T0 + 0.6 + AGE_LATE_S)


def test_changes_share_one_repaint_when_they_can_wait_for_it() -> None:
    second = NextChange(T0 + 0.50, T0 + 0.50 + COUNTDOWN_LATE_S)
    other_card = NextChange(T0 + 0.51, T0 + 0.51 + COUNTDOWN_LATE_S)
    age = NextChange(T0 + 0.20, T0 + 0.20 + AGE_LATE_S)
    later = NextChange(T0 + 0.90, T0 + 0.90 + COUNTDOWN_LATE_S)
    # The age waits for the second; the next card's second 10 ms later shares the repaint.
    assert NextChange.of([age, later, second, other_card]) == (T0 + 0.51, second.latest)
    assert NextChange.of([age, later]) == (T0 + 0.90, later.latest)
    assert NextChange.of([age]) == age
    assert NextChange.of([]) is None


def test_a_fired_card_has_nothing_left_to_change(card: TargetCard) -> None:
    card.set_status(armed(T0 + 30, ack=None))
    fired = armed(T0 - 1, ack=None, state=State.FIRED)  # no beat ever acknowledged
    assert card.set_status(fired) is None
    assert card.countdown.text() == "FIRED"
    assert card.tick(T0 + 5) is None


def test_the_reason_reads_as_a_sentence(card: TargetCard) -> None:
    failing = replace(armed(T0 + 30, state=State.DEGRADED), reason="retrying: connection refused")
    card.set_status(failing)
    assert card.reason.text() == "Retrying: connection refused."
    overdue = replace(failing, state=State.OVERDUE, reason="no answer within 3 s of the beat")
    card.set_status(overdue)
    assert card.reason.text() == "No answer within 3 s of the beat."


def test_the_bar_shows_the_share_left_full_after_a_beat_and_empty_when_fired(
        card: TargetCard, qtbot: QtBot) -> None:
    card.show()
    qtbot.waitExposed(card)
    bar = card.remaining
    card.set_status(armed(T0 + 60, timeout=60))  # a beat just landed
    assert bar.share == pytest.approx(1.0)
    assert bar.fill_px == round(bar.width() * bar.devicePixelRatioF())
    card.tick(T0 + 45)
    assert bar.share == pytest.approx(0.25)
    assert bar.accessibleDescription() == "25 %"  # as a progress bar tells a screen reader
    card.tick(T0 + 45.5)  # the bar moves with the number, once a second
    assert bar.share == pytest.approx(0.25)
    card.tick(T0 + 61)  # past the deadline, not yet reported fired
    assert bar.share == 0 and bar.fill_px == 0
    card.set_status(armed(T0 + 60, timeout=60))
    card.set_status(armed(T0 + 60, timeout=60, state=State.FIRED))
    assert bar.share == 0
    card.set_status(armed(T0 + 60, timeout=60, state=State.IDLE))
    assert bar.share == 0


def test_the_bar_repaints_only_when_its_fill_moves_and_never_the_card_behind(
        card: TargetCard, qtbot: QtBot) -> None:
    card.show()
    qtbot.waitExposed(card)
    card.set_status(armed(T0 + 60, timeout=60))
    bar = card.remaining
    settle()
    bar_paints, card_paints = Counter(QEvent.Type.Paint), Counter(QEvent.Type.Paint)
    bar.installEventFilter(bar_paints)
    card.installEventFilter(card_paints)
    bar.set_share(bar.share - 0.2 / bar.width())  # less than a pixel
    QApplication.processEvents()
    assert bar_paints.count == 0
    card.tick(T0 + 1)  # a new second: the number and the bar move
    assert card.countdown.text() == "59 s"
    QApplication.processEvents()
    assert bar_paints.count == 1
    assert card_paints.count == 0  # the bar and the number paint all of themselves


def test_a_new_second_repaints_the_number_without_laying_out_the_card(
        card: TargetCard, qtbot: QtBot) -> None:
    card.show()
    qtbot.waitExposed(card)
    card.set_status(armed(T0 + 42.5, ack=None))
    settle()
    size = card.countdown.size()
    layouts = Counter(QEvent.Type.LayoutRequest)
    card.installEventFilter(layouts)
    card.tick(T0 + 1)
    assert card.countdown.text() == "42 s"
    QApplication.processEvents()
    assert card.countdown.size() == size
    assert layouts.count == 0


def test_a_steady_label_is_as_wide_as_its_shape(qtbot: QtBot) -> None:
    label = SteadyLabel("9 s")
    qtbot.addWidget(label)
    narrow = label.width()
    label.setText("1 s")
    assert label.width() == narrow
    label.setText("10 s")
    assert label.width() > narrow
    label.setText("FIRED")
    assert label.width() == label.fontMetrics().size(0, "FIRED").width()
    assert label.width() >= label.sizeHint().width()


def test_a_grow_only_label_keeps_its_widest_width(qtbot: QtBot) -> None:
    label = SteadyLabel("12 s ago", grow_only=True)
    qtbot.addWidget(label)
    wide = label.width()
    label.setText("just now")
    label.setText("3 s ago")
    assert label.width() == wide


def _text_color(widget: QWidget) -> str:
    return widget.palette().color(widget.foregroundRole()).name()


def test_colours_follow_the_state_in_and_out_of_fired(
        card: TargetCard, themed: None, qtbot: QtBot) -> None:
    card.show()
    qtbot.waitExposed(card)
    card.set_status(armed(T0 + 60))
    dark = _text_color(card.title)
    caption = _text_color(card.caption)
    assert dark == "#1d2330"
    card.set_status(armed(T0 + 60, state=State.DEGRADED))
    assert _text_color(card.title) == dark
    assert card.remaining.property("fillColor") == QColor("#e69b00")
    card.set_status(armed(T0 + 60))
    card.set_status(armed(T0 + 60, state=State.OVERDUE))  # silence is as amber as an error
    assert card.remaining.property("fillColor") == QColor("#e69b00")
    assert card.pill.text() == "NO ANSWER" and card.headline.text().startswith("No answer")
    card.set_status(armed(T0 + 60, state=State.FIRED))
    # A fired card is red with white words, every label of it.
    assert _text_color(card.title) == "#ffffff"
    assert _text_color(card.last_beat) == "#ffffff"
    assert _text_color(card.caption) == "#ffd9d6"
    card.set_status(armed(T0 + 60))  # armed again
    assert _text_color(card.title) == dark
    assert _text_color(card.caption) == caption
    assert card.remaining.property("fillColor") == QColor("#1d7a4f")


def _shown_in(card: TargetCard, qtbot: QtBot, state: State) -> Callable[[float, float], QColor]:
    """Show the themed card in ``state``; returns its pixel colour at a point (card pixels)."""
    card.show()
    qtbot.waitExposed(card)
    card.set_status(armed(T0 + 30, state=state))
    settle()
    image = card.grab().toImage()
    ratio = image.devicePixelRatio()

    def pixel(x: float, y: float) -> QColor:
        return image.pixelColor(int(x * ratio), int(y * ratio))

    return pixel


@pytest.mark.parametrize("state", CARD_LOOKS)
def test_the_bar_ends_blend_into_the_card_in_every_state(
        card: TargetCard, themed: None, qtbot: QtBot, state: State) -> None:
    pixel = _shown_in(card, qtbot, state)
    # What the bar paints in its rounded ends, and the countdown behind its digits, is the
    # card's background around them.
    bar = card.remaining.mapTo(card, card.remaining.rect().topLeft())
    assert card.remaining.backdrop == pixel(bar.x(), bar.y() - 1), state
    number = card.countdown.mapTo(card, card.countdown.rect().topRight())
    assert card.countdown.backdrop == pixel(number.x() + 1, number.y()), state


@pytest.mark.parametrize("state", CARD_LOOKS)
def test_the_state_pill_stands_out_from_the_card_in_every_state(
        card: TargetCard, themed: None, qtbot: QtBot, state: State) -> None:
    pixel = _shown_in(card, qtbot, state)
    pill = card.pill.mapTo(card, card.pill.rect().center())
    left_end = pill.x() - card.pill.width() / 2
    # Between the pill's rounded end and its first letter, and just outside it.
    inside, around = pixel(left_end + 6, pill.y()), pixel(left_end - 3, pill.y())
    assert inside != around, f"the {state.value} pill has no background of its own"
