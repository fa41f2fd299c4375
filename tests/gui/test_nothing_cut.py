"""Nothing cut: every text of the window and the dialogs shows whole (or ends in "…" with the
whole text on hover) at 100 % and at 150 %: with large text, and on a 1920×1080 screen scaled
to 150 % (1280×720 logical), which runs in its own process (the scale is fixed at start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication

from tests.gui.cut import every_scene_cut

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_is_cut_at_100_percent(make_app: Any, qtbot: Any) -> None:
    assert every_scene_cut(make_app(), qtbot) == []


def test_nothing_is_cut_with_text_at_150_percent(make_app: Any, qtbot: Any) -> None:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    normal = qapp.font()
    large = qapp.font()
    large.setPointSizeF(normal.pointSizeF() * 1.5)
    qapp.setFont(large)
    try:
        assert every_scene_cut(make_app(), qtbot) == []
    finally:
        qapp.setFont(normal)


def test_nothing_is_cut_on_a_screen_scaled_to_150_percent(tmp_path: Path) -> None:
    screen = {"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1280, "height": 720,
                           "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1.5}]}
    config = tmp_path / "screen.json"
    config.write_text(json.dumps(screen), encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
         f"--basetemp={tmp_path / 'run'}", str(ROOT / "tests" / "gui" / "scaled_screen.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
