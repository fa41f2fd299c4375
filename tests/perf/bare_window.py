#!/usr/bin/env python3
"""The yardstick of ``startup_s``: a bare PySide6 window on a qasync loop, nothing else.

    python tests/perf/bare_window.py

Timed as the app times itself (``gui/__main__.py``'s ``PROCESS_START``, the first paint of any
of the window's widgets, a singleShot later): prints ``{"startup_s": ...}`` and exits. What
the app takes beyond this is its own start-up; what this takes is Python, Qt and the loop.
"""

from __future__ import annotations

import time

PROCESS_START = time.time()

import asyncio  # noqa: E402  (after the clock starts, as in gui/__main__.py)
import json  # noqa: E402
import sys  # noqa: E402

import PySide6.QtWidgets  # noqa: E402, F401  (PySide6 before qasync, so qasync picks it)
import qasync  # noqa: E402
from PySide6.QtCore import QEvent, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QWidget  # noqa: E402


class FirstPaint(QObject):
    """Resolves ``done`` after the first paint of a widget of ``window`` has been delivered."""

    def __init__(self, window: QMainWindow, done: asyncio.Future[float]) -> None:
        super().__init__(window)
        self._window = window
        self._done = done

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (not self._done.done() and event.type() == QEvent.Type.Paint
                and isinstance(watched, QWidget) and watched.window() is self._window):
            QTimer.singleShot(0, lambda: self._done.done()
                              or self._done.set_result(time.time() - PROCESS_START))
        return False


async def first_paint(app: QApplication) -> float:
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.setCentralWidget(QLabel("A bare window"))
    window.resize(640, 480)
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    watcher = FirstPaint(window, done)
    app.installEventFilter(watcher)
    window.show()
    took = await done
    app.removeEventFilter(watcher)
    window.close()
    return took


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        took = loop.run_until_complete(first_paint(app))
    print(json.dumps({"startup_s": round(took, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
