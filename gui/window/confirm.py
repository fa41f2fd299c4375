"""The panic confirmation: cancel every open order in the scopes named, now.

Its own module so that the window's module keeps to its layout and cards; the window re-exports
it for the controller.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QMessageBox, QWidget

from gui.core.targets import Target
from gui.words import futures_note


def confirm_cancel_now(parent: QWidget, targets: Iterable[Target], *, armed: bool = True
                       ) -> QMessageBox:
    """The panic confirmation, naming every scope. Show it with ``open()``; the answer is
    ``box.clickedButton() is box.property('confirm')``-style: connect ``accepted``."""
    chosen = list(targets)
    scopes = "\n".join(f"  •  {t.describe()}  ({t})" for t in chosen)
    box = QMessageBox(parent)
    box.setObjectName("cancelNowDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Cancel orders now?")
    box.setText("Cancel every open order in these scopes now?")
    note = futures_note(chosen)
    box.setInformativeText(
        f"{scopes}\n\nThis cannot be undone. "
        + ("The countdowns are not changed: armed targets stay armed." if armed
           else "Nothing is armed, and this arms nothing.") + (f"\n{note}" if note else ""))
    confirm = box.addButton("Cancel these orders", QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton("Keep them", QMessageBox.ButtonRole.RejectRole)
    confirm.setObjectName("confirmCancelNow")
    confirm.setAutoDefault(False)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    return box
