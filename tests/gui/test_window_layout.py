"""The window on real screens: a laptop's 1280×720 and half of a 1920 monitor (960 px wide).
Every control a person needs is inside the window and visible, idle and armed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from gui.core.heartbeat import State
from gui.core.targets import parse_target
from gui.dialogs.quit_dialog import QuitDialog
from gui.window.layout import ElidedLabel, clamp_geometry
from tests.gui.conftest import INTERVAL, TIMEOUT, card_states

BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")
SIZES = [QSize(1280, 720), QSize(960, 1000)]


def _shown_whole(widget: QWidget) -> bool:
    """Visible, inside its window, and not clipped by anything around it."""
    if not widget.isVisible():
        return False
    window = widget.window()
    place = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    return (window.rect().contains(place)
            and widget.visibleRegion().boundingRect().size() == widget.size())


def _shown(widget: QWidget) -> bool:
    """Visible and at least partly in sight (a list or a card may scroll)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def test_a_geometry_too_large_or_off_the_screen_is_pulled_inside_it():
    area = QRect(0, 30, 1280, 690)  # a laptop screen under a top panel
    minimum = QSize(868, 583)
    assert clamp_geometry(QRect(100, 100, 1240, 800), area, minimum) == QRect(40, 30, 1240, 690)
    assert clamp_geometry(QRect(2500, -40, 900, 600), area, minimum) == QRect(380, 30, 900, 600)
    # A screen smaller than the window's minimum: its top left corner stays on the screen.
    assert clamp_geometry(QRect(-500, 500, 900, 600), QRect(0, 0, 800, 500), minimum) == \
        QRect(0, 0, 868, 583)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s.width()}x{s.height()}")
def test_every_control_fits_idle_and_armed(make_app, qtbot, size):
    app = make_app()
    window, picker = app.window, app.window.picker
    assert window.minimumSizeHint().width() <= 900
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size, timeout=2_000)
    qtbot.waitUntil(lambda: picker.pair_list.count() > 0, timeout=10_000)
    picker.set_selected([BTC, ETH])
    for control in (picker.tabs, picker.search_edit, picker.selected_list, picker.add_edit,
                    picker.add_button, window.timeout_spin, window.interval_spin,
                    window.arm_button, window.cancel_now_button, window.journal,
                    window.keys_button, window.menu_button, window.summary):
        assert _shown_whole(control), control.accessibleName() or control.objectName()
    assert _shown(picker.pair_list)

    assert app.arm([BTC, ETH], TIMEOUT, INTERVAL)
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.ARMED, str(ETH): State.ARMED},
                    timeout=5_000)
    # Armed, the countdowns get the room: the picker folds to one line naming the scopes.
    assert not picker.isVisible()
    assert _shown_whole(window.picker_fold)
    assert "spot:BTC_USDT" in window.picker_fold.full_text()
    assert "spot:ETH_USDT" in window.picker_fold.full_text()
    for control in (window.arm_button, window.journal, window.summary, window.picker_fold.button):
        assert _shown_whole(control), control.accessibleName() or control.objectName()
    assert window.arm_button.text() == "STOP"
    for card in window.cards.values():
        assert _shown_whole(card), str(card.target)


def test_the_folded_picker_unfolds_on_demand_and_on_stop(make_app, qtbot):
    app = make_app()
    window, picker = app.window, app.window.picker
    assert app.arm([BTC], TIMEOUT, INTERVAL)
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.ARMED}, timeout=5_000)
    assert not picker.isVisible()
    qtbot.mouseClick(window.picker_fold.button, Qt.MouseButton.LeftButton)
    assert picker.isVisible() and picker.is_locked()  # shown, still locked
    qtbot.mouseClick(window.picker_fold.button, Qt.MouseButton.LeftButton)
    assert not picker.isVisible()
    qtbot.mouseClick(window.arm_button, Qt.MouseButton.LeftButton)  # STOP
    qtbot.waitUntil(lambda: window.mode == "arm", timeout=5_000)
    assert picker.isVisible() and not window.picker_fold.isVisible()
    assert not picker.is_locked()


def test_the_folded_line_names_what_is_protected_not_what_the_picker_holds(
        make_app, qtbot, demo_sim):
    app = make_app()
    window = app.window
    window.picker.set_selected([ETH])  # chosen, but what arms is another (a forwarded launch)
    assert app.arm([BTC], TIMEOUT, INTERVAL)
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.ARMED}, timeout=5_000)
    assert window.picker_fold.full_text() == "Protecting 1 target: spot:BTC_USDT"
    # Fired, it is protected no more: the line says so.
    demo_sim.add_fault("status", status=503, path="/spot/countdown_cancel_all")
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.FIRED}, timeout=10_000)
    assert window.picker_fold.full_text() == "No target is protected now"


def test_a_long_profile_name_is_folded_not_cut(qtbot):
    label = ElidedLabel("Profile: a very long profile name · https://api.gateio.ws/api/v4")
    qtbot.addWidget(label)
    label.resize(120, label.sizeHint().height())
    label.show()
    assert label.is_elided()
    assert label.text().endswith("/api/v4")  # the whole text stays the label's text
    assert label.toolTip() == label.text()
    assert label.accessibleDescription() == label.text()


