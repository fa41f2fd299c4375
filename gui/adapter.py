"""The one place engine events become Qt signals (DESIGN.md: data flows one way).

The engine calls its listeners on the asyncio loop's thread, which under qasync is the GUI
thread; the journal calls its listeners on whatever thread wrote the line. Signals emitted from
another thread are queued to the adapter's thread by Qt, so widgets always redraw on the GUI
thread, from the objects they are handed.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from gui.core.clock import SystemClock
from gui.core.heartbeat import Engine, EngineEvent

#: the longest one Qt timer waits (its interval is a signed 32-bit count of milliseconds)
_MAX_TIMER_MS = 2**31 - 1


class PreciseClock(SystemClock):
    """The system's clocks, with the engine's sleeps on Qt's precise timers.

    Under qasync ``asyncio.sleep`` is a Qt timer of the default, coarse kind, which Qt moves by
    up to 5 % of its interval either way so that timers share wake-ups: a beat due in 15 s
    could go 0.75 s late, and a worker woken early went back to sleep for the rest, waking
    the app three or four times a beat. A precise timer fires on its millisecond, never before.
    Only for the GUI thread's loop, where the engine runs.
    """

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = QTimer()
        timer.setSingleShot(True)
        timer.setTimerType(Qt.TimerType.PreciseTimer)

        def wake() -> None:
            if not future.done():  # cancelled: the task is gone already
                future.set_result(None)

        timer.timeout.connect(wake)
        # Rounded up: whole milliseconds, and never a hair before the time asked for.
        timer.start(min(_MAX_TIMER_MS, max(0, math.ceil(seconds * 1000))))
        try:
            await future
        finally:
            timer.stop()


class EngineAdapter(QObject):
    """Subscribes to an :class:`Engine` (and a journal) and re-emits what they say as signals."""

    #: every :class:`EngineEvent`, in order
    eventReceived = Signal(object)
    #: the :class:`TargetStatus` an event carried (events about no target emit nothing here)
    statusChanged = Signal(object)
    #: every journal record (a dict), handed over to the GUI thread
    journalRecord = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine: Engine | None = None
        self._unsubscribe_engine: Callable[[], None] | None = None
        self._unsubscribe_journal: Callable[[], None] | None = None

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def attach(self, engine: Engine) -> None:
        """Listen to ``engine`` (and stop listening to the previous one)."""
        self.detach()
        self._engine = engine
        self._unsubscribe_engine = engine.subscribe(self._on_event)

    def detach(self) -> None:
        if self._unsubscribe_engine is not None:
            self._unsubscribe_engine()
        self._unsubscribe_engine = None
        self._engine = None

    def attach_journal(self, journal: Any) -> None:
        """Listen to a :class:`gui.core.journal.Journal` (anything with ``subscribe``)."""
        self.detach_journal()
        self._unsubscribe_journal = journal.subscribe(self._on_record)

    def detach_journal(self) -> None:
        if self._unsubscribe_journal is not None:
            self._unsubscribe_journal()
        self._unsubscribe_journal = None

    def close(self) -> None:
        self.detach()
        self.detach_journal()

    def _on_event(self, event: EngineEvent) -> None:
        self.eventReceived.emit(event)
        if event.status is not None:
            self.statusChanged.emit(event.status)

    def _on_record(self, record: dict[str, Any]) -> None:
        self.journalRecord.emit(record)
