"""The engine's clock, passed in so tests can run time faster than the wall.

Deadlines live on :func:`monotonic`, a clock that keeps counting while the machine sleeps: on
waking, a countdown the exchange fired during the sleep must read as run out at once, with no
network needed to find out. ``time.monotonic`` does not do that everywhere:

- Linux: ``time.monotonic`` is CLOCK_MONOTONIC, which stops in suspend; CLOCK_BOOTTIME does not.
- macOS: ``time.monotonic`` is ``mach_absolute_time``, which stops in sleep; Apple documents
  ``clock_gettime(CLOCK_MONOTONIC)`` as continuing to count while the system is asleep.
- Windows: ``time.monotonic`` is GetTickCount64 before Python 3.13, which Microsoft documents
  as including sleep and hibernation, and QueryPerformanceCounter from 3.13, which is not
  documented as leaving sleep out (QueryUnbiasedInterruptTime is the one that does).
  Kept, with the engine's wall-against-monotonic watch as the second line.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Protocol


def _boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def _darwin_monotonic() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _choose() -> tuple[Callable[[], float], str]:
    if sys.platform.startswith("linux") and hasattr(time, "CLOCK_BOOTTIME"):
        return _boottime, "CLOCK_BOOTTIME"
    if sys.platform == "darwin" and hasattr(time, "CLOCK_MONOTONIC"):
        return _darwin_monotonic, "CLOCK_MONOTONIC"
    return time.monotonic, "time.monotonic"


_SOURCE, MONOTONIC_SOURCE = _choose()


def monotonic() -> float:
    """Seconds on a clock that never goes back and counts through a suspend (see above)."""
    return _SOURCE()


def clock_text(ms: int | None) -> str:
    """An exchange time (Unix ms) as a local clock time, e.g. 14:03:27."""
    if not ms:
        return "an unknown time"
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, when: float) -> None:
        """Sleep until :meth:`monotonic` reads ``when``."""


class SystemClock:
    """The real clocks: :func:`monotonic` for deadlines, ``time.time`` for display and drift.

    Sleeps are the event loop's, whose timers stop in a suspend: after one they wait out what
    they had left. That is why the engine also looks at its deadlines once a second.
    """

    def monotonic(self) -> float:
        return monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    async def sleep_until(self, when: float) -> None:
        await self.sleep(when - self.monotonic())


async def watch_clock(clock: Clock, live: Callable[[], bool],
                      check: Callable[[], Awaitable[object]]) -> None:
    """While ``live()``, about once a second: ``check()`` (fired countdowns, a wall clock that
    moved against the monotonic one).

    On the whole seconds the beats go out on (``Engine._beat_time``), so that the app wakes once
    for both.
    """
    while live():
        now = clock.monotonic()
        wake = math.floor(now) + 1.0
        if wake - now < 0.5:
            wake += 1.0
        await clock.sleep_until(wake)
        await check()
