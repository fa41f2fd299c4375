"""The window's menu, behind a "⋮" button in the header: Keys…, Preferences…, Compact strip,
Self-check…, Journal folder, About, Quit. Quit (Ctrl+Q) and the compact strip's shortcut work
without opening it.

The menu asks through the window's signals, as the header's buttons do; the app decides (Quit
asks first while armed).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolButton

from gui.dialogs.about_dialog import AboutDialog

if TYPE_CHECKING:
    from gui.window.main_window import MainWindow

QUIT_SHORTCUT = "Ctrl+Q"


def build_menu(window: MainWindow, compact_shortcut: str) -> QToolButton:
    """The "⋮" button and its menu; its actions are kept in ``window.menu_actions`` by name."""
    button = QToolButton(window)
    button.setObjectName("appMenuButton")
    button.setText("⋮")
    button.setAccessibleName("Menu")
    button.setToolTip("Keys, preferences, compact strip, self-check, journal folder, about, "
                      "quit")
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(button)
    menu.setObjectName("appMenu")
    actions: dict[str, QAction] = {}

    def add(name: str, text: str, slot: object, shortcut: str = "") -> QAction:
        action = QAction(text, window)
        action.setObjectName(f"menu_{name}")
        action.triggered.connect(slot)  # type: ignore[call-overload]
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        menu.addAction(action)
        actions[name] = action
        return action

    add("keys", "Keys…", window.keysRequested.emit)
    add("preferences", "Preferences…", window.preferencesRequested.emit)
    # The shortcut is the window's own (it works with the menu closed): only shown here.
    add("compact", f"Compact strip\t{compact_shortcut}", window.compactRequested.emit)
    checks = menu.addMenu("Self-check…")
    checks.setObjectName("menuSelfCheck")

    def fill_checks() -> None:
        checks.clear()
        listed = window.picker.selected_targets()  # type: ignore[attr-defined]
        if not listed:
            checks.addAction("Choose a target in the list first").setEnabled(False)
        for target in listed:
            checks.addAction(f"Self-check {target}",
                             functools.partial(window.selfCheckRequested.emit, target))

    checks.aboutToShow.connect(fill_checks)
    add("journal", "Journal folder", window.show_journal_folder)
    add("about", "About gate-killswitch", functools.partial(show_about, window))
    menu.addSeparator()
    quit_action = add("quit", "Quit", window.quitRequested.emit, QUIT_SHORTCUT)
    window.addAction(quit_action)  # Ctrl+Q anywhere in the window, menu closed
    button.setMenu(menu)
    window.menu_actions = actions
    return button


def show_about(window: MainWindow) -> AboutDialog:
    dialog = window.findChild(AboutDialog)
    if dialog is None:
        dialog = AboutDialog(window.journal.directory, window)
    dialog.show()
    dialog.raise_()
    return dialog
