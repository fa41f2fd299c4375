"""The engine's clock, passed in so tests can run time faster than the wall."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, when: float) -> None:
        """Sleep until :meth:`monotonic` reads ``when``."""


class SystemClock:
    """The real clocks: ``time.monotonic`` for deadlines, ``time.time`` for display and drift."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    async def sleep_until(self, when: float) -> None:
        await self.sleep(when - self.monotonic())
