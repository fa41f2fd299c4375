"""Finding text a person cannot read whole: a label, button or check box narrower (or, wrapped,
shorter) than its text, or a widget sticking out of the one it is in.

A label that elides on purpose (``ElidedLabel``; a ``SteadyLabel`` given a width limit) is not
cut: it ends in "…" and keeps the whole text in its tooltip.
"""

from __future__ import annotations

import time
from typing import Any

import keyring
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QLabel,
    QTabBar,
    QWidget,
)

from gui.controller import AppController
from gui.core.heartbeat import State, TargetStatus
from gui.core.targets import Target, parse_target
from gui.window.layout import ElidedLabel
from gui.window.painted import SteadyLabel


def _name(widget: QWidget) -> str:
    text = getattr(widget, "text", lambda: "")()
    return f"{type(widget).__name__} {widget.objectName() or widget.accessibleName()!r} {text!r}"


def _in_scroll_area(widget: QWidget, root: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def cut_texts(root: QWidget) -> list[str]:
    """What in ``root`` (shown) does not show its whole text, one line each."""
    problems: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible() or widget.visibleRegion().isEmpty():
            continue
        if isinstance(widget, ElidedLabel):
            continue
        if isinstance(widget, SteadyLabel) and widget.is_elided():
            if widget.toolTip() != widget.text():
                problems.append(f"elided without its whole text on hover: {_name(widget)}")
            continue
        if isinstance(widget, QLabel):
            if not widget.text() or not widget.pixmap().isNull():
                continue
            if widget.wordWrap():
                need = widget.heightForWidth(widget.width())
                if need > widget.height() + 1:
                    problems.append(f"wrapped text cut ({need} > {widget.height()} px high): "
                                    f"{_name(widget)}")
            elif widget.sizeHint().width() > widget.width() + 1:
                problems.append(f"text cut ({widget.sizeHint().width()} > {widget.width()} px "
                                f"wide): {_name(widget)}")
        elif isinstance(widget, QAbstractButton) and widget.text():
            if widget.sizeHint().width() > widget.width() + 1:
                problems.append(f"button text cut ({widget.sizeHint().width()} > "
                                f"{widget.width()} px): {_name(widget)}")
        elif isinstance(widget, QTabBar):
            for index in range(widget.count()):
                if widget.tabSizeHint(index).width() > widget.tabRect(index).width() + 1:
                    problems.append(f"tab cut: {widget.tabText(index)!r}")
        # Sticking out of its parent (a scroll area's content is meant to).
        parent = widget.parentWidget()
        if widget is not root and parent is not None and not widget.isWindow() \
                and not _in_scroll_area(widget, root) \
                and not QRect(QPoint(0, 0), parent.size()).contains(widget.geometry()):
            problems.append(f"outside {type(parent).__name__} {parent.objectName()!r}: "
                            f"{_name(widget)}")
    return problems


# -- every screen a person meets, each checked whole -------------------------------------------

SIZES = (QSize(960, 1000), QSize(1280, 720))
MANY = ("spot:BTC_USDT", "options:BTC_USDT", "options:BTC_USDT-20261204-60000-C",
        "options:ETH_USDT-20261231-4000-P", "futures:usdt:BTC_USDT", "futures:btc:BTC_USD",
        "spot:all", "spot:ETH_USDT")


def _status(target: Target, state: State, left: float, reason: str = "") -> TargetStatus:
    now = time.monotonic()
    return TargetStatus(
        target=target, state=state, timeout=60, interval=15.0,
        trigger_time_ms=int((time.time() + left) * 1000), deadline_mono=now + left,
        last_latency=0.012, last_ack_mono=now - 3, beats=4, reason=reason,
        fired_at_ms=int(time.time() * 1000) if state is State.FIRED else None)


def every_scene_cut(app: AppController, qtbot: Any) -> list[str]:
    """Show the window (idle on each tab of the picker, the option chain loaded; three cards;
    many compact rows; each at a laptop's 1280×720 and half a 1920 screen) and every dialog
    (quitting with many scopes, cancel now, the self-check, preferences, about, keys with a
    long URL error); what is cut in each, as "scene: problem"."""
    from gui.core.keys import KeyStore, ProfileStore
    from gui.core.settings import SettingsStore
    from gui.dialogs.about_dialog import AboutDialog
    from gui.dialogs.keys_dialog import ENDPOINT_CUSTOM, ProfilesDialog
    from gui.dialogs.preferences_dialog import PreferencesDialog
    from gui.dialogs.quit_dialog import QuitDialog
    from gui.dialogs.selfcheck_dialog import SelfCheckDialog
    from gui.window.main_window import confirm_cancel_now

    found: list[str] = []

    def look(scene: str, widget: QWidget) -> None:
        qtbot.wait(60)  # posted layouts and repaints
        found.extend(f"{scene}: {problem}" for problem in cut_texts(widget))

    window = app.window
    targets = [parse_target(t) for t in MANY]

    def each_size(scene: str) -> None:
        for size in SIZES:
            window.resize(size)
            window.tick()
            look(f"{scene} {size.width()}x{size.height()}", window)

    each_size("idle")
    picker = window.picker
    picker.tabs.setCurrentWidget(picker.options_tab)  # the option chain, loaded
    qtbot.waitUntil(lambda: picker.options_tab.chain_model.strike_rows() > 0, timeout=10_000)
    each_size("option chain")
    picker.tabs.setCurrentWidget(picker.futures_tab)
    each_size("futures")
    picker.tabs.setCurrentIndex(0)
    window.update_status(_status(targets[0], State.DEGRADED, 20, "retrying: connection reset"))
    window.update_status(_status(targets[1], State.ARMED, 40))
    window.update_status(_status(targets[2], State.FIRED, 0))
    each_size("three cards")
    for target in targets[3:]:
        window.update_status(_status(target, State.ARMED, 45))
    for card in window.cards.values():
        card.set_orders([])
    each_size("compact rows")

    keys = ProfilesDialog(ProfileStore(SettingsStore(), KeyStore(keyring.get_keyring())), window)
    keys.show()
    keys.name_edit.setText("proxy")
    keys.endpoint_combo.setCurrentIndex(ENDPOINT_CUSTOM)
    keys.url_edit.setText("http://example.com/api/v4/a/long/path/through/a/company/proxy")
    keys.key_edit.setText("k" * 32)
    keys.secret_edit.setText("s" * 64)
    keys.save_button.click()  # refused, in place: plain http
    qtbot.waitUntil(keys.url_message.isVisible, timeout=5_000)
    dialogs: list[tuple[str, QWidget]] = [
        ("quitting", QuitDialog(targets, window)),
        ("cancel now", confirm_cancel_now(window, targets)),
        ("self-check", SelfCheckDialog(targets[0], live=True, parent=window)),
        ("preferences", PreferencesDialog(sound=True, theme="system", start_at_login=False,
                                          can_start_at_login=True, parent=window)),
        ("about", AboutDialog(None, window)),
        ("keys", keys),
    ]
    for scene, dialog in dialogs:
        dialog.show()
        qtbot.waitExposed(dialog)
        look(scene, dialog)
        dialog.close()
        dialog.deleteLater()
    return found
