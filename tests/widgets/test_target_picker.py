"""TargetPicker against the simulator: typed, clicked and checked like a person would."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QListWidget, QListWidgetItem, QMessageBox, QWidget

from gui.core.client import GateClient
from gui.core.market_cache import MarketCache
from gui.core.targets import options, parse_target, spot
from gui.picker.parts import NAME_ROLE
from gui.picker.target_picker import TargetPicker
from gui.simulator import Simulator
from tests.widgets.conftest import run

PAIR_COUNT = 33  # the simulator's market list


@pytest.fixture
def client(sim: Simulator) -> Iterator[GateClient]:
    with GateClient(sim.base_url, timeout=5) as public_client:
        yield public_client


@pytest.fixture
def picker(qtbot, qloop, app_dirs: dict[str, Path]) -> TargetPicker:
    widget = TargetPicker()
    qtbot.addWidget(widget)
    widget.resize(760, 640)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def loaded(picker: TargetPicker, client: GateClient, qtbot) -> TargetPicker:
    picker.set_client(client, client.base_url)
    qtbot.waitUntil(lambda: picker.pair_list.count() == PAIR_COUNT
                    and picker.spot_status.state == "idle"
                    and picker.options_tab.underlying_list.count() == 3
                    and picker.options_tab.chain_model.rowCount() > 0
                    and picker.options_tab.contracts_status.state == "idle", timeout=10_000)
    return picker


def item_named(view: QListWidget, name: str) -> QListWidgetItem:
    for row in range(view.count()):
        item = view.item(row)
        if item.data(NAME_ROLE) == name:
            return item
    raise AssertionError(f"{name} is not in {view.accessibleName()}")


def visible_names(view: QListWidget) -> list[str]:
    return [view.item(r).data(NAME_ROLE) for r in range(view.count())
            if not view.item(r).isHidden()]


def click_item(qtbot, view: QListWidget, item: QListWidgetItem) -> None:
    view.scrollToItem(item)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualItemRect(item).center())


def toggle_with_space(qtbot, view: QListWidget, item: QListWidgetItem) -> None:
    """Move to the item with a click and press Space, as a keyboard user checks it."""
    click_item(qtbot, view, item)
    assert view.currentItem() is item
    qtbot.keyClick(view, Qt.Key.Key_Space)


def click_checkbox(qtbot, box: QWidget) -> None:
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def no_dialog_shown() -> bool:
    return not any(isinstance(w, QMessageBox) and w.isVisible()
                   for w in QApplication.topLevelWidgets())


def test_pairs_load_from_the_simulator_and_filter_as_you_type(qtbot, picker, client, sim):
    loaded(picker, client, qtbot)
    assert len(visible_names(picker.pair_list)) == PAIR_COUNT
    untradable = item_named(picker.pair_list, "LUNC_USDT")
    assert untradable.text() == "LUNC_USDT  (untradable)"
    assert item_named(picker.pair_list, "BTC_USDT").text() == "BTC_USDT"

    qtbot.keyClicks(picker.search_edit, "btc")
    assert visible_names(picker.pair_list) == ["BTC_USDT", "ETH_BTC", "SOL_BTC"]
    assert "3 of 33" in picker.pair_count.text()

    picker.search_edit.clear()
    qtbot.keyClicks(picker.search_edit, "btc_usdt")
    assert visible_names(picker.pair_list) == ["BTC_USDT"]

    picker.search_edit.clear()
    qtbot.keyClicks(picker.search_edit, "usdt")
    shown = visible_names(picker.pair_list)
    assert len(shown) == 31 and all(name.endswith("_USDT") for name in shown)

    picker.search_edit.clear()
    qtbot.keyClicks(picker.search_edit, "nope")
    assert visible_names(picker.pair_list) == []
    assert "No pair matches" in picker.pair_count.text()
    # Public lists need no key; nothing signed was sent.
    assert sim.requests("/spot/accounts") == []


def test_picking_pairs_and_all_spot_markets(qtbot, picker, client):
    loaded(picker, client, qtbot)
    with qtbot.waitSignal(picker.selectionChanged):
        toggle_with_space(qtbot, picker.pair_list, item_named(picker.pair_list, "BTC_USDT"))
    toggle_with_space(qtbot, picker.pair_list, item_named(picker.pair_list, "ETH_USDT"))
    assert picker.selected_targets() == [spot("BTC_USDT"), spot("ETH_USDT")]

    with qtbot.waitSignal(picker.selectionChanged):
        click_checkbox(qtbot, picker.all_spot_check)
    assert picker.all_spot_check.isChecked()
    assert picker.selected_targets() == [spot()]
    assert not picker.pair_list.isEnabled()  # covered by spot:all
    summary = [picker.selected_list.item(r).text() for r in range(picker.selected_list.count())]
    assert any("covered by spot:all" in line for line in summary)

    click_checkbox(qtbot, picker.all_spot_check)
    assert picker.pair_list.isEnabled()
    assert picker.selected_targets() == [spot("BTC_USDT"), spot("ETH_USDT")]

    # Unchecking a pair removes it.
    toggle_with_space(qtbot, picker.pair_list, item_named(picker.pair_list, "BTC_USDT"))
    assert picker.selected_targets() == [spot("ETH_USDT")]


def test_underlying_contracts_are_readable_and_checkable(qtbot, picker, client, sim):
    loaded(picker, client, qtbot)
    tab = picker.options_tab
    picker.tabs.setCurrentIndex(1)
    eth = item_named(tab.underlying_list, "ETH_USDT")
    assert "index 3,400" in eth.text()
    click_item(qtbot, tab.underlying_list, eth)
    model = tab.chain_model

    def first_call() -> str:
        contract = model.contract_at(model.index(1, 0))
        return contract.name if contract is not None else ""

    qtbot.waitUntil(lambda: first_call().startswith("ETH_USDT-"), timeout=10_000)
    assert tab.chain.accessibleName() == "Option chain of ETH_USDT"
    # BTC_USDT's contracts were shown first, then ETH_USDT's were asked for.
    assert len(sim.requests("/options/contracts")) == 2

    # Each strike row: the call, the strike in words a person reads, the put.
    headings = set(model.heading_rows())
    rows = [[model.index(r, c).data() for c in range(3)] + [model.contract_at(model.index(r, 0))]
            for r in range(model.rowCount()) if r not in headings]
    for call_text, strike, put_text, call in rows:
        assert (call_text, put_text) == ("Call", "Put")
        assert strike.replace(",", "") == call.name.split("-")[2]
    assert any(strike == "3,400" for _, strike, _, _ in rows)
    for heading in headings:
        assert re.match(r"\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \(",
                        model.index(heading, 0).data())

    # Check a contract in the current cell with Space.
    chain = tab.chain
    chain.setFocus()
    put = model.index(3, 2)
    qtbot.mouseClick(chain.viewport(), Qt.MouseButton.LeftButton,
                     pos=chain.visualRect(model.index(3, 1)).center())
    qtbot.keyClick(chain, Qt.Key.Key_Right)
    contract_name = model.contract_at(put).name
    with qtbot.waitSignal(picker.selectionChanged):
        qtbot.keyClick(chain, Qt.Key.Key_Space)
    assert picker.selected_targets() == [options(contract_name)]

    # The whole underlying covers its contracts.
    click_checkbox(qtbot, tab.underlying_check)
    assert picker.selected_targets() == [options("ETH_USDT")]
    assert not model.flags(put) & Qt.ItemFlag.ItemIsUserCheckable

    # All options covers everything of options; spot choices stay.
    picker.tabs.setCurrentIndex(0)
    toggle_with_space(qtbot, picker.pair_list, item_named(picker.pair_list, "SOL_USDT"))
    picker.tabs.setCurrentIndex(1)
    click_checkbox(qtbot, tab.all_options_check)
    assert picker.selected_targets() == [spot("SOL_USDT"), options()]
    click_checkbox(qtbot, tab.all_options_check)
    assert picker.selected_targets() == [options("ETH_USDT"), spot("SOL_USDT")]


@pytest.mark.parametrize("kind", ["status", "html"])
def test_a_fault_shows_the_error_in_place_and_retry_recovers(qtbot, picker, client, sim, kind):
    fault = sim.add_fault(kind, path="/spot/currency_pairs")
    picker.set_client(client, client.base_url)
    qtbot.waitUntil(lambda: picker.spot_status.state == "error", timeout=10_000)
    message = picker.spot_status.text
    assert message.startswith("Could not load spot pairs: ")
    assert ("SERVER_ERROR" in message) if kind == "status" else ("HTML" in message)
    assert "Traceback" not in message
    # Nothing retries a list by itself: the message points at the button instead.
    assert message.endswith("Press Retry to try again.") and "retrying" not in message
    assert picker.spot_status.retry_button.isVisible()
    assert picker.pair_list.count() == 0
    assert no_dialog_shown()
    # The other lists are not held back by the broken one.
    qtbot.waitUntil(lambda: picker.options_tab.underlying_list.count() == 3)

    sim.clear_faults(fault)
    qtbot.mouseClick(picker.spot_status.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: picker.pair_list.count() == PAIR_COUNT, timeout=10_000)
    assert picker.spot_status.state == "idle"
    assert not picker.spot_status.isVisible()


def test_loading_state_is_shown_while_the_list_loads(qtbot, picker, client, sim):
    sim.add_fault("latency", path="/spot/currency_pairs", latency_ms=600, count=1)
    picker.set_client(client, client.base_url)
    qtbot.waitUntil(lambda: picker.spot_status.state == "loading")
    assert picker.spot_status.text == "Loading spot pairs…"
    qtbot.waitUntil(lambda: picker.pair_list.count() == PAIR_COUNT, timeout=10_000)


def test_bad_free_text_target_shows_the_message_and_changes_nothing(qtbot, picker, client):
    loaded(picker, client, qtbot)
    picker.set_selected([spot("BTC_USDT")])
    with qtbot.assertNotEmitted(picker.selectionChanged):
        qtbot.keyClicks(picker.add_edit, "spot:BTCUSDT")
        qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
    assert picker.add_message.isVisible()
    assert "not a spot pair like BTC_USDT" in picker.add_message.text()
    assert picker.add_edit.text() == "spot:BTCUSDT"  # left to be corrected
    assert picker.selected_targets() == [spot("BTC_USDT")]

    picker.add_edit.clear()
    with qtbot.assertNotEmitted(picker.selectionChanged):
        qtbot.keyClicks(picker.add_edit, "spot:NOPE_USDT")
        qtbot.mouseClick(picker.add_button, Qt.MouseButton.LeftButton)
    assert "not a spot pair on this exchange" in picker.add_message.text()

    picker.add_edit.clear()
    qtbot.keyClicks(picker.add_edit, "margin:BTC_USDT")
    qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
    assert "unknown product" in picker.add_message.text()
    assert picker.selected_targets() == [spot("BTC_USDT")]

    # A good name is added, the field emptied and the message gone.
    contract = sorted(picker.options_tab.chain_model.contract_names())[0]
    picker.add_edit.clear()
    with qtbot.waitSignal(picker.selectionChanged):
        qtbot.keyClicks(picker.add_edit, f"options:{contract.lower()}")
        qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
    assert picker.selected_targets() == [spot("BTC_USDT"), options(contract)]
    assert picker.add_edit.text() == ""
    assert not picker.add_message.isVisible()


def test_removing_from_the_summary(qtbot, picker, client):
    loaded(picker, client, qtbot)
    picker.set_selected([spot("BTC_USDT"), spot(), options("BTC_USDT")])
    assert picker.selected_targets() == [spot(), options("BTC_USDT")]
    summary = picker.selected_list
    click_item(qtbot, summary, summary.item(1))  # spot:all
    with qtbot.waitSignal(picker.selectionChanged):
        qtbot.keyClick(summary, Qt.Key.Key_Delete)
    assert picker.selected_targets() == [spot("BTC_USDT"), options("BTC_USDT")]
    assert not picker.all_spot_check.isChecked()
    click_item(qtbot, summary, summary.item(0))
    qtbot.mouseClick(picker.remove_button, Qt.MouseButton.LeftButton)
    assert picker.selected_targets() == [options("BTC_USDT")]
    assert item_named(picker.pair_list, "BTC_USDT").checkState() == Qt.CheckState.Unchecked


def test_cache_serves_the_second_load_without_a_request(qtbot, picker, client, sim, app_dirs):
    loaded(picker, client, qtbot)
    assert len(sim.requests("/spot/currency_pairs")) == 1
    assert len(sim.requests("/options/underlyings")) == 1
    assert list(app_dirs["cache"].glob("markets-*.json"))

    # Same widget, loading again: memory.
    run(qtbot, picker.load())
    # A fresh widget with a fresh cache object: the disk copy.
    second = TargetPicker(cache=MarketCache())
    qtbot.addWidget(second)
    loaded(second, client, qtbot)
    assert len(sim.requests("/spot/currency_pairs")) == 1
    assert len(sim.requests("/options/underlyings")) == 1
    assert len(sim.requests("/options/contracts")) == 1


def test_a_stale_cache_is_shown_while_reloading(qtbot, qloop, picker, client, sim, app_dirs):
    loaded(picker, client, qtbot)
    aged = MarketCache(clock=lambda: time.time() + 2 * 3600)  # the disk copy is 2 hours old
    sim.add_fault("latency", path="/spot/currency_pairs", latency_ms=800, count=1)
    stale = TargetPicker(cache=aged)
    qtbot.addWidget(stale)
    stale.set_client(client, client.base_url)
    qtbot.waitUntil(lambda: stale.pair_list.count() == PAIR_COUNT
                    and stale.spot_status.state == "note")
    assert "updating" in stale.spot_status.text
    qtbot.waitUntil(lambda: stale.spot_status.state == "idle", timeout=10_000)
    assert len(sim.requests("/spot/currency_pairs")) == 2


def test_remembered_targets_before_the_lists_load_and_locking(qtbot, picker, client):
    contract = "BTC_USDT-20261127-95000-C"
    remembered = [spot("BTC_USDT"), parse_target(f"options:{contract}"), spot("BTC_USDT")]
    picker.set_selected(remembered)
    assert picker.selected_targets() == [spot("BTC_USDT"), options(contract)]
    assert picker.selected_list.count() == 2

    loaded(picker, client, qtbot)
    assert item_named(picker.pair_list, "BTC_USDT").checkState() == Qt.CheckState.Checked
    assert picker.selected_targets() == [spot("BTC_USDT"), options(contract)]

    picker.set_locked(True)
    assert picker.lock_note.isVisible()
    for widget in (picker.pair_list, picker.all_spot_check, picker.options_tab.all_options_check,
                   picker.add_edit, picker.add_button, picker.clear_button):
        assert not widget.isEnabled(), widget.accessibleName()
    # The chain stays readable and scrollable; its boxes cannot change.
    chain = picker.options_tab.chain_model
    assert not any(chain.flags(chain.index(r, c)) & Qt.ItemFlag.ItemIsUserCheckable
                   for r in range(chain.rowCount()) for c in (0, 2))
    with qtbot.assertNotEmitted(picker.selectionChanged):
        qtbot.keyClick(picker.selected_list, Qt.Key.Key_Delete)
    assert picker.selected_targets() == [spot("BTC_USDT"), options(contract)]
    picker.set_locked(False)
    assert picker.pair_list.isEnabled() and picker.add_edit.isEnabled()


def test_changing_client_drops_the_old_lists(qtbot, picker, client):
    loaded(picker, client, qtbot)
    picker.set_selected([spot("ETH_USDT")])
    picker.set_client(None, "")
    assert picker.pair_list.count() == 0
    assert picker.spot_status.text == "Choose a profile to load the market lists."
    # The choice itself survives a profile change.
    assert picker.selected_targets() == [spot("ETH_USDT")]


def test_every_control_has_an_accessible_name(picker):
    for widget in picker.findChildren(QWidget):
        if widget.focusPolicy() != Qt.FocusPolicy.NoFocus and widget.isVisibleTo(picker):
            name = widget.accessibleName()
            owner = widget.parent()
            # Qt's inner parts (scroll bars, viewports, header sections) belong to their view.
            if not name and owner is not None and owner.accessibleName():
                continue
            assert name, f"{type(widget).__name__} has no accessible name"


def test_screenshot(qtbot, picker, client, tmp_path):
    """Pictures to look at: set GATE_KILLSWITCH_SCREENSHOT_DIR to keep them."""
    out = Path(os.environ.get("GATE_KILLSWITCH_SCREENSHOT_DIR") or tmp_path)
    loaded(picker, client, qtbot)
    picker.set_selected([spot("BTC_USDT"), spot("ETH_USDT"), options("ETH_USDT")])
    qtbot.keyClicks(picker.search_edit, "usdt")
    assert picker.grab().save(str(out / "picker.png"))
    picker.tabs.setCurrentIndex(1)
    assert picker.grab().save(str(out / "picker-options.png"))
