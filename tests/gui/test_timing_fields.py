"""The countdown's fields say each problem once, and what they show is what arms."""

from __future__ import annotations

from PySide6.QtCore import Qt

from gui.core.targets import parse_target

BTC = parse_target("spot:BTC_USDT")


def _type(qtbot, spin, text: str) -> None:
    """Type into a field as a person does, without leaving it (nothing committed yet)."""
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)


def test_a_value_typed_but_not_committed_is_what_the_message_says_and_what_arms(
        make_app, qtbot, demo_sim):
    app = make_app(timeout=60, interval=15.0)
    window = app.window
    window.picker.set_selected([BTC])
    window.show_and_raise()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    # Not shorter than the timeout: said at once, and ARM cannot be pressed.
    _type(qtbot, window.interval_spin, "60")
    assert window.timing_message.property("level") == "error"
    assert "shorter than the timeout" in window.timing_message.text()
    assert not window.arm_button.isEnabled()
    qtbot.keyClick(window.interval_spin, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(200)
    assert demo_sim.countdowns() == {}
    # A good value, still in the field: the message reads it, and Ctrl+Enter arms with it.
    _type(qtbot, window.interval_spin, "12")
    assert "a beat every 12 s" in window.timing_message.text()
    assert window.arm_button.isEnabled()
    qtbot.keyClick(window.interval_spin, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "spot:BTC_USDT" in demo_sim.countdowns(), timeout=5_000)
    assert app.engine is not None
    status = app.engine.status(BTC)
    assert status is not None and (status.timeout, status.interval) == (60, 12.0)
    assert window.interval_spin.text() == "12 s"


def test_a_timing_problem_is_said_once(make_app, qtbot):
    app = make_app(timeout=60, interval=15.0)
    window = app.window
    window.picker.set_selected([BTC])
    _type(qtbot, window.interval_spin, "0.1")
    problem = window.timing_message.text()
    assert problem == "0.1 s is too short: at least 0.5 s."
    assert problem not in window.button_hint.text()
    assert "countdown settings" in window.button_hint.text()
    # The button's tooltip still says why, for the person hovering it.
    assert problem in window.arm_button.toolTip()
