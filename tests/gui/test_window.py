"""The window driven like a person would, against the in-process simulator."""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QMessageBox, QPushButton

from gui.core.heartbeat import State
from gui.core.targets import parse_target
from tests.gui.conftest import INTERVAL, TIMEOUT, card_states

BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")


def _pair_item(pairs: QListWidget, name: str) -> QListWidgetItem:
    for row in range(pairs.count()):
        item = pairs.item(row)
        if item.text().split()[0] == name and not item.isHidden():
            return item
    raise AssertionError(f"{name} is not shown")


def _set_timing_by_typing(qtbot, window, timeout: int) -> None:
    spin = window.timeout_spin
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, str(timeout))
    qtbot.keyClick(spin, Qt.Key.Key_Tab)


def _arm_by_clicking(qtbot, app) -> None:
    button = app.window.arm_button
    qtbot.waitUntil(button.isEnabled, timeout=5_000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_pick_by_typing_and_clicking_arm_and_watch_the_countdown(make_app, qtbot, demo_sim):
    app = make_app(timeout=60, interval=15.0)
    window, picker = app.window, app.window.picker
    assert window.mode == "arm"
    assert not window.arm_button.isEnabled()  # nothing chosen yet
    # Search the pair list by typing, then click the pair's check box.
    qtbot.waitUntil(lambda: picker.pair_list.count() > 0, timeout=10_000)
    qtbot.keyClicks(picker.search_edit, "btc_us")
    item = _pair_item(picker.pair_list, "BTC_USDT")
    rect = picker.pair_list.visualItemRect(item)
    qtbot.mouseClick(picker.pair_list.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(rect.left() + 10, rect.center().y()))
    qtbot.waitUntil(lambda: BTC in picker.selected_targets(), timeout=2_000)
    # Type a second one by name and click Add.
    qtbot.keyClicks(picker.add_edit, "spot:ETH_USDT")
    qtbot.mouseClick(picker.add_button, Qt.MouseButton.LeftButton)
    assert picker.selected_targets() == [BTC, ETH]
    # A 5 s countdown; the beat interval follows at a quarter of it.
    _set_timing_by_typing(qtbot, window, TIMEOUT)
    assert window.timing() == (TIMEOUT, INTERVAL)

    _arm_by_clicking(qtbot, app)
    qtbot.waitUntil(lambda: card_states(app) == {"spot:BTC_USDT": State.ARMED,
                                                 "spot:ETH_USDT": State.ARMED}, timeout=5_000)
    assert set(demo_sim.countdowns()) >= {"spot:BTC_USDT", "spot:ETH_USDT"}
    assert window.mode == "stop"
    assert window.arm_button.text() == "STOP"
    assert picker.is_locked() and not window.timeout_spin.isEnabled()
    card = window.cards[BTC]
    assert card.pill.text() == "ARMED"
    assert card.fires_at.text().count(":") == 2  # a clock time, HH:MM:SS
    # The countdown moves: the seconds shown change without any event from the engine.
    first = card.countdown.text()
    assert first.endswith(" s")
    qtbot.waitUntil(lambda: card.countdown.text() != first, timeout=3_000)
    qtbot.waitUntil(lambda: card.orders.text() == "2 open", timeout=5_000)
    assert "ms" in card.last_beat.text()


def test_an_injected_fault_shows_degraded_and_recovery(make_app, qtbot, demo_sim):
    app = make_app()
    app.window.picker.set_selected([BTC])
    _arm_by_clicking(qtbot, app)
    qtbot.waitUntil(lambda: card_states(app).get("spot:BTC_USDT") is State.ARMED, timeout=5_000)
    fault = demo_sim.add_fault("status", status=503, path="/spot/countdown_cancel_all")
    card = app.window.cards[BTC]
    qtbot.waitUntil(lambda: card.state is State.DEGRADED, timeout=5_000)
    assert card.pill.text() == "BEATS FAILING"
    assert card.property("state") == "degraded"
    assert "failing" in card.headline.text() and card.headline.isVisible()
    # Without a tray, the notification is a banner in the window.
    assert any("Beats failing" in text for text in app.window.banner.texts())
    assert app.window.summary.property("state") == "degraded"
    demo_sim.clear_faults(fault)
    qtbot.waitUntil(lambda: card.state is State.ARMED, timeout=5_000)
    qtbot.waitUntil(lambda: not any("Beats failing" in t for t in app.window.banner.texts()),
                    timeout=2_000)


def test_stop_disarms_every_scope_on_the_exchange(make_app, qtbot, demo_sim):
    app = make_app(arm=[BTC, ETH])
    qtbot.waitUntil(lambda: len(demo_sim.countdowns()) == 2, timeout=5_000)
    qtbot.waitUntil(lambda: app.window.mode == "stop", timeout=5_000)
    qtbot.mouseClick(app.window.arm_button, Qt.MouseButton.LeftButton)
    assert app.window.arm_button.text() == "Stopping…"  # at once, before any answer
    qtbot.waitUntil(lambda: app.window.mode == "arm", timeout=10_000)
    assert demo_sim.countdowns() == {}
    assert set(card_states(app).values()) == {State.DISARMED}
    assert any(text.startswith("Stopped") for text in app.window.banner.texts())
    assert app.window.arm_button.text() == "ARM"
    assert not app.window.picker.is_locked()
    # A disarmed card can be dismissed.
    qtbot.mouseClick(app.window.cards[BTC].dismiss, Qt.MouseButton.LeftButton)
    assert BTC not in app.window.cards


def test_cancel_now_names_the_scopes_cancels_and_does_not_disarm(make_app, qtbot, demo_sim):
    options_btc = parse_target("options:BTC_USDT")
    app = make_app(arm=[BTC, options_btc])
    qtbot.waitUntil(lambda: len(demo_sim.countdowns()) == 2, timeout=5_000)
    before = demo_sim.open_orders()
    assert any(o["product"] == "spot" and o["currency_pair"] == "BTC_USDT" for o in before)
    qtbot.mouseClick(app.window.cancel_now_button, Qt.MouseButton.LeftButton)
    box = app.window.findChild(QMessageBox, "cancelNowDialog")
    assert box is not None and box.isVisible()
    text = box.text() + box.informativeText()
    assert "spot:BTC_USDT" in text and "options:BTC_USDT" in text
    assert box.defaultButton().text() == "Keep them"
    confirm = box.findChild(QPushButton, "confirmCancelNow")
    qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)

    def gone() -> bool:
        left = demo_sim.open_orders()
        return not any(o["product"] == "spot" and o["currency_pair"] == "BTC_USDT"
                       for o in left) and not any(
            o["product"] == "options" and o["underlying"] == "BTC_USDT" for o in left)

    qtbot.waitUntil(gone, timeout=5_000)
    # Other scopes are untouched, and the countdowns still run.
    assert any(o["product"] == "spot" and o["currency_pair"] == "ETH_USDT"
               for o in demo_sim.open_orders())
    qtbot.waitUntil(lambda: any(t.startswith("Orders cancelled")
                                for t in app.window.banner.texts()), timeout=5_000)
    assert set(demo_sim.countdowns()) == {"spot:BTC_USDT", "options:BTC_USDT"}
    assert app.window.mode == "stop"
    qtbot.waitUntil(lambda: app.window.cards[BTC].orders.text() == "none open", timeout=5_000)


