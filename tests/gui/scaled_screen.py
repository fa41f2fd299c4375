"""Run by tests/gui/test_nothing_cut.py in a process of its own, on an offscreen screen scaled
to 150 % (not collected on its own: its name is not test_*.py)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication

from tests.gui.cut import every_scene_cut


def test_nothing_is_cut_on_this_screen(make_app: Any, qtbot: Any) -> None:
    screen = QApplication.primaryScreen()
    assert screen.devicePixelRatio() == 1.5 and screen.size().width() == 1280
    assert every_scene_cut(make_app(), qtbot) == []
