"""Fixtures for the widget tests: offscreen Qt, a qasync loop, a simulator, isolated dirs.

Nothing here touches the internet, the user's keyring or the user's config, cache or data.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from gui.core.keys import KeyStore, ProfileStore
from gui.core.settings import SettingsStore
from gui.simulator import Simulator
from tests.memkeyring import MemoryKeyring
from tests.qt_fixtures import qloop  # noqa: F401
from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET

# Qt warnings fail these tests, except what the offscreen platform always prints: the two that
# docs/ARCHITECTURE.md names
# lines, and propagateSizeHints, which every top-level window with a layout triggers offscreen.
OFFSCREEN_NOISE = (
    r"This plugin does not support raise\(\)",
    r".*systemTrayWindowChanged.*",
    r"This plugin does not support propagateSizeHints\(\)",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE))


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator with one read-write key, one read-only key and the demo's open orders."""
    with Simulator(keys={TEST_KEY: TEST_SECRET}, read_only_keys={RO_KEY: RO_SECRET},
                   demo=True) as running:
        yield running


@pytest.fixture
def app_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Config, cache and data directories under tmp_path, named by the app's env variables."""
    dirs = {name: tmp_path / name for name in ("config", "cache", "data")}
    for name, path in dirs.items():
        path.mkdir()
        monkeypatch.setenv(f"GATE_KILLSWITCH_{name.upper()}_DIR", str(path))
    return dirs


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    """An in-memory keyring, handed to KeyStore: keyring's global default is never touched."""
    return MemoryKeyring()


@pytest.fixture
def profiles(app_dirs: dict[str, Path], memory_keyring: MemoryKeyring) -> ProfileStore:
    """Profiles in the tmp config dir, their keys in the in-memory keyring."""
    return ProfileStore(SettingsStore(), KeyStore(memory_keyring))


def run(qtbot: Any, coro: Coroutine[Any, Any, Any], timeout: int = 10_000) -> Any:
    """Run ``coro`` on the test's qasync loop while Qt keeps processing events; its result."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


__all__ = ["RO_KEY", "RO_SECRET", "TEST_KEY", "TEST_SECRET", "run"]