def test_cancel_now_can_be_declined(make_app, qtbot, demo_sim):
    app = make_app(arm=[BTC])
    qtbot.waitUntil(lambda: app.window.mode == "stop", timeout=5_000)
    count = len(demo_sim.open_orders())
    box = app.cancel_now()
    assert box is not None
    qtbot.mouseClick(box.defaultButton(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app._cancel_box is None, timeout=2_000)
    assert len(demo_sim.open_orders()) == count


def test_a_bare_key_press_never_arms_or_stops(make_app, qtbot, demo_sim):
    app = make_app()
    window = app.window
    window.picker.set_selected([BTC])
    button = window.arm_button
    assert not button.isDefault() and not button.autoDefault()
    window.activateWindow()
    button.setFocus()
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
        qtbot.keyClick(button, key)
    qtbot.wait(50)  # let anything that would have been queued run
    assert window.mode == "arm" and not window.cards
    # Holding Space for 0.6 s arms, with a fill growing meanwhile.
    qtbot.keyPress(button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: button.hold_progress > 0.2, timeout=2_000)
    assert window.mode == "arm"
    qtbot.waitUntil(lambda: window.mode == "stop", timeout=3_000)
    qtbot.keyRelease(button, Qt.Key.Key_Space)
    assert button.hold_progress == 0
    # Releasing early cancels a hold.
    qtbot.keyPress(button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: button.hold_progress > 0, timeout=2_000)
    qtbot.keyRelease(button, Qt.Key.Key_Space)
    qtbot.wait(700)
    assert window.mode == "stop"


def test_keyboard_shortcuts_arm_and_stop(make_app, qtbot, demo_sim):
    app = make_app()
    window = app.window
    window.picker.set_selected([BTC])
    window.show_and_raise()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=2_000)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "spot:BTC_USDT" in demo_sim.countdowns(), timeout=5_000)
    qtbot.waitUntil(lambda: window.mode == "stop", timeout=5_000)
    # Ctrl+Enter while armed does nothing; Ctrl+Shift+S stops.
    qtbot.keyClick(window, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: demo_sim.countdowns() == {} and window.mode == "arm",
                    timeout=10_000)


