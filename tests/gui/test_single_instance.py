"""One instance per user and config directory; a second launch raises the first window."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QDir

from gui.single_instance import SingleInstance, instance_name

ROOT = Path(__file__).resolve().parents[2]


def test_the_name_depends_on_the_config_dir(tmp_path):
    a, b = instance_name(tmp_path / "a"), instance_name(tmp_path / "b")
    assert a != b and a == instance_name(tmp_path / "a")
    assert a.startswith("gate-killswitch-") and len(a) < 80


def test_a_second_instance_is_told_already_running_and_raises_the_first(
        make_app, qtbot, tmp_path):
    app = make_app()
    name = instance_name(tmp_path / "config")
    first = SingleInstance(name)
    second = SingleInstance(name)
    try:
        assert first.claim() is True
        first.showRequested.connect(app.show_window)
        app.window.hide()
        with qtbot.waitSignal(first.showRequested, timeout=5_000):
            assert second.claim() is False
        qtbot.waitUntil(app.window.isVisible, timeout=2_000)
        assert not second.listening
    finally:
        for instance in (first, second):
            instance.close()
            instance.deleteLater()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix socket files only")
def test_a_stale_socket_file_is_replaced(tmp_path):
    name = instance_name(tmp_path / "stale")
    path = os.path.join(QDir.tempPath(), name)
    # What a crashed instance leaves: a socket file nobody listens on.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    instance = SingleInstance(name)
    try:
        assert instance.claim() is True
        assert instance.listening
    finally:
        instance.close()
        instance.deleteLater()


def test_a_second_launch_exits_zero_and_raises_the_running_window(make_app, qtbot, tmp_path):
    app = make_app()
    first = SingleInstance(instance_name(tmp_path / "config"))
    try:
        assert first.claim()
        first.showRequested.connect(app.show_window)
        app.window.hide()
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "GATE_KILLSWITCH_CONFIG_DIR": str(tmp_path / "config"),
               "GATE_KILLSWITCH_DATA_DIR": str(tmp_path / "data"),
               "GATE_KILLSWITCH_CACHE_DIR": str(tmp_path / "cache")}
        with qtbot.waitSignal(first.showRequested, timeout=10_000):
            done = subprocess.run([sys.executable, "-m", "gui", "--demo"], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "already running" in done.stderr
        assert app.window.isVisible()
    finally:
        first.close()
        first.deleteLater()
