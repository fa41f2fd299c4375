"""The one place engine events become Qt signals (docs/ARCHITECTURE.md: data flows one way).

The engine calls its listeners on the asyncio loop's thread, which under qasync is the GUI
thread; the journal calls its listeners on whatever thread wrote the line. Signals emitted from
another thread are queued to the adapter's thread by Qt, so widgets always redraw on the GUI
thread, from the objects they are handed.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from gui.core.clock import SystemClock
from gui.core.heartbeat import Engine, EngineEvent

#: the longest one Qt timer waits (its interval is a signed 32-bit count of milliseconds)
_MAX_TIMER_MS = 2**31 - 1


class PreciseClock(SystemClock):
    """The system's clocks, with the engine's sleeps on one precise Qt timer.

    Under qasync ``asyncio.sleep`` is a Qt timer of the default, coarse kind, which Qt moves by
    up to 5 % of its interval either way so that timers share wake-ups: a beat due in 15 s
    could go 0.75 s late, and a worker woken early went back to sleep for the rest, waking
    the app three or four times a beat. A precise timer fires on its millisecond, never before.

    One timer serves every sleep, set for the soonest. A sleep ends on the whole millisecond of
    the monotonic clock at or after its time, so sleeps that end at the same moment (the beats
    and the clock watch, on whole seconds: ``Engine._beat_time``) end in one wake-up of the app.
    Only for the GUI thread's loop, where the engine runs.
    """

    def __init__(self) -> None:
        super().__init__()
        self._timer: QTimer | None = None
        self._due: float | None = None  # what the timer is set for
        # (when, order, future): a heap, soonest first
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.monotonic() + max(0.0, seconds))

    async def sleep_until(self, when: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Rounded up: whole milliseconds, and never a hair before the time asked for.
        entry = (math.ceil(when * 1000) / 1000, next(self._order), future)
        heapq.heappush(self._sleepers, entry)
        self._set_timer()
        try:
            await future
        finally:
            if not future.done() or future.cancelled():  # its time no longer keeps the timer
                with contextlib.suppress(ValueError):  # ValueError: its time came already
                    self._sleepers.remove(entry)
                    heapq.heapify(self._sleepers)
                self._set_timer()

    def _set_timer(self) -> None:
        if self._timer is None:
            self._timer = QTimer()
            self._timer.setSingleShot(True)
            self._timer.setTimerType(Qt.TimerType.PreciseTimer)
            self._timer.timeout.connect(self._wake)
        if not self._sleepers:
            self._timer.stop()
            self._due = None
            return
        due = self._sleepers[0][0]
        if due == self._due and self._timer.isActive():
            return
        self._due = due
        wait = math.ceil((due - self.monotonic()) * 1000)
        self._timer.start(min(_MAX_TIMER_MS, max(0, wait)))

    def _wake(self) -> None:
        self._due = None
        now = self.monotonic()
        while self._sleepers and self._sleepers[0][0] <= now:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)
        self._set_timer()


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