def test_with_every_request_hanging_the_countdown_ticks_and_stop_answers(
        make_app, qtbot, demo_sim):
    app = make_app(arm=[BTC])
    card_ready = lambda: BTC in app.window.cards and app.window.cards[BTC].state is State.ARMED  # noqa: E731
    qtbot.waitUntil(card_ready, timeout=5_000)
    demo_sim.add_fault("hang")
    card = app.window.cards[BTC]
    seen = {card.countdown.text()}
    started = time.monotonic()
    qtbot.waitUntil(lambda: seen.add(card.countdown.text()) or len(seen) >= 3, timeout=6_000)
    assert time.monotonic() - started < 6
    qtbot.mouseClick(app.window.arm_button, Qt.MouseButton.LeftButton)
    assert app.window.arm_button.text() == "Stopping…"
    assert not app.window.arm_button.isEnabled()
    # The window still answers: the repaint timer keeps going while the stop waits.
    before = card.last_beat.text()
    qtbot.waitUntil(lambda: card.last_beat.text() != before, timeout=3_000)
    demo_sim.clear_faults()
    qtbot.waitUntil(lambda: demo_sim.countdowns() == {} and app.window.mode == "arm",
                    timeout=30_000)


def test_timing_fields_enforce_bounds_and_explain(make_app, qtbot):
    app = make_app(timeout=60, interval=15.0)
    window = app.window
    window.picker.set_selected([BTC])
    assert window.timeout_spin.minimum() == 5 and window.timeout_spin.maximum() == 86_400
    assert window.timing_message.property("level") == "ok"
    window.interval_spin.setValue(25)  # above timeout/3
    assert window.timing_message.property("level") == "warning"
    assert "15 s is safer" in window.timing_message.text()
    assert window.arm_button.isEnabled()
    window.interval_spin.setValue(60)  # not shorter than the timeout
    assert window.timing_message.property("level") == "error"
    assert "shorter than the timeout" in window.timing_message.text()
    assert not window.arm_button.isEnabled()
    # Said once, under the fields; the ARM hint points there.
    assert "countdown settings" in window.button_hint.text()
    window.timeout_spin.setValue(2)  # below the minimum: the field refuses it
    assert window.timeout_spin.value() == 5


