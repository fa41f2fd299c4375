"""The Options tab's option chain against the simulator: read, clicked and keyed like a trader.

Calls left, strike in the middle, puts right, one section per expiry; each side its own box.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QWidget

from gui.core.client import GateClient
from gui.core.targets import options, parse_contract
from gui.picker.option_chain import CALL, PUT, STRIKE, OptionsTab
from gui.picker.target_picker import TargetPicker
from gui.simulator import Simulator
from gui.simulator.demo import EXPIRY_COUNT, STRIKES_EACH_SIDE
from tests.widgets.test_target_picker import click_checkbox, item_named, loaded

STRIKES = 2 * STRIKES_EACH_SIDE + 1  # per expiry, in the simulator's demo markets
HEADING = re.compile(r"\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                     r"\((under 1 h|\d+ h|1 day|\d+ days)\)  ·  \d+ strikes?")


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


def shown_chain(picker: TargetPicker) -> OptionsTab:
    picker.tabs.setCurrentWidget(picker.options_tab)
    return picker.options_tab


def cell_name(tab: OptionsTab, row: int, column: int) -> str | None:
    contract = tab.chain_model.contract_at(tab.chain_model.index(row, column))
    return None if contract is None else contract.name


def strike_rows(tab: OptionsTab) -> list[int]:
    headings = set(tab.chain_model.heading_rows())
    return [r for r in range(tab.chain_model.rowCount()) if r not in headings]


def click_cell(qtbot, tab: OptionsTab, index: QModelIndex) -> None:
    tab.chain.scrollTo(index)
    qtbot.mouseClick(tab.chain.viewport(), Qt.MouseButton.LeftButton,
                     pos=tab.chain.visualRect(index).center())


def checked(index: QModelIndex) -> bool:
    return index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked


def checkable(index: QModelIndex) -> bool:
    return bool(index.flags() & Qt.ItemFlag.ItemIsUserCheckable)


def a_strike_row(tab: OptionsTab, section: int = 0) -> int:
    """A row with both a call and a put, in the ``section``-th expiry shown."""
    start = tab.chain_model.heading_rows()[section]
    row = start + 3
    assert cell_name(tab, row, CALL) and cell_name(tab, row, PUT)
    return row


def test_the_chain_reads_calls_strike_puts_by_expiry_and_strike(qtbot, picker, client):
    tab = shown_chain(loaded(picker, client, qtbot))
    model = tab.chain_model
    assert tab.chain.accessibleName() == "Option chain of BTC_USDT"
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == [
        "Calls", "Strike", "Puts"]
    headings = model.heading_rows()
    assert len(headings) >= 3 and headings[0] == 0
    # The demo lists Friday expiries of 13 strikes each, every strike with a call and a put.
    assert len(headings) == EXPIRY_COUNT and model.strike_rows() == STRIKES * EXPIRY_COUNT
    expiries = []
    for number, heading in enumerate(headings):
        text = model.index(heading, CALL).data()
        assert HEADING.fullmatch(text), text
        assert tab.chain.columnSpan(heading, CALL) == 3  # one section line across the chain
        end = headings[number + 1] if number + 1 < len(headings) else model.rowCount()
        strikes = []
        for row in range(heading + 1, end):
            call, put = cell_name(tab, row, CALL), cell_name(tab, row, PUT)
            assert call is not None and put is not None
            assert call.endswith("-C") and put.endswith("-P") and call[:-2] == put[:-2]
            _underlying, expiry, strike, _ = parse_contract(call)
            assert model.index(row, STRIKE).data().replace(",", "") == strike
            assert model.index(row, CALL).data() == "Call"
            assert model.index(row, PUT).data() == "Put"
            strikes.append(Decimal(strike))
        assert strikes == sorted(strikes) and len(set(strikes)) == len(strikes)
        expiries.append(expiry)
        assert text.startswith(f"{int(expiry[6:])} ")  # the section's date is its contracts'
    assert expiries == sorted(expiries)  # nearest first
    assert tab.count.text() == f"{2 * STRIKES * EXPIRY_COUNT} contracts in {EXPIRY_COUNT} expiries"


def test_a_call_and_a_put_of_one_strike_are_told_apart_and_chosen_apart(qtbot, picker, client):
    tab = shown_chain(loaded(picker, client, qtbot))
    model = tab.chain_model
    row = a_strike_row(tab)
    call, put = model.index(row, CALL), model.index(row, PUT)
    call_name, put_name = cell_name(tab, row, CALL), cell_name(tab, row, PUT)
    assert call_name != put_name
    _u, expiry, strike, _ = parse_contract(put_name)
    day = datetime.strptime(expiry, "%Y%m%d").replace(tzinfo=UTC)
    when = f"{day.day} {day:%b} {day.year}"
    assert call.data(Qt.ItemDataRole.AccessibleTextRole) == (
        f"{call_name}, call, strike {strike}, expires {when}")
    assert put.data(Qt.ItemDataRole.AccessibleTextRole) == (
        f"{put_name}, put, strike {strike}, expires {when}")
    assert put_name in put.data(Qt.ItemDataRole.ToolTipRole)
    assert "Put" in put.data(Qt.ItemDataRole.ToolTipRole)

    # A click anywhere on the put side chooses the put alone.
    with qtbot.waitSignal(picker.selectionChanged):
        click_cell(qtbot, tab, put)
    assert picker.selected_targets() == [options(put_name)]
    assert checked(put) and not checked(call)
    assert put.data(Qt.ItemDataRole.AccessibleTextRole).endswith(", chosen")

    # The keyboard: arrows move from the put over the strike to the call; Space checks it.
    assert tab.chain.currentIndex() == put
    qtbot.keyClick(tab.chain, Qt.Key.Key_Left)
    assert tab.chain.currentIndex().column() == STRIKE
    with qtbot.assertNotEmitted(picker.selectionChanged):
        qtbot.keyClick(tab.chain, Qt.Key.Key_Space)  # the strike has no box
    qtbot.keyClick(tab.chain, Qt.Key.Key_Left)
    assert tab.chain.currentIndex() == call
    qtbot.keyClick(tab.chain, Qt.Key.Key_Space)
    assert picker.selected_targets() == [options(put_name), options(call_name)]
    # Space again unchecks the call only.
    qtbot.keyClick(tab.chain, Qt.Key.Key_Space)
    assert picker.selected_targets() == [options(put_name)]
    # Down moves to the next strike's call.
    qtbot.keyClick(tab.chain, Qt.Key.Key_Down)
    assert tab.chain.currentIndex() == model.index(row + 1, CALL)


def test_filters_hide_rows_and_keep_what_is_chosen(qtbot, picker, client):
    tab = shown_chain(loaded(picker, client, qtbot))
    model = tab.chain_model
    later = cell_name(tab, a_strike_row(tab, section=1), PUT)
    assert later is not None
    click_cell(qtbot, tab, model.index_of(later))
    assert picker.selected_targets() == [options(later)]
    total = model.strike_rows()

    # By expiry: "All expiries" and then each date, nearest first.
    combo = tab.expiry_combo
    assert combo.itemText(0) == "All expiries"
    assert combo.count() == len(model.heading_rows()) + 1
    with qtbot.assertNotEmitted(picker.selectionChanged):
        tab.expiry_combo.setFocus()
        combo.setCurrentIndex(1)
    assert len(model.heading_rows()) == 1 and model.strike_rows() == STRIKES
    assert not model.index_of(later).isValid()  # hidden…
    assert picker.selected_targets() == [options(later)]  # …and still chosen
    selected = [picker.selected_list.item(r).text() for r in range(picker.selected_list.count())]
    assert any(later in line for line in selected)
    contracts = 2 * STRIKES * EXPIRY_COUNT
    assert tab.count.text().startswith(f"{2 * STRIKES} of {contracts} contracts shown")
    assert "1 chosen contract is hidden by the filters" in tab.count.text()
    combo.setCurrentIndex(0)
    assert model.strike_rows() == total and checked(model.index_of(later))

    # By strike range, typed as a trader writes it.
    with qtbot.assertNotEmitted(picker.selectionChanged):
        qtbot.keyClicks(tab.strike_low, "95k")
        qtbot.keyClicks(tab.strike_high, "99,000")
    kept = {model.index(r, STRIKE).data() for r in strike_rows(tab)}
    assert kept == {"96,000", "98,000"}  # the demo's BTC strikes are 2,000 apart
    # A bound that is not a strike says so and changes nothing.
    tab.strike_high.selectAll()  # typed over: the range in force stays until it is a strike
    qtbot.keyClicks(tab.strike_high, "lots")
    assert tab.filter_message.isVisible() and "not a strike" in tab.filter_message.text()
    assert "Traceback" not in tab.filter_message.text()
    assert not tab.filter_message.text().startswith("Could")
    assert {model.index(r, STRIKE).data() for r in strike_rows(tab)} == kept
    tab.strike_high.selectAll()
    qtbot.keyClicks(tab.strike_high, "90000")
    assert "lowest strike is above the highest" in tab.filter_message.text()
    tab.strike_low.clear()
    assert not tab.filter_message.isVisible()
    assert all(Decimal(model.index(r, STRIKE).data().replace(",", "")) <= 90000
               for r in strike_rows(tab))
    tab.strike_high.clear()
    assert model.strike_rows() == total
    assert picker.selected_targets() == [options(later)]


def test_the_whole_underlying_covers_the_chains_boxes(qtbot, picker, client):
    tab = shown_chain(loaded(picker, client, qtbot))
    model = tab.chain_model
    row = a_strike_row(tab)
    call, put = model.index(row, CALL), model.index(row, PUT)
    call_name = cell_name(tab, row, CALL)
    click_cell(qtbot, tab, call)
    assert picker.selected_targets() == [options(call_name)]

    click_checkbox(qtbot, tab.underlying_check)
    assert picker.selected_targets() == [options("BTC_USDT")]
    assert tab.covered_note.isVisible() and "options:BTC_USDT" in tab.covered_note.text()
    assert not checkable(call) and not checkable(put)
    assert "covered by options:BTC_USDT" in put.data(Qt.ItemDataRole.AccessibleTextRole)
    with qtbot.assertNotEmitted(picker.selectionChanged):
        click_cell(qtbot, tab, put)
        qtbot.keyClick(tab.chain, Qt.Key.Key_Space)
    assert picker.selected_targets() == [options("BTC_USDT")]

    # Unchecking the underlying brings the contract's own choice back.
    click_checkbox(qtbot, tab.underlying_check)
    assert picker.selected_targets() == [options(call_name)]
    assert checkable(put) and checked(call) and not tab.covered_note.isVisible()

    # All options covers every underlying's chain the same way.
    click_checkbox(qtbot, tab.all_options_check)
    assert not checkable(put) and not tab.underlying_check.isEnabled()
    assert "covered by options:all" in put.data(Qt.ItemDataRole.AccessibleTextRole)
    click_checkbox(qtbot, tab.all_options_check)
    assert checkable(put)


def test_locked_no_box_changes_by_mouse_or_space(qtbot, picker, client):
    tab = shown_chain(loaded(picker, client, qtbot))
    model = tab.chain_model
    row = a_strike_row(tab)
    put_name = cell_name(tab, row, PUT)
    picker.set_selected([options(put_name)])
    picker.set_locked(True)
    call, put = model.index(row, CALL), model.index(row, PUT)
    assert not checkable(call) and not checkable(put)
    assert checked(put)  # still shown chosen
    with qtbot.assertNotEmitted(picker.selectionChanged):
        click_cell(qtbot, tab, call)
        qtbot.keyClick(tab.chain, Qt.Key.Key_Space)
        click_cell(qtbot, tab, put)
        qtbot.keyClick(tab.chain, Qt.Key.Key_Space)
    assert picker.selected_targets() == [options(put_name)]
    assert checked(put) and not checked(call)
    assert not tab.underlying_check.isEnabled() and not tab.all_options_check.isEnabled()
    picker.set_locked(False)
    assert checkable(call)


def test_tab_reaches_the_filters_then_the_chain(picker):
    tab = picker.options_tab
    order = [tab.all_options_check, tab.underlying_check, tab.underlying_list, tab.expiry_combo,
             tab.strike_low, tab.strike_high, tab.chain]
    reached: list[QWidget] = []
    widget = tab.all_options_check
    for _ in range(40):
        if widget in order and widget not in reached:
            reached.append(widget)
        widget = widget.nextInFocusChain()
    assert reached == order
    assert not tab.chain.tabKeyNavigation()  # Tab leaves the chain; arrows move inside it


def test_another_underlying_shows_its_own_chain(qtbot, picker, client):
    tab = shown_chain(loaded(picker, client, qtbot))
    qtbot.keyClicks(tab.strike_low, "95000")
    eth = item_named(tab.underlying_list, "ETH_USDT")
    tab.underlying_list.setCurrentItem(eth)
    qtbot.waitUntil(lambda: (cell_name(tab, 1, CALL) or "").startswith("ETH_USDT-"),
                    timeout=10_000)
    assert tab.chain.accessibleName() == "Option chain of ETH_USDT"
    # BTC's strike range would hide every ETH strike: it is cleared on the switch.
    assert tab.strike_low.text() == "" and tab.chain_model.strike_rows() == STRIKES * EXPIRY_COUNT


@pytest.mark.parametrize("width", [1280, 960])
def test_screenshot_of_the_chain(qtbot, picker, client, tmp_path, width):
    """Pictures to look at: set GATE_KILLSWITCH_SCREENSHOT_DIR to keep them. The picker takes
    about half the window's width, so this is the picker at the width it has in the window."""
    out = Path(os.environ.get("GATE_KILLSWITCH_SCREENSHOT_DIR") or tmp_path)
    tab = shown_chain(loaded(picker, client, qtbot))
    picker.resize(width // 2, 620)
    row = a_strike_row(tab)
    picker.set_selected([options(cell_name(tab, row, PUT)), options(cell_name(tab, row + 1, CALL))])
    assert picker.grab().save(str(out / f"picker-chain-{width}.png"))
    picker.set_selected([*picker.selected_targets(), options("BTC_USDT")])
    assert picker.grab().save(str(out / f"picker-chain-covered-{width}.png"))


def test_a_chain_that_fails_to_load_says_so_and_retry_loads_it(qtbot, picker, client, sim):
    fault = sim.add_fault("status", path="/options/contracts")
    picker.set_client(client, client.base_url)
    tab = picker.options_tab
    qtbot.waitUntil(lambda: tab.contracts_status.state == "error", timeout=10_000)
    assert tab.contracts_status.text.startswith("Could not load BTC_USDT option contracts: ")
    assert tab.chain_model.rowCount() == 0 and tab.count.text() == ""
    sim.clear_faults(fault)
    qtbot.mouseClick(tab.contracts_status.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.chain_model.strike_rows() == STRIKES * EXPIRY_COUNT,
                    timeout=10_000)
    assert tab.contracts_status.state == "idle"
