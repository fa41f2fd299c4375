"""The window with perpetual futures targets, driven like a person would, against the simulator."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from gui.core.heartbeat import State
from gui.core.targets import futures, spot
from tests.gui.conftest import card_states

BTC_USDT = futures("usdt", "BTC_USDT")
BTC_ALL = futures("btc")


def test_pick_futures_in_their_tab_arm_beat_and_stop(make_app, qtbot, demo_sim, tmp_path):
    app = make_app()
    window, picker = app.window, app.window.picker
    tab = picker.futures_tab
    picker.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.contract_list.count() > 0, timeout=10_000)
    qtbot.keyClicks(tab.search_edit, "btc_usdt")
    [row] = [r for r in range(tab.contract_list.count())
             if not tab.contract_list.item(r).isHidden()]
    rect = tab.contract_list.visualItemRect(tab.contract_list.item(row))
    qtbot.mouseClick(tab.contract_list.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(rect.left() + 10, rect.center().y()))
    qtbot.mouseClick(tab.settle_radios["btc"], Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
    qtbot.mouseClick(tab.all_check, Qt.MouseButton.LeftButton,
                     pos=QPoint(8, tab.all_check.height() // 2))
    assert picker.selected_targets() == [BTC_USDT, BTC_ALL]

    button = window.arm_button
    qtbot.waitUntil(button.isEnabled, timeout=5_000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: card_states(app) == {"futures:usdt:BTC_USDT": State.ARMED,
                                                 "futures:btc:all": State.ARMED},
                    timeout=5_000)
    assert set(demo_sim.countdowns()) == {"futures:usdt:BTC_USDT", "futures:btc:all"}
    card = window.cards[BTC_USDT]
    assert card.title.text() == "BTC_USDT perpetual"
    assert window.cards[BTC_ALL].title.text() == "All BTC futures"
    for shown in (card, window.cards[BTC_ALL]):
        subtitle = shown.subtitle
        assert subtitle.text() == "Orders only; positions stay open"
        # Said whole, not cut off by the card's width.
        assert subtitle.fontMetrics().horizontalAdvance(subtitle.text()) <= subtitle.width()
    # Beats go on: the countdown is renewed, not left to run out.
    first = demo_sim.countdowns()["futures:usdt:BTC_USDT"]
    qtbot.waitUntil(lambda: demo_sim.countdowns().get("futures:usdt:BTC_USDT", 0) > first,
                    timeout=5_000)
    qtbot.waitUntil(lambda: card.orders.text() == "2 open", timeout=5_000)
    qtbot.waitUntil(lambda: window.cards[BTC_ALL].orders.text() == "1 open", timeout=5_000)
    out = Path(os.environ.get("GATE_KILLSWITCH_SCREENSHOT_DIR") or tmp_path)
    assert window.grab().save(str(out / "window-futures.png"))

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.mode == "arm", timeout=10_000)
    assert demo_sim.countdowns() == {}
    assert set(card_states(app).values()) == {State.DISARMED}
    assert demo_sim.firings() == []


def test_cancel_now_on_futures_says_positions_stay_open(make_app, qtbot, demo_sim):
    app = make_app(arm=[BTC_USDT, BTC_ALL])
    qtbot.waitUntil(lambda: len(demo_sim.countdowns()) == 2, timeout=5_000)
    qtbot.waitUntil(lambda: app.window.mode == "stop", timeout=5_000)
    qtbot.mouseClick(app.window.cancel_now_button, Qt.MouseButton.LeftButton)
    box = app.window.findChild(QMessageBox, "cancelNowDialog")
    assert box is not None and box.isVisible()
    text = box.text() + box.informativeText()
    assert "futures:usdt:BTC_USDT" in text and "futures:btc:all" in text
    assert "cancels open orders; positions stay open" in text
    qtbot.mouseClick(box.findChild(QPushButton, "confirmCancelNow"), Qt.MouseButton.LeftButton)

    def left() -> set[tuple[str, str]]:
        return {(o["product"], o["contract"]) for o in demo_sim.open_orders("futures")}

    qtbot.waitUntil(lambda: ("futures:usdt", "BTC_USDT") not in left()
                    and not any(p == "futures:btc" for p, _ in left()), timeout=5_000)
    assert ("futures:usdt", "ETH_USDT") in left()  # another contract is untouched
    assert set(demo_sim.countdowns()) == {"futures:usdt:BTC_USDT", "futures:btc:all"}
    assert app.window.mode == "stop"


def test_the_quit_dialog_says_futures_positions_stay_open(qtbot):
    from gui.dialogs.quit_dialog import QuitDialog

    with_futures = QuitDialog([BTC_USDT])
    qtbot.addWidget(with_futures)
    assert "cancels open orders; positions stay open" in with_futures.body.text()
    spot_only = QuitDialog([spot("BTC_USDT")])
    qtbot.addWidget(spot_only)
    assert "positions" not in spot_only.body.text()


def test_a_cancel_now_that_fails_in_part_says_so_loudly(make_app, qtbot, demo_sim):
    app = make_app(arm=[BTC_USDT])
    qtbot.waitUntil(lambda: app.window.mode == "stop", timeout=5_000)
    demo_sim.fail_bulk_cancels(1)
    box = app.cancel_now()
    assert box is not None
    qtbot.mouseClick(box.findChild(QPushButton, "confirmCancelNow"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any("NOT cancelled" in t for t in app.window.banner.texts()),
                    timeout=5_000)
    assert any("futures:usdt:BTC_USDT: cancelled 1 of 2" in t
               for t in app.window.banner.texts())
    still = [o for o in demo_sim.open_orders("futures") if o["contract"] == "BTC_USDT"]
    assert len(still) == 1


def test_the_tray_follows_futures_targets_and_stops_them(make_app, qtbot, demo_sim):
    app = make_app(use_tray=True, arm=[BTC_USDT, BTC_ALL])
    qtbot.waitUntil(lambda: app.tray.state == "armed", timeout=5_000)
    assert app.tray.icon.toolTip().startswith("gate-killswitch — Armed: 2 targets")
    app.tray.menu.aboutToShow.emit()
    [stop] = [a for a in app.tray.menu.actions() if a.text() == "STOP: disarm everything"]
    stop.trigger()
    qtbot.waitUntil(lambda: app.tray.state == "idle", timeout=10_000)
    assert demo_sim.countdowns() == {}
    assert set(card_states(app).values()) == {State.DISARMED}
