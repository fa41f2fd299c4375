"""When the window repaints its countdowns, and where new cards go, on a clock the test moves.

The window's repaint timer is real, but it reads the fake clock: whenever it fires during a test
it repaints what that clock says, so the assertions do not depend on when it fires.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from gui.core.heartbeat import State, TargetStatus
from gui.core.targets import Target, spot
from gui.window.card_grid import CardGrid
from gui.window.main_window import SAFETY_TICK_S, MainWindow
from gui.window.target_card import AGE_LATE_S, COUNTDOWN_LATE_S, TargetCard

T0 = 1000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class StubPicker(QWidget):
    """The window asks the picker only what is chosen and whether it is locked."""

    def selected_targets(self) -> list[Target]:
        return []

    def set_locked(self, locked: bool) -> None:
        pass


def status(name: str, state: State = State.ARMED, *, deadline: float | None = None,
           ack: float | None = None) -> TargetStatus:
    return TargetStatus(target=spot(name), state=state, timeout=60, interval=15.0,
                        trigger_time_ms=1_700_000_000_000, deadline_mono=deadline,
                        last_latency=0.01, last_ack_mono=ack, beats=1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def window(qtbot: QtBot, clock: Clock) -> MainWindow:
    shown = MainWindow(picker=StubPicker(), clock=clock)
    qtbot.addWidget(shown)
    shown.resize(1240, 900)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def _show(qtbot: QtBot, window: MainWindow, *statuses: TargetStatus) -> None:
    for one in statuses:
        window.update_status(one)
    qtbot.waitUntil(lambda: all(one.target in window.cards for one in statuses))
    cards = [window.cards[one.target] for one in statuses]
    qtbot.waitUntil(lambda: all(not card.visibleRegion().isEmpty() for card in cards))
    window.tick()


def test_the_countdown_changes_at_the_whole_second_and_the_window_wakes_for_it(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    _show(qtbot, window, status("BTC_USDT", deadline=T0 + 30.5))
    card = window.cards[spot("BTC_USDT")]
    assert card.countdown.text() == "31 s"
    assert "31 s left" in window.summary.text()
    assert window.repaint_due == pytest.approx(T0 + 0.5)
    clock.now = T0 + 0.499
    window.tick()
    assert card.countdown.text() == "31 s"
    clock.now = T0 + 0.501
    window.tick()
    assert card.countdown.text() == "30 s"
    assert "30 s left" in window.summary.text()
    assert window.repaint_due == pytest.approx(T0 + 1.5)


def test_the_real_timer_moves_the_countdown(qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    _show(qtbot, window, status("BTC_USDT", deadline=T0 + 30.5))
    card = window.cards[spot("BTC_USDT")]
    clock.now = T0 + 0.6  # the timer set for T0 + 0.5 fires soon and shows the new second
    qtbot.waitUntil(lambda: card.countdown.text() == "30 s", timeout=3_000)


def test_seconds_a_few_ms_apart_share_one_repaint_the_age_of_a_beat_waits(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    _show(qtbot, window,
          status("BTC_USDT", deadline=T0 + 10.2, ack=T0 - 0.9),  # "1 s ago" at T0 + 0.1
          status("ETH_USDT", deadline=T0 + 10.21),
          status("SOL_USDT", deadline=T0 + 10.7))
    # The age may wait (up to AGE_LATE_S); the second of BTC at T0 + 0.2 may not, and ETH's,
    # 10 ms later, shares its repaint; SOL's is too far away to.
    assert AGE_LATE_S > 0.2 > COUNTDOWN_LATE_S > 0.01
    assert window.repaint_due == pytest.approx(T0 + 0.21)
    clock.now = T0 + 0.2101
    window.tick()
    assert window.cards[spot("BTC_USDT")].countdown.text() == "10 s"
    assert window.cards[spot("ETH_USDT")].countdown.text() == "10 s"
    assert window.cards[spot("BTC_USDT")].last_beat.text() == "1 s ago · 10 ms"
    assert window.repaint_due == pytest.approx(T0 + 0.7)


def test_nothing_changing_means_only_the_slow_safety_repaint(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    window.tick()
    assert window.repaint_due == pytest.approx(T0 + SAFETY_TICK_S)  # no cards
    _show(qtbot, window, status("BTC_USDT", State.FIRED, deadline=T0 - 2),
          status("ETH_USDT", State.DISARMED))
    assert window.repaint_due == pytest.approx(T0 + SAFETY_TICK_S)
    texts = {t: (c.countdown.text(), c.last_beat.text()) for t, c in window.cards.items()}
    clock.now = T0 + 0.7
    window.tick()
    assert {t: (c.countdown.text(), c.last_beat.text())
            for t, c in window.cards.items()} == texts
    assert window.repaint_due == pytest.approx(clock.now + SAFETY_TICK_S)


def test_a_status_brings_the_next_repaint_forward(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    window.tick()
    assert window.repaint_due == pytest.approx(T0 + SAFETY_TICK_S)
    _show(qtbot, window, status("BTC_USDT", deadline=T0 + 5.3))
    assert window.repaint_due == pytest.approx(T0 + 0.3)
    # A beat moves the deadline: its card is repainted at once, the timer follows.
    window.update_status(status("BTC_USDT", deadline=T0 + 60.1))
    assert window.cards[spot("BTC_USDT")].countdown.text() == "61 s"
    assert window.repaint_due == pytest.approx(T0 + 0.1)


def test_cards_scrolled_into_sight_catch_up_at_once(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    statuses = [status(f"C{i:02d}_USDT", deadline=T0 + 40.5) for i in range(30)]
    for one in statuses:
        window.update_status(one)
    qtbot.waitUntil(lambda: len(window.cards) == 30)  # drawn over a few loop turns
    last = window.cards[statuses[-1].target]
    first = window.cards[statuses[0].target]
    qtbot.waitUntil(lambda: not first.visibleRegion().isEmpty())
    qtbot.waitUntil(lambda: last.isVisible() and last.y() > first.y())  # placed, below
    assert last.visibleRegion().isEmpty()
    clock.now = T0 + 3.6
    window.tick()
    assert first.countdown.text() == "37 s"
    assert last.countdown.text() == "41 s"  # out of sight: not repainted
    bar = window.cards_scroll.verticalScrollBar()

    def scrolled_to_the_end() -> bool:
        # The grid may still be growing as its last cards are placed: scroll to its end again.
        bar.setValue(bar.maximum())
        return not last.visibleRegion().isEmpty()

    qtbot.waitUntil(scrolled_to_the_end, timeout=2_000)
    # At once, or at worst at the next safety repaint (1 s); the bound is for a loaded CI
    # machine running two workers: what fails is a card never repainted in sight.
    qtbot.waitUntil(lambda: last.countdown.text() == "37 s", timeout=5_000)


def test_a_card_moving_into_sight_when_another_leaves_catches_up_at_once(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    statuses = [status(f"C{i:02d}_USDT", deadline=T0 + 40.5) for i in range(30)]
    for one in statuses:
        window.update_status(one)
    qtbot.waitUntil(lambda: len(window.cards) == 30)  # drawn over a few loop turns
    first = window.cards[statuses[0].target]
    qtbot.waitUntil(lambda: not first.visibleRegion().isEmpty())
    hidden = [window.cards[one.target] for one in statuses
              if window.cards[one.target].visibleRegion().isEmpty()]
    assert hidden
    clock.now = T0 + 3.6
    window.tick()
    assert hidden[0].countdown.text() == "41 s"  # out of sight: not repainted
    # Dismissing cards above moves the next ones up (many cards are one a row), with no
    # scrolling, until the first card out of sight comes into it.
    for removed, one in enumerate(statuses[:4], start=1):
        window.remove_card(one.target)
        qtbot.waitUntil(lambda n=removed: window.grid.position(hidden[0]) is not None
                        and window.grid.cards.index(hidden[0]) == 30 - len(hidden) - n)
        qtbot.wait(50)  # the grid's layout pass
        if not hidden[0].visibleRegion().isEmpty():
            break
    assert window.cards_scroll.verticalScrollBar().value() == 0
    qtbot.waitUntil(lambda: not hidden[0].visibleRegion().isEmpty())
    qtbot.waitUntil(lambda: hidden[0].countdown.text() == "37 s", timeout=500)


def test_a_repaint_leaves_the_cards_whose_texts_do_not_change_alone(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    _show(qtbot, window, status("BTC_USDT", deadline=T0 + 10.2),
          status("ETH_USDT", deadline=T0 + 10.7))
    ticked: list[str] = []
    for target, card in window.cards.items():
        card.tick = (lambda now, card=card, name=target.name:  # type: ignore[method-assign]
                     ticked.append(name) or TargetCard.tick(card, now))
    clock.now = T0 + 0.2101
    window.tick()
    assert ticked == ["BTC_USDT"]
    assert window.cards[spot("ETH_USDT")].countdown.text() == "11 s"
    clock.now = T0 + 0.7001
    window.tick()
    assert ticked == ["BTC_USDT", "ETH_USDT"]
    assert window.cards[spot("ETH_USDT")].countdown.text() == "10 s"


def _cards(count: int) -> list[TargetCard]:
    return [TargetCard(spot(f"C{i}_USDT")) for i in range(count)]


@pytest.mark.parametrize(("width", "columns"), [(1100, 3), (760, 2), (400, 1)])
def test_a_new_card_goes_into_the_next_free_cell(qtbot: QtBot, width: int, columns: int) -> None:
    grid = CardGrid()
    qtbot.addWidget(grid)
    grid.resize(width, 600)
    grid.show()
    qtbot.waitExposed(grid)
    cards = _cards(4)
    for card in cards[:3]:
        grid.add_card(card)
    before = [grid.position(card) for card in cards[:3]]
    grid.add_card(cards[3])
    assert [grid.position(card) for card in cards[:3]] == before
    assert grid.position(cards[3]) == (3 // columns, 3 % columns)
    assert before == [(i // columns, i % columns) for i in range(3)]


def test_a_card_leaving_closes_the_gap_and_new_ones_follow(qtbot: QtBot) -> None:
    grid = CardGrid()
    qtbot.addWidget(grid)
    grid.resize(1100, 600)  # three columns
    grid.show()
    qtbot.waitExposed(grid)
    cards = _cards(5)
    for card in cards:
        grid.add_card(card)
    grid.remove_card(cards[1])
    grid.add_card(extra := _cards(6)[5])  # before the gap is closed
    expected = [cards[0], *cards[2:], extra]
    qtbot.waitUntil(lambda: [grid.position(card) for card in expected]
                    == [(i // 3, i % 3) for i in range(len(expected))])
    assert grid.position(cards[1]) is None
    assert grid.cards == expected


def test_the_grid_follows_the_width(qtbot: QtBot) -> None:
    grid = CardGrid()
    qtbot.addWidget(grid)
    grid.resize(1100, 600)
    grid.show()
    qtbot.waitExposed(grid)
    cards = _cards(4)
    for card in cards:
        grid.add_card(card)
    grid.resize(760, 600)
    qtbot.waitUntil(lambda: grid.position(cards[3]) == (1, 1))
    assert grid.position(cards[2]) == (1, 0)


def test_scrolling_is_wired_to_a_repaint(qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    # The scroll bar's valueChanged(int) reaches tick_soon(), which takes no argument.
    window.tick()
    bar = window.cards_scroll.verticalScrollBar()
    bar.valueChanged.emit(3)
    assert window.repaint_due == pytest.approx(T0)


def test_a_burst_draws_cards_over_loop_turns_and_the_header_counts_them_all_meanwhile(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    from gui.words import overall_state

    statuses = [status(f"B{i:02d}_USDT", deadline=T0 + 50.5) for i in range(60)]
    statuses.append(status("LAST_USDT", State.DEGRADED, deadline=T0 + 9.5))
    for one in statuses:
        window.update_status(one)
    # Not 61 cards in one loop turn: the failing target at the end has no card yet, so nothing
    # on screen calls it armed, but the header already says what its state makes of the whole.
    last = statuses[-1].target
    assert last not in window.cards and last in window.waiting
    state, line = overall_state(statuses, clock.now, False)
    qtbot.waitUntil(lambda: window.summary.text() == line)
    assert window.summary.property("state") == state
    # A waiting target no longer wanted is never drawn; the others all are, in order.
    window.remove_card(statuses[-2].target)
    qtbot.waitUntil(lambda: len(window.cards) == 60)
    assert statuses[-2].target not in window.cards
    assert window.cards[last].state is State.DEGRADED
    assert list(window.cards) == [one.target for one in statuses if one is not statuses[-2]]
    assert window.summary.text() == overall_state(window.statuses(), clock.now, False)[1]


def test_targets_waiting_for_their_first_answer_are_never_shown_armed(
        qtbot: QtBot, window: MainWindow, clock: Clock) -> None:
    """ARM pressed for many: until Gate answers each first beat, the header, its icon and the
    title say arming (the in-progress look), never the green "Armed"."""
    statuses = [status(f"A{i:02d}_USDT", State.ARMING) for i in range(20)]
    for one in statuses:
        window.update_status(one)
    qtbot.waitUntil(lambda: window.summary.text().startswith("Arming… waiting for the exchange"))
    assert window.summary.property("state") == "stopping"
    assert "armed" not in window.windowTitle() and window.windowTitle().startswith("arming")
    window.update_status(status("A00_USDT", deadline=T0 + 40.5))  # answered: that one is armed
    qtbot.waitUntil(lambda: "1 target armed" in window.summary.text())
    assert window.summary.property("state") == "stopping"  # 19 still wait
