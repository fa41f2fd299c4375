"""A fast clock and an in-memory exchange for engine unit tests.

The engine runs on an injected clock; here it runs ``SPEED`` times faster than real time, so a
5 s countdown (Gate's minimum) passes in a quarter of a second without bending Gate's rules.
The fake exchange keeps one timer per scope on the same clock and fires it like Gate would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gui.core.client import CancelResult, ClockSync, CountdownAck
from gui.core.errors import GateError, NetworkError
from gui.core.targets import Target

SPEED = 20.0
SERVER_OFFSET = 1_700_000_000.0  # exchange time = fast monotonic + this


class FastClock:
    def __init__(self, speed: float = SPEED) -> None:
        self.speed = speed
        self._real0 = time.monotonic()
        self.wall_jump = 0.0  # simulates the wall clock being set

    def monotonic(self) -> float:
        return (time.monotonic() - self._real0) * self.speed

    def wall(self) -> float:
        return SERVER_OFFSET + self.monotonic() + self.wall_jump

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self.speed)

    async def sleep_until(self, when: float) -> None:
        await self.sleep(when - self.monotonic())

    def real_sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0) / self.speed)


@dataclass
class Firing:
    target: Target
    trigger_s: float


@dataclass
class Call:
    target: Target
    timeout: int
    sent: float
    processed: float | None = None
    outcome: str = ""


Behaviour = Callable[[Target, int], "str | tuple[str, float] | GateError | None"]


@dataclass
class FakeExchange:
    """Countdown timers per scope, fired lazily whenever anyone looks."""

    clock: FastClock
    timers: dict[Target, float] = field(default_factory=dict)  # server seconds
    firings: list[Firing] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return self.clock.monotonic() + SERVER_OFFSET

    def settle(self) -> None:
        now = self.now()
        with self.lock:
            for target, trigger in list(self.timers.items()):
                if trigger <= now:
                    del self.timers[target]
                    self.firings.append(Firing(target, trigger))

    def apply(self, target: Target, timeout: int) -> int:
        self.settle()
        now = self.now()
        with self.lock:
            if timeout == 0:
                self.timers.pop(target, None)
                return 0
            trigger = now + timeout
            self.timers[target] = trigger
            return int(trigger * 1000)

    def armed(self) -> set[Target]:
        self.settle()
        with self.lock:
            return set(self.timers)


class FakeClient:
    """Implements the engine's CountdownClient over a FakeExchange.

    ``behave`` decides each call: None/"ok" answers at once; ("slow", s) answers after s
    seconds (fast clock) but gives up at the request timeout; ("late", s) is processed by the
    exchange s seconds later whatever the client does (a request stuck in the network);
    ("hang", s) is never processed; a GateError is raised (after the exchange processed the
    call when its fate is unknown, e.g. a NetworkError built with processed=True).
    """

    def __init__(self, exchange: FakeExchange, behave: Behaviour | None = None) -> None:
        self.exchange = exchange
        self.behave = behave or (lambda target, timeout: None)
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        clock = exchange.clock
        self._sync = ClockSync(server_minus_mono=SERVER_OFFSET,
                               wall_minus_mono=clock.wall() - clock.monotonic(), rtt=0.002,
                               measured_mono=clock.monotonic())
        self.clock_syncs = 0

    @property
    def clock(self) -> ClockSync:
        return self._sync

    def ensure_clock(self, timeout: float | None = None) -> ClockSync:
        self.clock_syncs += 1
        return self._sync

    def countdown(self, target: Target, timeout: int, *,
                  request_timeout: float | None = None) -> CountdownAck:
        clock = self.exchange.clock
        sent = clock.monotonic()
        call = Call(target, timeout, sent)
        with self._lock:
            self.calls.append(call)
        action = self.behave(target, timeout)
        limit = request_timeout if request_timeout is not None else 10.0
        if isinstance(action, GateError):
            call.outcome = type(action).__name__
            raise action
        if isinstance(action, tuple):
            kind, seconds = action
            if kind == "slow":
                clock.real_sleep(min(seconds, limit))
                if seconds > limit:
                    call.outcome = "timeout"
                    raise NetworkError("timed out")
            elif kind == "late":
                # Stuck in the network: the exchange acts on it after the client gave up.
                if seconds <= limit:
                    clock.real_sleep(seconds)
                else:
                    threading.Timer(seconds / clock.speed, self._late, (call,)).start()
                    clock.real_sleep(limit)
                    call.outcome = "timeout"
                    raise NetworkError("timed out")
            elif kind == "hang":
                clock.real_sleep(min(seconds, limit))
                call.outcome = "timeout"
                raise NetworkError("timed out")
        trigger = self.exchange.apply(target, timeout)
        call.processed = clock.monotonic()
        call.outcome = "ok"
        return self._ack(call, trigger)

    def _late(self, call: Call) -> None:
        self.exchange.apply(call.target, call.timeout)
        call.processed = self.exchange.clock.monotonic()

    def _ack(self, call: Call, trigger: int) -> CountdownAck:
        return CountdownAck(target=call.target, timeout=call.timeout, trigger_time_ms=trigger,
                            sent_mono=call.sent, received_mono=self.exchange.clock.monotonic(),
                            clock=self._sync)

    def cancel_now(self, target: Target, *, request_timeout: float | None = None
                   ) -> list[CancelResult]:
        return [CancelResult(id="1", market=target.name, succeeded=True)]

    def sent(self, target: Target, timeout: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.target == target
                    and (timeout is None or c.timeout == timeout)]
