"""A shared request budget per endpoint: at most ``limit`` requests in any ``window`` seconds.

Gate counts 200 requests per 10 s per endpoint and account; every worker draws from the same
budget, so many armed targets spread their beats instead of bursting into a 429.
"""

from __future__ import annotations

import collections

from gui.core.clock import Clock, SystemClock

GATE_LIMIT = 200
GATE_WINDOW_S = 10.0
# Stay under Gate's count: arrival times at the exchange jitter around our send times.
DEFAULT_LIMIT = GATE_LIMIT - 10


class Slot:
    """One counted request. ``at`` starts as the time it was counted; whoever sends the
    request moves it to the moment it really leaves, so a request that waits for a thread
    still counts for a full window from when the exchange can see it."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at

    def sent(self, at: float) -> None:
        self.at = max(self.at, at)


class RateBudget:
    def __init__(self, limit: int = DEFAULT_LIMIT, window: float = GATE_WINDOW_S,
                 clock: Clock | None = None, slack: float = 0.5) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate budget needs a positive limit and window")
        self.limit = limit
        # A request counts a little longer than the window: it leaves some time after we
        # count it, and arrives later still.
        self.window = window + slack
        self._clock = clock or SystemClock()
        self._sent: dict[str, collections.deque[Slot]] = {}
        self._paused_until: dict[str, float] = {}

    def _prune(self, endpoint: str, now: float) -> collections.deque[Slot]:
        sent = self._sent.setdefault(endpoint, collections.deque())
        # Slots are in the order they were counted; one sent late may hold expired ones
        # behind it a little longer, which only counts them on the safe side.
        while sent and sent[0].at <= now - self.window:
            sent.popleft()
        return sent

    def delay(self, endpoint: str) -> float:
        """Seconds until a request to ``endpoint`` fits the budget (0 when it fits now)."""
        now = self._clock.monotonic()
        sent = self._prune(endpoint, now)
        wait = max(0.0, self._paused_until.get(endpoint, 0.0) - now)
        if len(sent) >= self.limit:
            times = sorted(slot.at for slot in sent)
            wait = max(wait, times[len(times) - self.limit] + self.window - now)
        return wait

    async def acquire(self, endpoint: str) -> Slot:
        """Wait until a request fits, then count it. Callers are served as slots free up;
        the caller stamps the returned slot when the request is really sent."""
        while True:
            wait = self.delay(endpoint)
            if wait <= 0:
                slot = Slot(self._clock.monotonic())
                self._sent[endpoint].append(slot)
                return slot
            await self._clock.sleep(min(wait, 0.5))

    def pause(self, endpoint: str, until_mono: float) -> None:
        """Hold every request to ``endpoint`` until ``until_mono`` (the exchange said 429)."""
        self._paused_until[endpoint] = max(self._paused_until.get(endpoint, 0.0), until_mono)