def test_a_fired_target_is_impossible_to_miss(make_app, qtbot, demo_sim):
    app = make_app(arm=[BTC])
    qtbot.waitUntil(lambda: BTC in app.window.cards
                    and app.window.cards[BTC].state is State.ARMED, timeout=5_000)
    demo_sim.add_fault("status", status=503, path="/spot/countdown_cancel_all")
    card = app.window.cards[BTC]
    qtbot.waitUntil(lambda: card.state is State.FIRED, timeout=10_000)
    assert card.headline.text().startswith("FIRED — orders cancelled at ")
    assert card.countdown.text() == "FIRED"
    assert card.property("state") == "fired"
    assert app.window.summary.property("state") == "fired"
    assert any(text.startswith("FIRED") for text in app.window.banner.texts())
    assert demo_sim.firings()
    assert card.dismiss.isVisible()
    # It stays until dismissed (or re-armed).
    qtbot.wait(300)
    assert app.window.cards[BTC].state is State.FIRED
    qtbot.mouseClick(card.dismiss, Qt.MouseButton.LeftButton)
    assert BTC not in app.window.cards


def test_two_hundred_cards_each_show_their_own_time_left(make_app, qtbot):
    """Every card's countdown comes from its own deadline at each repaint. (How cheap a repaint
    is, is measured by tests/perf/bench.py, not asserted here: a timed assertion flakes on a
    busy machine.)"""
    from gui.core.heartbeat import TargetStatus
    from gui.core.targets import spot
    from gui.words import format_left

    app = make_app()
    now = time.monotonic()
    names = [f"C{i:03d}_USDT" for i in range(200)]
    deadlines = {spot(name): now + 30 + i % 30 + 0.5 for i, name in enumerate(names)}
    try:
        for target, deadline in deadlines.items():
            app.window.update_status(TargetStatus(
                target=target, state=State.ARMED, timeout=60, interval=15.0,
                trigger_time_ms=int((time.time() + deadline - now) * 1000),
                deadline_mono=deadline, last_latency=0.01, last_ack_mono=now, beats=1))
        # Not 200 cards in one loop turn: those still to draw are counted, not shown.
        window = app.window
        assert 0 < len(window.cards) < 200
        assert len(window.statuses()) == 200
        qtbot.waitUntil(lambda: "still to draw" in window.cards_count.text())
        qtbot.waitUntil(lambda: len(window.cards) == 200, timeout=20_000)
        assert "still to draw" not in window.cards_count.text()
        app.window.tick()
        ticked = time.monotonic()
        for target, deadline in deadlines.items():
            shown = app.window.cards[target].countdown.text()
            # Rounded up, from the deadline, at a moment between the first status and the
            # repaint (a card out of sight keeps what it said when it was drawn).
            moments = [now + step * 0.25 for step in range(int((ticked - now) / 0.25) + 2)]
            assert shown in {format_left(deadline - t) for t in [*moments, ticked]}, target
    finally:
        for target in deadlines:
            app.window.remove_card(target)


def test_arming_more_than_the_rate_budget_carries_is_refused_with_what_fits(
        make_app, qtbot, demo_sim):
    from gui.core.client import GateClient

    with GateClient(demo_sim.base_url) as client:
        pairs = [parse_target(f"spot:{p.id}") for p in client.spot_pairs()][:30]
    app = make_app(timeout=60, interval=0.5)
    app.window.picker.set_selected(pairs)
    _arm_by_clicking(qtbot, app)
    qtbot.waitUntil(lambda: any("nothing was armed" in t for t in app.window.banner.texts()),
                    timeout=5_000)
    assert any("A beat every" in t for t in app.window.banner.texts())
    assert app.window.mode == "arm" and demo_sim.countdowns() == {}
