"""GUI test fixtures: an app on the in-process simulator, isolated from the person's machine.

Every test gets its own config, data and cache directories under ``tmp_path`` and an in-memory
keyring; the window runs offscreen on a qasync loop (``qloop``, see docs/ARCHITECTURE.md, "Tests").
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from gui.controller import AppController
from gui.core.client import GateClient
from gui.core.heartbeat import State
from gui.core.journal import Journal
from gui.core.settings import SettingsStore
from gui.options import GuiOptions, Phase
from gui.qt_workarounds import guard_refcounts
from gui.simulator import Simulator
from tests.memkeyring import MemoryKeyring
from tests.qt_fixtures import qloop  # noqa: F401  (the fixture, used by name)
from tests.simkeys import TEST_KEY, TEST_SECRET

# PySide6 6.12.0 on Python 3.11 loses a reference to None or True at every void call and emit:
# without this, a long test session aborts ("none_dealloc"), as the app would (see app.py).
guard_refcounts()

# The simulator's minimum timeout is 5 s: short countdowns keep the tests short.
TIMEOUT = 5
INTERVAL = 1.25


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Temporary config/data/cache dirs and an in-memory keyring, for every GUI test."""
    for name, sub in (("GATE_KILLSWITCH_CONFIG_DIR", "config"),
                      ("GATE_KILLSWITCH_DATA_DIR", "data"),
                      ("GATE_KILLSWITCH_CACHE_DIR", "cache")):
        monkeypatch.setenv(name, str(tmp_path / sub))
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        yield memory
    finally:
        keyring.set_keyring(previous)


AppFactory = Callable[..., AppController]


@pytest.fixture
def make_app(request: pytest.FixtureRequest, qtbot: Any, demo_sim: Simulator, tmp_path: Path
             ) -> Iterator[AppFactory]:
    """Build a started app whose client talks to ``demo_sim`` with the test key."""
    request.getfixturevalue("qloop")  # a running qasync loop, torn down after the apps
    made: list[AppController] = []

    def make(*, client: GateClient | None = None, use_tray: bool = False,
             theme: Any = None, **options: Any) -> AppController:
        options.setdefault("timeout", TIMEOUT)
        options.setdefault("interval", INTERVAL)
        controller = AppController(
            GuiOptions(**options),
            settings_store=SettingsStore(tmp_path / "config"),
            journal=Journal(tmp_path / "data"),
            client=client or GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET),
            client_label="Simulator", cache_key="sim", use_tray=use_tray, theme=theme)
        made.append(controller)
        controller.window.resize(1200, 800)
        controller.start()
        qtbot.waitUntil(lambda: controller.phase >= Phase.PAINTED, timeout=10_000)
        return controller

    make.adopt = made.append  # type: ignore[attr-defined]  # for controllers built by hand
    yield make
    for controller in made:
        if controller.phase is not Phase.FINISHED:
            demo_sim.clear_faults()
            future = asyncio.ensure_future(controller.quit_now())
            qtbot.waitUntil(future.done, timeout=20_000)
        controller.window.deleteLater()
        controller.deleteLater()
    made.clear()


@pytest.fixture(autouse=True)
def collect_qt_garbage(qtbot: Any) -> Iterator[None]:
    """Delete what a test left behind here, on the GUI thread.

    A Qt object kept alive only by a reference cycle is otherwise deleted whenever Python's
    collector next runs, which may be on a worker thread (an HTTP request, the simulator):
    its timers then fire on a deleted object and crash the process.
    """
    yield
    qtbot.wait(1)
    gc.collect()


def card_states(controller: AppController) -> dict[str, State]:
    return {str(t): card.state for t, card in controller.window.cards.items()}
