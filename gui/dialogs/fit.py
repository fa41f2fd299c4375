"""Dialogs that grow to their messages.

A top-level window sizes itself by its layout's minimum, which ignores how many lines a wrapped
label takes at the window's real width: a long message (many scopes, an error naming a URL,
large text) was cut at the bottom. :func:`grow_to_fit` makes a dialog at least as tall as its
layout needs at its width, when it is shown and whenever its content changes; never shrinks it
below what the person chose, never beyond the screen (a scroll area inside is then the answer).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QDialog, QWidget


class _GrowToFit(QObject):
    def __init__(self, dialog: QDialog) -> None:
        super().__init__(dialog)
        self._dialog = dialog

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._dialog and event.type() in (
                QEvent.Type.Show, QEvent.Type.LayoutRequest, QEvent.Type.Resize):
            fit_height(self._dialog)
        return False


def fit_height(dialog: QWidget) -> None:
    """Make ``dialog`` as tall as its layout needs at its width (within its screen)."""
    layout = dialog.layout()
    if layout is None:
        return
    width = dialog.width()
    need = (layout.totalHeightForWidth(width) if layout.hasHeightForWidth()
            else layout.totalMinimumSize().height())
    screen = dialog.screen()
    if screen is not None:
        need = min(need, screen.availableGeometry().height())
    if need > 0 and dialog.minimumHeight() != need:
        dialog.setMinimumHeight(need)
    if dialog.height() < need:
        dialog.resize(width, need)


def grow_to_fit(dialog: QDialog) -> None:
    """Keep ``dialog`` tall enough for its wrapped messages (see the module's docstring)."""
    dialog.installEventFilter(_GrowToFit(dialog))
