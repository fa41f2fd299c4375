"""Self-check… in the window, against the simulator: the menu, the dialog, and its cleanup."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt

from gui.core.client import GateClient
from gui.core.journal import Journal
from gui.core.selfcheck import Outcome
from gui.core.targets import parse_target
from gui.dialogs.selfcheck_dialog import SelfCheckDialog, run_selfcheck
from gui.simulator import Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET

pytestmark = pytest.mark.slow

ADA = parse_target("spot:ADA_USDT")  # the demo has no order there
BTC = parse_target("spot:BTC_USDT")  # the demo has orders there


def _menu_check(app, target) -> SelfCheckDialog:  # type: ignore[no-untyped-def]
    app.window.picker.set_selected([target])
    menu = app.window.selfcheck_button.menu()
    menu.aboutToShow.emit()
    actions = {a.text(): a for a in menu.actions()}
    actions[f"Self-check {target}"].trigger()
    dialog = app.selfcheck_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_the_menu_runs_a_passing_check_and_leaves_nothing(make_app, qtbot, demo_sim):
    app = make_app()
    dialog = _menu_check(app, ADA)
    assert not dialog.place_button.isVisible()  # the simulator is no live account
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=20_000)
    assert dialog.report.outcome is Outcome.PASS, dialog.log.toPlainText()
    assert dialog.verdict.text().startswith("PASS")
    assert "Nothing was left behind" in dialog.log.toPlainText()
    assert dialog.close_button.isEnabled()
    assert not [o for o in demo_sim.open_orders() if o.get("currency_pair") == "ADA_USDT"]
    assert demo_sim.countdowns() == {}
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)


def test_a_scope_with_orders_is_refused_and_left_alone(make_app, qtbot, demo_sim):
    app = make_app()
    before = demo_sim.open_orders()
    dialog = _menu_check(app, BTC)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    assert dialog.report.outcome is Outcome.REFUSED
    assert "open order" in dialog.verdict.text()
    assert demo_sim.open_orders() == before and demo_sim.countdowns() == {}


def test_an_armed_target_is_not_checked(make_app, qtbot, demo_sim):
    app = make_app(arm=[ADA])
    qtbot.waitUntil(lambda: app.window.mode == "stop", timeout=5_000)
    app.open_selfcheck(ADA)
    assert app.selfcheck_dialog is None
    assert not [r for r in demo_sim.requests("/spot/orders") if r.method == "POST"]


def test_a_live_account_places_nothing_until_confirmed(qtbot, qloop, sim: Simulator):
    dialog = SelfCheckDialog(ADA, live=True)
    qtbot.addWidget(dialog)
    dialog.show()
    client = GateClient(sim.base_url, TEST_KEY, TEST_SECRET)
    job = asyncio.ensure_future(run_selfcheck(dialog, client, Journal()))
    qtbot.waitUntil(lambda: dialog.place_button.isEnabled(), timeout=10_000)
    text = dialog.log.toPlainText()
    assert "The self-check will place this order:" in text and "Reserves:" in text
    assert sim.open_orders() == []
    dialog.close()  # closing before confirming is a no
    qtbot.waitUntil(job.done, timeout=5_000)
    assert job.result().outcome is Outcome.REFUSED
    assert not [r for r in sim.requests("/spot/orders") if r.method == "POST"]
    assert sim.countdowns() == {}
    client.close()
