"""Qt test fixtures shared by the GUI tests: a qasync loop per test (docs/ARCHITECTURE.md,
"Tests").

Import the fixtures into a conftest: ``from tests.qt_fixtures import qloop  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import PySide6.QtWidgets
import pytest
import qasync


@pytest.fixture
def qloop(qapp: PySide6.QtWidgets.QApplication) -> Iterator[qasync.QEventLoop]:
    """A running qasync loop on the test's QApplication: tasks run while qtbot waits."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    asyncio._set_running_loop(loop)
    try:
        yield loop
    finally:
        asyncio._set_running_loop(None)
        loop.close()
        asyncio.set_event_loop(None)
