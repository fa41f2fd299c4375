"""The window with an option contract picked from the chain, armed against the simulator."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt

from gui.core.heartbeat import State
from gui.core.targets import options
from gui.picker.option_chain import CALL, PUT
from tests.gui.conftest import card_states


def test_the_put_alone_is_armed_and_beaten_on_its_own(make_app, qtbot, demo_sim, tmp_path):
    app = make_app()
    window, picker = app.window, app.window.picker
    tab = picker.options_tab
    picker.tabs.setCurrentWidget(tab)
    model = tab.chain_model
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=10_000)
    out = Path(os.environ.get("GATE_KILLSWITCH_SCREENSHOT_DIR") or tmp_path)
    row = model.heading_rows()[0] + 4
    call, put = model.contract_at(model.index(row, CALL)), model.contract_at(model.index(row, PUT))
    assert call is not None and put is not None and call.name[:-2] == put.name[:-2]
    index = model.index(row, PUT)
    tab.chain.scrollTo(index)
    qtbot.mouseClick(tab.chain.viewport(), Qt.MouseButton.LeftButton,
                     pos=tab.chain.visualRect(index).center())
    assert picker.selected_targets() == [options(put.name)]
    for width, height in ((1280, 720), (960, 720)):
        window.resize(width, height)
        qtbot.waitUntil(lambda w=width: window.width() == w, timeout=2_000)
        assert window.grab().save(str(out / f"window-options-{width}.png"))

    button = window.arm_button
    qtbot.waitUntil(button.isEnabled, timeout=5_000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    scope = f"options:{put.name}"
    qtbot.waitUntil(lambda: card_states(app) == {scope: State.ARMED}, timeout=5_000)
    # Gate's options countdown takes the contract itself: only that scope is beaten, not the
    # call beside it nor the underlying.
    assert set(demo_sim.countdowns()) == {scope}
    beats = demo_sim.requests("/options/countdown_cancel_all")
    assert beats and {b.scope for b in beats} == {scope}
    assert picker.is_locked()
    assert not model.flags(index) & Qt.ItemFlag.ItemIsUserCheckable

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.mode == "arm", timeout=10_000)
    assert demo_sim.countdowns() == {}
