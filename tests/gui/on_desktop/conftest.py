"""The tests that need a real desktop. ``tests/desktop/test_real_desktop.py`` starts one (an X
server, a private session bus, dunst, trayer, GNOME Keyring) and runs these in a process of
their own on it, on the xcb platform; the offscreen session never collects them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.stack import DesktopStack

ON_DESKTOP = "GATE_KILLSWITCH_ON_DESKTOP"
BUS = "GATE_KILLSWITCH_DESKTOP_BUS"

if os.environ.get(ON_DESKTOP) != "1":
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(autouse=True)
def on_the_desktop_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's own fixtures point the session bus nowhere; these tests use the stack's."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", os.environ[BUS])
    # logind lives on the system bus; here the stand-in for it lives on the private bus.
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", os.environ[BUS])


@pytest.fixture
def stack() -> DesktopStack:
    return DesktopStack.attach({**os.environ, "DBUS_SESSION_BUS_ADDRESS": os.environ[BUS]})


@pytest.fixture
def bus_log(stack: DesktopStack, tmp_path: Path) -> Iterator[Path]:
    """What the app says to the notification server (dbus-monitor), from before it starts."""
    path = tmp_path / "bus.log"
    proc = stack.monitor(path)
    # dbus-monitor says hello to the bus before it prints anything: wait for that line.
    deadline_ok = _wait_file(path)
    assert deadline_ok, "dbus-monitor did not start"
    yield path
    proc.terminate()
    proc.wait(timeout=5)
    stack.dunstctl("close-all")


@pytest.fixture
def logind(stack: DesktopStack) -> Iterator[subprocess.Popen[str]]:
    """The stand-in for logind (tests/desktop/fake_logind.py): write "sleep\n" or "wake\n"."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.desktop.fake_logind"],
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield proc
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)
    proc.stdout.close()


def _wait_file(path: Path) -> bool:
    from tests.desktop.stack import wait_for

    try:
        wait_for(lambda: path.exists() and "NameAcquired" in path.read_text(errors="replace"),
                 "dbus-monitor", timeout=10)
    except RuntimeError:
        return False
    return True