def test_many_targets_show_compact_under_one_shortest_time_left(make_app, qtbot):
    app = make_app()
    window = app.window
    few = [parse_target(f"spot:{p}_USDT") for p in ("BTC", "ETH", "SOL")]
    assert app.arm(few, TIMEOUT, INTERVAL)
    qtbot.waitUntil(lambda: card_states(app) == {str(t): State.ARMED for t in few},
                    timeout=5_000)
    assert not window.shortest.isVisible()
    assert not any(card.property("compact") for card in window.cards.values())
    assert all(card.caption.isVisible() for card in window.cards.values())
    app.stop()
    qtbot.waitUntil(lambda: window.mode == "arm", timeout=5_000)

    many = [*few, parse_target("spot:DOGE_USDT")]
    assert app.arm(many, TIMEOUT, INTERVAL)
    qtbot.waitUntil(lambda: card_states(app) == {str(t): State.ARMED for t in many},
                    timeout=5_000)
    assert window.shortest.isVisible()
    assert all(card.property("compact") for card in window.cards.values())
    assert not any(card.caption.isVisible() for card in window.cards.values())
    # The large number is the soonest countdown, and it names whose it is.
    soonest = min(window.statuses(), key=lambda s: s.deadline_mono or 0.0)
    assert f"{soonest.target} fires first" in window.shortest.caption.text()
    card = window.cards[soonest.target]
    qtbot.waitUntil(lambda: window.shortest.number.text() == card.countdown.text()
                    and card.countdown.text().endswith(" s"), timeout=2_000)


def _place(widget: QWidget) -> QRect:
    return QRect(widget.mapTo(widget.window(), QPoint(0, 0)), widget.size())


def test_stop_and_the_cards_stay_put_when_a_message_comes_and_goes(make_app, qtbot):
    app = make_app()
    window = app.window
    window.resize(QSize(1280, 720))
    assert app.arm([BTC, ETH], TIMEOUT, INTERVAL)
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.ARMED, str(ETH): State.ARMED},
                    timeout=5_000)
    # Settled: the orders listed (a card's height follows its texts, not the messages).
    qtbot.waitUntil(lambda: all(c.orders.text().endswith("open")
                                for c in window.cards.values()), timeout=5_000)
    QApplication.processEvents()
    watched = [window.arm_button, window.summary, *window.cards.values()]
    before = [_place(w) for w in watched]
    window.post("warning", "Keyring", "A long message that wraps onto a second line in the "
                "banner, to take some room " * 3, key="test")
    window.post("info", "Note", "and another one", key="test2")
    qtbot.waitUntil(lambda: window.banner.isVisible() and len(window.banner.rows()) == 2)
    QApplication.processEvents()
    assert [_place(w) for w in watched] == before
    banner = _place(window.banner)
    assert window.rect().contains(banner)
    assert not banner.intersects(_place(window.arm_button))
    for card in window.cards.values():
        assert not banner.intersects(_place(card))
    for row in window.banner.rows():
        qtbot.mouseClick(row.findChild(QPushButton, "noticeDismiss"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.banner.isVisible())
    QApplication.processEvents()
    assert [_place(w) for w in watched] == before


def test_the_title_carries_the_state_and_the_shortest_time_left(make_app, qtbot):
    app = make_app()
    window = app.window
    qtbot.waitUntil(lambda: window.windowTitle() == "not armed — gate-killswitch")
    assert app.arm([BTC, ETH], TIMEOUT, INTERVAL)
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.ARMED, str(ETH): State.ARMED},
                    timeout=5_000)
    card = window.cards[BTC]
    # The title's seconds are the soonest card's, and say how many are armed.
    qtbot.waitUntil(lambda: window.windowTitle()
                    == f"{card.countdown.text()} · 2 armed — gate-killswitch", timeout=2_000)


def test_the_menu_has_every_item_and_ctrl_q_asks_as_quit_does_while_armed(make_app, qtbot):
    app = make_app()
    window = app.window
    names = [a.text().split("\t")[0] for a in window.menu_button.menu().actions()
             if not a.isSeparator()]
    assert names == ["Keys…", "Preferences…", "Compact strip", "Self-check…",
                     "Journal folder", "About gate-killswitch", "Quit"]
    assert window.menu_actions["quit"].shortcut().toString() == "Ctrl+Q"
    assert app.arm([BTC], TIMEOUT, INTERVAL)
    qtbot.waitUntil(lambda: card_states(app) == {str(BTC): State.ARMED}, timeout=5_000)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    # Armed: it asks (disarm and quit, quit and let it fire, cancel) rather than quitting.
    qtbot.waitUntil(lambda: window.findChild(QuitDialog) is not None
                    and window.findChild(QuitDialog).isVisible(), timeout=2_000)
    assert window.mode == "stop"
    window.findChild(QuitDialog).reject()


