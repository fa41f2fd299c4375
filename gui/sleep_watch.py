"""The computer going to sleep and waking (Linux: logind's ``PrepareForSleep`` on the system bus).

A sleeping computer sends no beats: each armed countdown runs out on the exchange while it
sleeps, and Gate cancels those orders. That is the switch doing its job, but the person should
know before and after. Before, the journal says when each countdown will fire. After, the app
does not wait for the clock watch's next tick: the engine checks the clocks at once
(:meth:`~gui.core.heartbeat.Engine.check_clock`), the window and tray are redrawn from what the
engine now knows, a countdown that ran out is reported fired by its worker, and the open orders
of every scope are fetched again.

Elsewhere (Windows, macOS, no system bus, no logind) there is no signal; the clock watch still
notices the jump within about a second of waking.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import SLOT, QObject, Signal, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage

from gui.core.heartbeat import Engine
from gui.core.journal import Journal
from gui.words import clock_text

log = logging.getLogger(__name__)

LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"
_SLOT = "_prepare_for_sleep(QDBusMessage)"


class SleepWatch(QObject):
    """``sleeping`` just before the computer sleeps, ``woke`` just after it wakes."""

    sleeping = Signal()
    woke = Signal()

    def __init__(self, bus: QDBusConnection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        self.listening = bus.connect(LOGIND, LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep",
                                     self, SLOT(_SLOT))

    @classmethod
    def connect_system(cls, parent: QObject | None = None) -> SleepWatch | None:
        if not sys.platform.startswith("linux"):
            return None
        bus = QDBusConnection.systemBus()
        if not bus.isConnected():
            log.info("No system bus: the computer's sleep is noticed by the clock watch only")
            return None
        watch = cls(bus, parent)
        return watch if watch.listening else None

    @Slot(QDBusMessage)
    def _prepare_for_sleep(self, message: QDBusMessage) -> None:
        args = message.arguments()
        if len(args) != 1 or not isinstance(args[0], bool):
            return
        (self.sleeping if args[0] else self.woke).emit()

    def close(self) -> None:
        if self.listening:
            self._bus.disconnect(LOGIND, LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep", self,
                                 SLOT(_SLOT))
            self.listening = False


def sleep_text(engine: Engine | None) -> str:
    """What the journal says as the computer goes to sleep."""
    armed = list(engine.armed_targets) if engine is not None else []
    if not armed:
        return "the computer is going to sleep; nothing is armed"
    fires = []
    for target in armed:
        status = engine.status(target) if engine is not None else None
        if status is None or not status.trigger_time_ms:
            fires.append(f"{target} (no beat acknowledged yet: when is not known)")
        else:
            fires.append(f"{target} at {clock_text(status.trigger_time_ms)}")
    return ("the computer is going to sleep; the countdowns will fire at "
            + ", ".join(fires) + " unless it wakes and beats before then")


class SleepReaction(QObject):
    """What the app does about sleep; handed the app's parts as callables, not the controller."""

    def __init__(self, watch: SleepWatch, journal: Journal, engine: Callable[[], Engine | None],
                 spawn: Callable[..., object], redraw: Callable[[], None],
                 refresh_orders: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.watch = watch
        self._journal = journal
        self._engine = engine
        self._spawn = spawn
        self._redraw = redraw
        self._refresh_orders = refresh_orders
        watch.sleeping.connect(self.going_to_sleep)
        watch.woke.connect(self.woke)

    def going_to_sleep(self) -> None:
        self._journal.write("sleep", message=sleep_text(self._engine()))

    def woke(self) -> None:
        self._spawn(self._reconcile())

    async def _reconcile(self) -> None:
        engine = self._engine()
        self._journal.write("wake", message="the computer woke; checking every countdown now")
        if engine is not None:
            await engine.check_clock()
        self._redraw()
        self._refresh_orders()

    def close(self) -> None:
        self.watch.close()
