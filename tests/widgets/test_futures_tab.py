"""The picker's Futures tab against the simulator: a settle switch, a searchable contract list
with delisting contracts marked, a whole-settle check box, and add-by-name for futures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gui.core.client import GateClient
from gui.core.targets import futures, spot
from gui.picker.target_picker import TargetPicker
from gui.simulator import Simulator
from tests.widgets.test_target_picker import (
    click_checkbox,
    click_item,
    item_named,
    loaded,
    toggle_with_space,
    visible_names,
)

USDT_COUNT = 31  # the simulator's USDT-settled contracts (one per USDT spot pair)
BTC_COUNT = 3


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


def futures_loaded(picker: TargetPicker, client: GateClient, qtbot) -> TargetPicker:
    loaded(picker, client, qtbot)
    tab = picker.futures_tab
    qtbot.waitUntil(lambda: len(tab.names("usdt")) == USDT_COUNT
                    and len(tab.names("btc")) == BTC_COUNT
                    and all(s.state == "idle" for s in tab.statuses.values()), timeout=10_000)
    picker.tabs.setCurrentWidget(tab)
    return picker


def test_contracts_of_each_settle_with_delisting_ones_marked(qtbot, picker, client):
    tab = futures_loaded(picker, client, qtbot).futures_tab
    assert tab.contract_list.count() == USDT_COUNT
    assert tab.count.text() == f"{USDT_COUNT} contracts"
    assert item_named(tab.contract_list, "LUNC_USDT").text() == "LUNC_USDT  (delisting)"
    assert item_named(tab.contract_list, "FTT_USDT").text() == "FTT_USDT  (delisted)"
    assert item_named(tab.contract_list, "BTC_USDT").text() == "BTC_USDT"
    assert "positions stay open" in tab.note.text()
    click_checkbox(qtbot, tab.settle_radios["btc"])
    assert tab.settle == "btc"
    assert sorted(visible_names(tab.contract_list)) == ["BTC_USD", "ETH_USD", "SOL_USD"]
    assert tab.all_check.text() == "A&ll BTC futures (futures:btc:all)"


def test_search_filters_as_you_type(qtbot, picker, client):
    tab = futures_loaded(picker, client, qtbot).futures_tab
    qtbot.keyClicks(tab.search_edit, "eth usdt")
    assert visible_names(tab.contract_list) == ["ETH_USDT"]
    assert tab.count.text() == f"1 of {USDT_COUNT} contracts match “eth usdt”"


def test_picking_contracts_and_a_whole_settle(qtbot, picker, client):
    tab = futures_loaded(picker, client, qtbot).futures_tab
    with qtbot.waitSignal(picker.selectionChanged):
        toggle_with_space(qtbot, tab.contract_list, item_named(tab.contract_list, "BTC_USDT"))
    click_checkbox(qtbot, tab.settle_radios["btc"])
    click_item(qtbot, tab.contract_list, item_named(tab.contract_list, "BTC_USD"))
    qtbot.keyClick(tab.contract_list, Qt.Key.Key_Space)
    assert picker.selected_targets() == [futures("usdt", "BTC_USDT"), futures("btc", "BTC_USD")]

    click_checkbox(qtbot, tab.settle_radios["usdt"])
    assert item_named(tab.contract_list, "BTC_USDT").checkState() == Qt.CheckState.Checked
    click_checkbox(qtbot, tab.all_check)
    # The whole settle covers its contract and nothing of the other settle.
    assert picker.selected_targets() == [futures("btc", "BTC_USD"), futures("usdt")]
    assert not tab.contract_list.isEnabled()
    covered = [picker.selected_list.item(r).text() for r in range(picker.selected_list.count())]
    assert any("futures:usdt:BTC_USDT" in t and "covered by futures:usdt:all" in t
               for t in covered)

    picker.set_locked(True)
    assert not tab.all_check.isEnabled() and not tab.contract_list.isEnabled()
    picker.set_locked(False)
    assert tab.all_check.isEnabled()


@pytest.mark.parametrize(("typed", "words"), [
    ("futures:usdt:NOPE_USDT", "NOPE_USDT is not a listed USDT-settled perpetual contract."),
    ("futures:btc:BTC_USDT", "BTC-settled perpetual contract like BTC_USD"),
    ("futures:BTC_USDT", "settle currency first"),
])
def test_add_by_name_refuses_what_is_not_a_listed_contract(qtbot, picker, client, typed, words):
    futures_loaded(picker, client, qtbot)
    qtbot.keyClicks(picker.add_edit, typed)
    qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
    assert words in picker.add_message.text()
    assert picker.selected_targets() == []


def test_add_by_name_accepts_the_futures_forms(qtbot, picker, client):
    futures_loaded(picker, client, qtbot)
    for typed in ("futures:usdt:eth_usdt", "futures:btc:all", "spot:BTC_USDT"):
        qtbot.keyClicks(picker.add_edit, typed)
        qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
        assert not picker.add_message.isVisible(), picker.add_message.text()
    assert picker.selected_targets() == [futures("usdt", "ETH_USDT"), futures("btc"),
                                         spot("BTC_USDT")]
    assert item_named(picker.futures_tab.contract_list,
                      "ETH_USDT").checkState() == Qt.CheckState.Checked


def test_a_failed_futures_list_shows_in_place_and_retry_recovers(qtbot, picker, client, sim):
    sim.add_fault("status", path="/futures/btc/contracts", status=503, count=1)
    picker.set_client(client, client.base_url)
    tab = picker.futures_tab
    status = tab.statuses["btc"]
    qtbot.waitUntil(lambda: status.state == "error", timeout=10_000)
    assert "Could not load BTC futures contracts" in status.text
    # The other settle is not held up.
    qtbot.waitUntil(lambda: len(tab.names("usdt")) == USDT_COUNT, timeout=10_000)
    click_checkbox(qtbot, tab.settle_radios["btc"])
    status.retry_button.click()
    qtbot.waitUntil(lambda: tab.contract_list.count() == BTC_COUNT, timeout=10_000)
    assert status.state == "idle"


def test_screenshot(qtbot, picker, client, tmp_path):
    """A picture to look at: set GATE_KILLSWITCH_SCREENSHOT_DIR to keep it."""
    out = Path(os.environ.get("GATE_KILLSWITCH_SCREENSHOT_DIR") or tmp_path)
    futures_loaded(picker, client, qtbot)
    picker.set_selected([futures("usdt", "BTC_USDT"), futures("btc")])
    assert picker.grab().save(str(out / "picker-futures.png"))