def test_about_says_the_version_the_licence_and_where_things_live(make_app, qtbot, tmp_path):
    import gui
    from gui.window.menu import show_about

    app = make_app()
    dialog = show_about(app.window)
    qtbot.waitExposed(dialog)
    text = dialog.text.text()
    assert gui.__version__ in text and "MIT" in text
    assert str(app.window.journal.directory) in text
    assert str(tmp_path / "config") in text  # the settings' directory (conftest's)


def test_a_long_card_title_ends_in_an_ellipsis_with_the_whole_name_kept(qtbot):
    from gui.window.target_card import TargetCard

    contract = parse_target("options:ETH_USDT-20261204-2800-C")
    card = TargetCard(contract)
    qtbot.addWidget(card)
    card.resize(card.minimumWidth(), 200)
    card.show()
    qtbot.waitExposed(card)
    title = card.title
    full = title.text()
    assert "ETH_USDT-20261204-2800-C" in full
    assert title.is_elided() or title.width() >= title.fontMetrics().horizontalAdvance(full)
    assert title.toolTip() == full and title.accessibleName() == full
    title.resize(60, title.height())
    assert title.is_elided()
    assert title.text() == full  # folded when painted only


def test_the_cancel_now_question_says_stay_armed_only_when_something_is(qtbot):
    from gui.window.main_window import MainWindow, confirm_cancel_now

    window = MainWindow()
    qtbot.addWidget(window)
    idle = confirm_cancel_now(window, [BTC], armed=False).informativeText()
    armed = confirm_cancel_now(window, [BTC], armed=True).informativeText()
    assert "stay armed" not in idle and "Nothing is armed" in idle
    assert "armed targets stay armed" in armed


def test_a_long_header_line_ends_in_an_ellipsis_and_never_widens_the_window(make_app, qtbot):
    import time

    from gui.core.heartbeat import TargetStatus
    from gui.core.targets import spot

    app = make_app()
    window = app.window
    window.resize(QSize(960, 1000))
    qtbot.waitUntil(lambda: window.width() == 960, timeout=2_000)
    now = time.monotonic()
    for name in ("AVERYLONGTOKENNAME_USDT", "ANOTHERLONGTOKEN_USDT", "THIRDLONGNAMETOKEN_USDT",
                 "FOURTHTOKEN_USDT"):
        window.update_status(TargetStatus(
            target=spot(name), state=State.FIRED, timeout=60, interval=15.0,
            trigger_time_ms=int(time.time() * 1000), deadline_mono=now, fired_at_ms=1))
    window.update_status(TargetStatus(
        target=BTC, state=State.ARMED, timeout=60, interval=15.0,
        trigger_time_ms=int((time.time() + 40) * 1000), deadline_mono=now + 40,
        last_latency=0.01, last_ack_mono=now, beats=1))
    window.tick()
    qtbot.wait(50)
    summary = window.summary
    assert summary.text().startswith("FIRED: spot:AVERYLONGTOKENNAME_USDT")
    # The window kept its width and its minimum; the line is folded, whole on hover.
    assert window.width() == 960 and window.minimumSizeHint().width() <= 900
    assert summary.is_elided() and summary.toolTip() == summary.text()
    assert _shown_whole(summary) and _shown_whole(window.keys_button)
    assert _shown_whole(window.menu_button)
    # The same shape a second later lays nothing out again: the label is still fixed-size.
    assert summary.minimumSize() == summary.maximumSize()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s.width()}x{s.height()}")
def test_many_targets_are_one_line_rows_under_the_shortest_time_left(make_app, qtbot, size):
    import time

    from gui.core.heartbeat import TargetStatus
    from gui.core.targets import spot

    app = make_app()
    window = app.window
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size, timeout=2_000)
    now = time.monotonic()
    names = ("BTC_USDT", "ETH_USDT", "SOL_USDT", "DOGE_USDT", "ARATHERLONGTOKENNAME_USDT")
    for i, name in enumerate(names):
        window.update_status(TargetStatus(
            target=spot(name), state=State.ARMED, timeout=60, interval=15.0,
            trigger_time_ms=int((time.time() + 30 + i) * 1000), deadline_mono=now + 30 + i,
            last_latency=0.01, last_ack_mono=now, beats=1))
    for card in window.cards.values():
        card.set_orders([])
    window.tick()
    qtbot.wait(50)
    assert _shown_whole(window.shortest.number)
    assert window.shortest.number.text() == "30 s"
    for card in window.cards.values():
        if not _shown(card):
            continue
        parts = [w for w in (card.icon, card.title, card.countdown, card.fires_at, card.orders,
                             card.pill) if w.isVisible()]
        assert {card.title, card.countdown, card.pill} <= set(parts), str(card.target)
        places = [QRect(w.mapTo(card, QPoint(0, 0)), w.size()) for w in parts]
        # One line: every part on the title's line, inside the card, none over another.
        middle = places[1].center().y()
        for widget, place in zip(parts, places, strict=True):
            assert card.rect().contains(place), (str(card.target), widget.objectName())
            assert abs(place.center().y() - middle) <= 8, (str(card.target), widget.objectName())
        for i, place in enumerate(places):
            for other in places[i + 1:]:
                assert not place.intersects(other), str(card.target)
        assert card.height() < 3 * card.title.height(), str(card.target)
