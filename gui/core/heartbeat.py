"""The engine: keeps one countdown per armed target alive, and makes stop mean stop.

One asyncio task per armed target sends that target's requests, so they never overlap or
reorder. The blocking client runs in a thread pool behind ``await``. Rules (see also
docs/ARCHITECTURE.md, "The engine"):

- A beat is ``countdown(timeout)``; the next is due ``interval`` after the send, a little early
  (up to 5 %, at random) to spread the beats of many targets. With an interval of
  :data:`BEAT_GRID_MIN_INTERVAL_S` or more it is then sent on the whole second of the monotonic
  clock before that (:meth:`Engine._beat_time`): every countdown then runs out at the same fraction
  of a second, so a window showing them redraws their seconds together, not once per target.
- A failed beat is retried with jittered backoff, each attempt bounded by the time left.
  Failures the exchange answered with a label that retrying cannot fix stop the worker.
- Fired: the last acknowledged ``triggerTime`` passed without a newer acknowledged beat, or a
  beat was acknowledged only after it (the exchange's receipt time is ``triggerTime - timeout``).
  Fired is said loudly and never hidden behind a silent re-arm: the worker stops and clears any
  countdown a late beat might have set.
- Stop: cancel the worker, wait for its in-flight request, then send ``timeout 0`` until it is
  acknowledged. A beat answered meanwhile is recorded (and journaled) like any other. A beat
  whose fate is unknown (timed out, connection dropped) could still reach the exchange later
  and arm it again; Gate refuses a request signed more than 60 s ago, so until that window has
  closed a background sweep keeps sending ``timeout 0``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from gui.core.client import (
    DEFAULT_TIMEOUT,
    MIN_TIMEOUT_S,
    CancelResult,
    ClockSync,
    CountdownAck,
    check_timeout,
)
from gui.core.clock import Clock, SystemClock
from gui.core.errors import GateError, InvalidInputError, RateLimitedError
from gui.core.ratelimit import GATE_WINDOW_S, RateBudget, Slot
from gui.core.targets import Target

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 60
DEFAULT_INTERVAL_S = 15.0
MIN_INTERVAL_S = 0.5
# Gate refuses a request whose Timestamp is more than this far from its clock.
SIGNATURE_WINDOW_S = 60.0
# After the deadline (plus the clock's uncertainty), wait this much before saying "fired".
FIRE_GRACE_S = 0.05
# The longest one ``timeout 0`` attempt may take before it is sent again.
STOP_ATTEMPT_TIMEOUT_S = 5.0
# How long a stop waits for a beat already in flight before sending ``timeout 0`` anyway.
INFLIGHT_WAIT_S = 1.0
# Above this much time left, "time is short" is not said.
SHORT_TIME_FRACTION = 0.5
# Beats of an interval this long or longer go out on whole seconds of the monotonic clock:
# at most a second early, a tenth of the interval.
BEAT_GRID_MIN_INTERVAL_S = 10.0
# At most this many beats go out on one whole second; the others keep their own time.
BEAT_GRID_SHARE = 8


class State(Enum):
    IDLE = "idle"
    ARMING = "arming"
    ARMED = "armed"
    DEGRADED = "degraded"
    FIRED = "fired"
    STOPPING = "stopping"
    DISARMED = "disarmed"
    ERROR = "error"

    @property
    def words(self) -> str:
        return _STATE_WORDS[self]

    @property
    def live(self) -> bool:
        """A worker is (or should be) beating for this target."""
        return self in (State.ARMING, State.ARMED, State.DEGRADED)


_STATE_WORDS = {
    State.IDLE: "not armed",
    State.ARMING: "arming…",
    State.ARMED: "armed",
    State.DEGRADED: "beats failing",
    State.FIRED: "FIRED: orders cancelled",
    State.STOPPING: "stopping…",
    State.DISARMED: "disarmed",
    State.ERROR: "stopped by an error",
}


class EventKind(Enum):
    ARMING = "arm"
    BEAT_OK = "beat"
    BEAT_FAILED = "failure"
    RETRYING = "retry"
    DEGRADED = "degraded"
    TIME_SHORT = "time_short"
    FIRED = "fire"
    STOPPING = "stop"
    DISARMED = "disarmed"
    DISARM_FAILED = "disarm_failed"
    ERROR = "error"
    CANCEL_NOW = "cancel_now"
    CLOCK = "clock"
    WARNING = "warning"


@dataclass(frozen=True)
class TargetStatus:
    """A snapshot of one target, handed to whoever draws it."""

    target: Target
    state: State
    timeout: int
    interval: float
    trigger_time_ms: int | None = None  # last acknowledged, exchange clock
    deadline_mono: float | None = None  # the same instant on our monotonic clock
    uncertainty: float = 0.0  # seconds the deadline may be off either way
    last_latency: float | None = None
    last_ack_mono: float | None = None
    next_beat_mono: float | None = None
    beats: int = 0
    failures: int = 0  # consecutive
    reason: str = ""
    fired_at_ms: int | None = None

    def time_left(self, now_mono: float) -> float | None:
        """Seconds until the exchange fires, or None when nothing is counting down."""
        if self.deadline_mono is None or self.state not in (State.ARMED, State.DEGRADED,
                                                            State.STOPPING):
            return None
        return self.deadline_mono - now_mono


@dataclass(frozen=True)
class EngineEvent:
    kind: EventKind
    target: Target | None
    status: TargetStatus | None
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


class CountdownClient(Protocol):
    """What the engine needs of :class:`gui.core.client.GateClient`."""

    @property
    def clock(self) -> ClockSync | None: ...

    def ensure_clock(self, timeout: float | None = None) -> ClockSync: ...

    def countdown(self, target: Target, timeout: int, *,
                  request_timeout: float | None = None) -> CountdownAck: ...

    def cancel_now(self, target: Target, *, request_timeout: float | None = None
                   ) -> list[CancelResult]: ...


class JournalLike(Protocol):
    def write(self, event: str, **fields: object) -> Any: ...


def check_interval(timeout: int, interval: float | None) -> tuple[float, str | None]:
    """The beat interval to use for ``timeout``, and a warning for a risky one.

    Refused: a timeout below Gate's minimum, an interval of ``timeout`` or more, or one so
    short it would flood the exchange.
    """
    check_timeout(timeout)
    if timeout < MIN_TIMEOUT_S:
        raise InvalidInputError(f"The timeout must be at least {MIN_TIMEOUT_S} seconds.")
    value = timeout / 4 if interval is None else float(interval)
    if value != value or value < MIN_INTERVAL_S:  # NaN compares unequal to itself
        raise InvalidInputError(f"The beat interval must be at least {MIN_INTERVAL_S} seconds.")
    if value >= timeout:
        raise InvalidInputError(
            f"The beat interval ({value:g} s) must be shorter than the timeout ({timeout} s): "
            "otherwise the countdown runs out between beats.")
    warning = None
    if value > timeout / 3:
        warning = (f"A beat every {value:g} s leaves little slack in a {timeout} s countdown: "
                   f"one failed beat and it may fire. {timeout / 4:g} s is safer.")
    return value, warning


def endpoint_of(target: Target) -> str:
    return f"{target.product.value}/countdown_cancel_all"


@dataclass
class _Worker:
    """Mutable bookkeeping for one target; only the engine's loop touches it."""

    target: Target
    timeout: int
    interval: float
    state: State = State.ARMING
    trigger_time_ms: int | None = None
    last_latency: float | None = None
    last_ack_mono: float | None = None
    next_beat_mono: float | None = None
    beats: int = 0
    failures: int = 0
    reason: str = ""
    fired_at_ms: int | None = None
    task: asyncio.Task[None] | None = None
    inflight: concurrent.futures.Future[Any] | None = None
    inflight_signed: float = 0.0  # server time the in-flight request was signed at
    # Server time (s) by which a beat of unknown fate can no longer reach the exchange.
    unknown_until: float = 0.0
    short_warned: bool = False
    generation: int = 0


class Engine:
    """Arms, beats, detects firing and disarms targets. Runs in one asyncio loop."""

    def __init__(
        self,
        client: CountdownClient,
        *,
        journal: JournalLike | None = None,
        clock: Clock | None = None,
        budget: RateBudget | None = None,
        executor: concurrent.futures.ThreadPoolExecutor | None = None,
        request_timeout: float = DEFAULT_TIMEOUT,
        rng: random.Random | None = None,
        late_window: float = SIGNATURE_WINDOW_S,
    ) -> None:
        self.client = client
        self.journal = journal
        self.clock = clock or SystemClock()
        self.budget = budget or RateBudget(clock=self.clock)
        self._own_executor = executor is None
        # Generous: with every request hanging, each armed target may hold a thread until its
        # attempt times out, and STOP must still find one free.
        self.executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=256, thread_name_prefix="gate-request")
        self.request_timeout = request_timeout
        self._rng = rng or random.Random()
        # How long after signing a request can still reach the exchange and act.
        self.late_window = late_window
        self._workers: dict[Target, _Worker] = {}
        self._sweeps: dict[Target, asyncio.Task[None]] = {}
        self._listeners: list[Callable[[EngineEvent], None]] = []
        self._watch_task: asyncio.Task[None] | None = None
        self._wall_minus_mono: float | None = None
        # Whole second of the monotonic clock -> beats set to go out on it (_beat_time).
        self._grid_load: dict[int, int] = {}
        self._closed = False

    # ------------------------------------------------------------------ observing

    def subscribe(self, listener: Callable[[EngineEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every event; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def status(self, target: Target) -> TargetStatus | None:
        worker = self._workers.get(target)
        return self._snapshot(worker) if worker else None

    def statuses(self) -> list[TargetStatus]:
        return [self._snapshot(w) for w in self._workers.values()]

    def states(self) -> dict[Target, State]:
        """Each target's state, as :meth:`statuses` has it, without a snapshot per target."""
        return {target: w.state for target, w in self._workers.items()}

    @property
    def armed_targets(self) -> list[Target]:
        """Targets the engine is beating for, or stopping."""
        return [t for t, w in self._workers.items() if w.state.live or w.state is State.STOPPING]

    @property
    def busy(self) -> bool:
        return bool(self.armed_targets)

    def _snapshot(self, w: _Worker) -> TargetStatus:
        clock = self.client.clock
        deadline = None
        if w.trigger_time_ms and clock is not None:
            deadline = clock.to_mono(w.trigger_time_ms / 1000.0)
        return TargetStatus(
            target=w.target, state=w.state, timeout=w.timeout, interval=w.interval,
            trigger_time_ms=w.trigger_time_ms, deadline_mono=deadline,
            uncertainty=clock.uncertainty if clock else 0.0, last_latency=w.last_latency,
            last_ack_mono=w.last_ack_mono, next_beat_mono=w.next_beat_mono, beats=w.beats,
            failures=w.failures, reason=w.reason, fired_at_ms=w.fired_at_ms)

    def _emit(self, kind: EventKind, worker: _Worker | None, message: str,
              **fields: Any) -> None:
        status = self._snapshot(worker) if worker else None
        event = EngineEvent(kind, worker.target if worker else None, status, message, fields)
        if self.journal is not None:
            record: dict[str, object] = {"message": message, **fields}
            if worker is not None:
                record.update(target=str(worker.target), state=worker.state.value)
                if worker.trigger_time_ms:
                    record.setdefault("trigger_time_ms", worker.trigger_time_ms)
            try:
                self.journal.write(kind.value, **record)
            except Exception:
                log.exception("Could not write the journal")
        # The journal keeps every beat; the log (INFO and above) says what else happened.
        if kind in (EventKind.BEAT_FAILED, EventKind.FIRED, EventKind.ERROR,
                    EventKind.DISARM_FAILED):
            level = logging.WARNING
        else:
            level = logging.DEBUG if kind is EventKind.BEAT_OK else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "%s %s: %s", kind.value, worker.target if worker else "-", message)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("An engine listener failed")

    # ------------------------------------------------------------------ arming

    def arm(self, targets: Iterable[Target], timeout: int = DEFAULT_TIMEOUT_S,
            interval: float | None = None) -> str | None:
        """Start a worker per target (already beating ones are left alone).

        Returns the interval warning, if any. Must be called from the engine's running loop.
        """
        if self._closed:
            raise RuntimeError("the engine is shut down")
        value, warning = check_interval(timeout, interval)
        chosen = list(dict.fromkeys(targets))
        if not chosen:
            raise InvalidInputError("Choose at least one market to protect.")
        for target in chosen:
            current = self._workers.get(target)
            if current is not None and (current.state.live or current.state is State.STOPPING):
                continue
            sweep = self._sweeps.pop(target, None)
            if sweep is not None:
                sweep.cancel()
            worker = _Worker(target=target, timeout=timeout, interval=value,
                             generation=(current.generation + 1) if current else 0)
            self._workers[target] = worker
            worker.reason = "sending the first beat"
            self._emit(EventKind.ARMING, worker, f"arming {target} with a {timeout} s countdown",
                       timeout=timeout, interval=value)
            worker.task = asyncio.get_running_loop().create_task(
                self._run(worker), name=f"beat {target}")
        if warning:
            self._emit(EventKind.WARNING, None, warning)
        self._ensure_watch()
        return warning

    async def _run(self, w: _Worker) -> None:
        try:
            await self._beat_loop(w)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not leave the target silently unattended
            log.exception("The worker for %s failed", w.target)
            w.state = State.ERROR
            w.reason = f"internal error ({type(exc).__name__}); {self._exchange_side(w)}"
            self._emit(EventKind.ERROR, w, w.reason)

    async def _beat_loop(self, w: _Worker) -> None:
        w.next_beat_mono = self.clock.monotonic()
        while True:
            # Wait for the next beat, watching the deadline meanwhile.
            while True:
                now = self.clock.monotonic()
                if self._deadline_passed(w, now):
                    await self._fired(w)
                    return
                self._check_short(w, now)
                wake = w.next_beat_mono or now
                if wake <= now:
                    break
                # Sleep until the beat is due (it always comes before the deadline), or until
                # the deadline has passed; only while beats fail, wake often enough to warn
                # that time is short. Idle workers then cost next to nothing. An absolute
                # moment, so that beats due on the same whole second wake the app once.
                deadline = self._deadline_mono(w)
                clock = self.client.clock
                if deadline is not None and clock is not None:
                    wake = min(wake, deadline + clock.uncertainty + FIRE_GRACE_S)
                if w.state is State.DEGRADED:
                    wake = min(wake, now + 0.25)
                await self.clock.sleep_until(max(wake, now + 0.01))
            endpoint = endpoint_of(w.target)
            delay = self.budget.delay(endpoint)
            if delay > 0:
                await self.clock.sleep(min(delay, 0.25))
                continue
            ack, error = await self._attempt(w, w.timeout)
            if ack is not None:
                if await self._accept(w, ack):
                    return
                continue
            assert error is not None
            if await self._failed(w, error):
                return

    def _beat_time(self, due: float, interval: float) -> float:
        """When a beat due at ``due`` (monotonic) goes out: for an interval of
        :data:`BEAT_GRID_MIN_INTERVAL_S` or more, at the whole second at or before ``due``, while
        that second has room for it (:data:`BEAT_GRID_SHARE`); else at ``due``.

        Gate's ``triggerTime`` is the moment it took the beat plus the timeout, so the countdowns
        of beats sent on the same fraction of a second turn their seconds together (give or take
        the network's jitter), and the window draws them in one repaint. Early is the safe side:
        the countdown is renewed sooner, never later. Short intervals keep their time: a second
        would be too large a share of them. A few beats a second in step are enough; a crowd of
        them at once would hold the GUI thread up.
        """
        if interval < BEAT_GRID_MIN_INTERVAL_S:
            return due
        second = math.floor(due)
        if self._grid_load.get(second, 0) >= BEAT_GRID_SHARE:
            return due
        now = self.clock.monotonic()
        for old in [s for s in self._grid_load if s < now - 1]:
            del self._grid_load[old]
        self._grid_load[second] = self._grid_load.get(second, 0) + 1
        return float(second)

    def _deadline_mono(self, w: _Worker) -> float | None:
        clock = self.client.clock
        if not w.trigger_time_ms or clock is None:
            return None
        return clock.to_mono(w.trigger_time_ms / 1000.0)

    def _deadline_passed(self, w: _Worker, now: float) -> bool:
        deadline = self._deadline_mono(w)
        clock = self.client.clock
        if deadline is None or clock is None:
            return False
        return now >= deadline + clock.uncertainty + FIRE_GRACE_S

    def _check_short(self, w: _Worker, now: float) -> None:
        deadline = self._deadline_mono(w)
        if deadline is None or w.state is not State.DEGRADED or w.short_warned:
            return
        left = deadline - now
        if left < w.timeout * SHORT_TIME_FRACTION:
            w.short_warned = True
            self._emit(EventKind.TIME_SHORT, w,
                       f"{w.target}: {left:.0f} s left and beats are failing",
                       seconds_left=round(left, 1))

    async def _attempt(self, w: _Worker, timeout: int
                       ) -> tuple[CountdownAck | None, GateError | None]:
        """One countdown request in the pool, counted in the shared budget and bounded by
        the time left before the deadline."""
        slot = await self.budget.acquire(endpoint_of(w.target))
        now = self.clock.monotonic()
        budget = self.request_timeout
        deadline = self._deadline_mono(w)
        if not timeout:
            # A stop that hangs is better abandoned and sent again on a fresh connection.
            budget = min(budget, STOP_ATTEMPT_TIMEOUT_S)
        elif deadline is not None:
            budget = min(budget, max(deadline - now, 0.3))
        clock = self.client.clock
        sign_time = clock.server_time(now) if clock else self.clock.wall()
        future = self.executor.submit(self._send, slot, w.target, timeout, budget)
        w.inflight = future
        w.inflight_signed = sign_time
        try:
            ack = await asyncio.wrap_future(future)
        except GateError as exc:
            w.inflight = None  # its outcome is handled here
            if timeout and self._fate_unknown(exc):
                w.unknown_until = max(w.unknown_until, sign_time + self.late_window + 1.0)
            return None, exc
        # Handed to the caller, who records it. Cancelled while waiting, the request stays
        # in ``inflight``: a stop then judges (and journals) what became of it.
        w.inflight = None
        return ack, None

    def _send(self, slot: Slot, target: Target, timeout: int,
              request_timeout: float) -> CountdownAck:
        """In a pool thread: the request leaves now, whatever kept it waiting for a thread."""
        slot.sent(self.clock.monotonic())
        return self.client.countdown(target, timeout, request_timeout=request_timeout)

    def _inflight_fate_unknown(self, future: concurrent.futures.Future[Any]) -> bool:
        if not future.done():
            return True
        if future.cancelled():
            return False  # never sent
        exc = future.exception()
        return isinstance(exc, GateError) and self._fate_unknown(exc)

    @staticmethod
    def _fate_unknown(exc: GateError) -> bool:
        """Could the exchange have acted on a request that failed like this?"""
        if isinstance(exc, InvalidInputError):
            return False
        # An answer with a 4xx label means the exchange refused it; anything else may have
        # been processed (a timeout, a reset, a 5xx from behind a gateway).
        return not (exc.label and exc.status is not None and 400 <= exc.status < 500)

    async def _accept(self, w: _Worker, ack: CountdownAck) -> bool:
        """Take an acknowledged beat. Returns True when the worker must end (fired)."""
        received_ms = ack.trigger_time_ms - ack.timeout * 1000
        if w.trigger_time_ms and received_ms > w.trigger_time_ms:
            # The exchange took this beat after the previous countdown had already run out:
            # it fired, and this beat armed a new countdown the person did not ask for.
            await self._fired(w, rearmed=True)
            return True
        was = w.state
        w.state = State.ARMED
        w.failures = 0
        w.short_warned = False
        w.reason = ""
        w.next_beat_mono = self._beat_time(
            ack.sent_mono + w.interval * (1 - 0.05 * self._rng.random()), w.interval)
        self._record_beat(w, ack, " (recovered)" if was is State.DEGRADED else "")
        return False

    def _record_beat(self, w: _Worker, ack: CountdownAck, note: str = "") -> None:
        """Remember an acknowledged beat and say so: an event, and a line in the journal."""
        w.trigger_time_ms = ack.trigger_time_ms
        w.last_latency = ack.latency
        w.last_ack_mono = ack.received_mono
        w.beats += 1
        left = (self._deadline_mono(w) or ack.received_mono) - self.clock.monotonic()
        self._emit(EventKind.BEAT_OK, w, f"{w.target}: beat ok, {left:.1f} s left{note}",
                   latency_ms=round(ack.latency * 1000, 1), outcome="ok",
                   trigger_time_ms=ack.trigger_time_ms, seconds_left=round(left, 2))

    async def _failed(self, w: _Worker, exc: GateError) -> bool:
        """Handle a failed beat. Returns True when the worker must end."""
        w.failures += 1
        now = self.clock.monotonic()
        if self._deadline_passed(w, now):
            await self._fired(w)
            return True
        self._emit(EventKind.BEAT_FAILED, w, f"{w.target}: beat failed: {exc}",
                   outcome="failed", error=type(exc).__name__, label=exc.label,
                   status=exc.status, attempt=w.failures)
        if not exc.retryable:
            w.state = State.ERROR
            w.reason = f"{exc} {self._exchange_side(w)}"
            self._emit(EventKind.ERROR, w, f"{w.target}: stopped: {w.reason}")
            return True
        deadline = self._deadline_mono(w)
        if deadline is not None and w.state is not State.DEGRADED:
            w.state = State.DEGRADED
            self._emit(EventKind.DEGRADED, w,
                       f"{w.target}: beats failing; the countdown still runs "
                       f"({deadline - now:.0f} s left)")
        w.reason = f"retrying: {exc.message}"
        base = min(0.5, w.interval / 4)
        backoff = min(base * 2 ** (w.failures - 1), max(base, w.interval / 2))
        backoff *= 0.5 + 0.5 * self._rng.random()
        if isinstance(exc, RateLimitedError) and exc.reset_at is not None:
            clock = self.client.clock
            if clock is not None:
                # Never trust a reset time further out than one rate window.
                until = min(clock.to_mono(exc.reset_at), now + GATE_WINDOW_S)
                self.budget.pause(endpoint_of(w.target), until)
                backoff = max(backoff, until - now)
        if deadline is not None:
            # Never sleep past the deadline: the last tries must land before it.
            backoff = min(backoff, max(0.05, (deadline - now) * 0.5))
        w.next_beat_mono = now + backoff
        self._emit(EventKind.RETRYING, w, f"{w.target}: retrying in {backoff:.2f} s",
                   attempt=w.failures, delay_s=round(backoff, 3))
        return False

    async def _fired(self, w: _Worker, *, rearmed: bool = False) -> None:
        w.state = State.FIRED
        w.fired_at_ms = w.trigger_time_ms
        w.next_beat_mono = None
        when = _clock_text(w.trigger_time_ms)
        w.reason = (f"the countdown ran out at {when} without an acknowledged beat: the exchange "
                    f"cancelled {w.target.describe()}. Arm again to protect new orders.")
        self._emit(EventKind.FIRED, w, f"{w.target}: FIRED at {when}",
                   fired_at_ms=w.fired_at_ms, rearmed_by_late_beat=rearmed)
        if rearmed:
            w.unknown_until = max(w.unknown_until, self._server_now() + self.late_window)
        self._start_sweep(w)

    @staticmethod
    def _exchange_side_text(w: _Worker, now_server: float) -> str:
        if not w.trigger_time_ms:
            return "The exchange's countdown was not armed by this app."
        left = w.trigger_time_ms / 1000 - now_server
        if left <= 0:
            return f"The exchange's countdown ran out at {_clock_text(w.trigger_time_ms)}."
        return (f"The exchange's countdown still runs and fires at "
                f"{_clock_text(w.trigger_time_ms)} (in {left:.0f} s).")

    def _exchange_side(self, w: _Worker) -> str:
        return self._exchange_side_text(w, self._server_now())

    def _server_now(self) -> float:
        clock = self.client.clock
        return clock.server_time(self.clock.monotonic()) if clock else self.clock.wall()

    # ------------------------------------------------------------------ stopping

    async def disarm(self, targets: Iterable[Target] | None = None,
                     give_up_after: float = 30.0) -> dict[Target, bool]:
        """Stop the targets (all by default). True for each whose stop the exchange acknowledged.

        A target's stop is retried until acknowledged, until ``give_up_after`` seconds have passed
        and its countdown (if any) has run out: after that there is nothing left to stop.
        """
        chosen = list(self._workers) if targets is None else list(targets)
        jobs = []
        for target in chosen:
            w = self._workers.get(target)
            if w is None or w.state in (State.DISARMED, State.IDLE):
                continue
            jobs.append(self._disarm_one(w, give_up_after))
        results = await asyncio.gather(*jobs)
        return dict(results)

    async def _disarm_one(self, w: _Worker, give_up_after: float) -> tuple[Target, bool]:
        w.state = State.STOPPING
        w.reason = "waiting for the exchange to confirm"
        w.next_beat_mono = None
        self._emit(EventKind.STOPPING, w, f"{w.target}: stopping")
        task = w.task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        sweep = self._sweeps.pop(w.target, None)
        if sweep is not None:
            sweep.cancel()
        # The request a worker had in flight completes in its thread whatever we do. Wait a
        # little for it, so a beat already on its way lands before the stop; but never so long
        # that the countdown runs out first: a beat still unresolved then is cleared by the
        # sweep if it lands after the stop.
        inflight = w.inflight
        if inflight is not None and not inflight.done():
            deadline = self._deadline_mono(w)
            wait = INFLIGHT_WAIT_S
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - self.clock.monotonic() - 0.5))
            landed = asyncio.Event()
            loop = asyncio.get_running_loop()
            inflight.add_done_callback(lambda _f: loop.call_soon_threadsafe(landed.set))
            with contextlib.suppress(TimeoutError):
                await self._wait_event(landed, wait)
        # The worker was cancelled, so the in-flight beat's outcome is judged here. Answered:
        # the exchange set that countdown, and the journal holds every acknowledged beat.
        if inflight is not None and inflight.done() and not inflight.cancelled() \
                and inflight.exception() is None:
            answer = inflight.result()
            # A timeout 0 of a stop or a sweep is not a beat.
            if isinstance(answer, CountdownAck) and answer.timeout:
                w.inflight = None  # recorded once, whoever looks again
                self._record_beat(w, answer, " (answered while stopping)")
        # Still running, or failed in a way the exchange may yet act on: it may land later.
        if inflight is not None and self._inflight_fate_unknown(inflight):
            w.unknown_until = max(w.unknown_until, w.inflight_signed + self.late_window + 1.0)
        started = self.clock.monotonic()
        attempt = 0
        last_error: GateError | None = None
        while True:
            ack, error = await self._attempt(w, 0)
            if ack is not None:
                w.state = State.DISARMED
                w.reason = "the exchange confirmed the countdown is off"
                w.trigger_time_ms = None
                self._emit(EventKind.DISARMED, w, f"{w.target}: disarmed",
                           latency_ms=round(ack.latency * 1000, 1), outcome="ok")
                if w.unknown_until > self._server_now():
                    self._start_sweep(w)
                return w.target, True
            assert error is not None
            last_error = error
            attempt += 1
            now = self.clock.monotonic()
            deadline = self._deadline_mono(w)
            countdown_over = deadline is None or now > deadline + 1.0
            if not error.retryable or (now - started > give_up_after and countdown_over):
                break
            delay = min(0.25 * 2 ** (attempt - 1), 2.0) * (0.5 + 0.5 * self._rng.random())
            self._emit(EventKind.RETRYING, w,
                       f"{w.target}: stop not confirmed ({error.message}); retrying",
                       attempt=attempt, delay_s=round(delay, 3), stopping=True)
            await self.clock.sleep(delay)
        w.state = State.ERROR
        w.reason = (f"the stop was not confirmed: {last_error}. "
                    f"{self._exchange_side(w)}")
        self._emit(EventKind.DISARM_FAILED, w, f"{w.target}: {w.reason}")
        if w.unknown_until > self._server_now():
            self._start_sweep(w)
        return w.target, False

    def _start_sweep(self, w: _Worker) -> None:
        """Keep clearing the scope while a beat of unknown fate could still arm it."""
        if w.unknown_until <= self._server_now() or w.target in self._sweeps:
            return
        self._sweeps[w.target] = asyncio.get_running_loop().create_task(
            self._sweep(w), name=f"sweep {w.target}")

    async def _wait_event(self, event: asyncio.Event, seconds: float) -> None:
        """Wait for ``event`` at most ``seconds`` on the engine's clock (TimeoutError after)."""
        end = self.clock.monotonic() + seconds
        while not event.is_set():
            left = end - self.clock.monotonic()
            if left <= 0:
                raise TimeoutError
            await self.clock.sleep(min(left, 0.05))

    async def _sweep(self, w: _Worker) -> None:
        try:
            period = max(1.0, min(w.timeout / 3, 10.0))
            # A beat still in flight that lands now would arm the scope again: clear it at
            # once rather than at the next period.
            landed = asyncio.Event()
            inflight = w.inflight
            if inflight is not None and not inflight.done():
                loop = asyncio.get_running_loop()
                inflight.add_done_callback(lambda _f: loop.call_soon_threadsafe(landed.set))
            while self._server_now() < w.unknown_until:
                with contextlib.suppress(TimeoutError):
                    await self._wait_event(landed, period)
                landed.clear()
                ack, error = await self._attempt(w, 0)
                log.info("%s: sweep timeout 0 -> %s", w.target, "ok" if ack else error)
        finally:
            if self._sweeps.get(w.target) is asyncio.current_task():
                del self._sweeps[w.target]

    @property
    def sweeping(self) -> list[Target]:
        return list(self._sweeps)

    async def wait_sweeps(self, timeout: float | None = None) -> bool:
        """Wait until no sweep runs. Returns False if ``timeout`` came first."""
        tasks = list(self._sweeps.values())
        if not tasks:
            return True
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        return not pending

    def forget(self, target: Target) -> None:
        """Drop a target that is not live (disarmed, fired, error) from the status list."""
        w = self._workers.get(target)
        if w is not None and not w.state.live and w.state is not State.STOPPING:
            del self._workers[target]

    # ------------------------------------------------------------------ cancel now

    async def cancel_now(self, targets: Iterable[Target]
                         ) -> dict[Target, list[CancelResult] | GateError]:
        """Cancel the scopes' open orders now. Countdowns are left as they are."""
        chosen = list(dict.fromkeys(targets))
        loop = asyncio.get_running_loop()

        async def one(target: Target) -> tuple[Target, list[CancelResult] | GateError]:
            try:
                results = await loop.run_in_executor(
                    self.executor, lambda: self.client.cancel_now(
                        target, request_timeout=self.request_timeout))
            except GateError as exc:
                self._emit(EventKind.CANCEL_NOW, self._workers.get(target),
                           f"{target}: cancel now failed: {exc}", target=str(target),
                           outcome="failed", error=type(exc).__name__)
                return target, exc
            done = sum(1 for r in results if r.succeeded)
            self._emit(EventKind.CANCEL_NOW, self._workers.get(target),
                       f"{target}: cancelled {done} of {len(results)} open orders now",
                       target=str(target), outcome="ok", cancelled=done,
                       failed=len(results) - done)
            return target, results

        return dict(await asyncio.gather(*(one(t) for t in chosen)))

    # ------------------------------------------------------------------ clock watch

    def _ensure_watch(self) -> None:
        if self._watch_task is None or self._watch_task.done():
            self._wall_minus_mono = self.clock.wall() - self.clock.monotonic()
            self._watch_task = asyncio.get_running_loop().create_task(
                self._watch(), name="clock watch")

    async def _watch(self) -> None:
        """Notice the wall clock moving against the monotonic one (clock set, machine asleep).

        Then measure the exchange's clock again so deadlines are placed right; a countdown that
        ran out while the machine slept is then reported fired by its worker.
        """
        while any(w.state.live for w in self._workers.values()):
            # About once a second, on the whole seconds the beats go out on (_beat_time),
            # so that the app wakes once for both.
            now = self.clock.monotonic()
            wake = math.floor(now) + 1.0
            if wake - now < 0.5:
                wake += 1.0
            await self.clock.sleep_until(wake)
            await self.check_clock()

    async def check_clock(self) -> float:
        """The clock watch's check, now rather than at its next second (the machine has just
        woken, say): if the wall clock moved more than a second against the monotonic one,
        journal it and measure the exchange's clock again. Returns the jump in seconds (0.0
        when under a second)."""
        now = self.clock.wall() - self.clock.monotonic()
        previous, self._wall_minus_mono = self._wall_minus_mono, now
        if previous is None or abs(now - previous) <= 1.0:
            return 0.0
        jump = now - previous
        self._emit(EventKind.CLOCK, None,
                   f"the wall clock moved {jump:+.1f} s against the monotonic clock "
                   "(clock set or machine asleep); measuring the exchange's clock again",
                   jump_s=round(jump, 3))
        with contextlib.suppress(GateError):
            await asyncio.get_running_loop().run_in_executor(
                self.executor, self.client.ensure_clock, self.request_timeout)
        return jump

    # ------------------------------------------------------------------ shutdown

    async def shutdown(self, *, disarm: bool = True, give_up_after: float = 30.0
                       ) -> dict[Target, bool]:
        """Stop everything. With ``disarm`` False the exchange's countdowns are left to fire."""
        results: dict[Target, bool] = {}
        if disarm:
            results = await self.disarm(give_up_after=give_up_after)
        for w in self._workers.values():
            if w.task is not None and not w.task.done():
                w.task.cancel()
        for task in [*(w.task for w in self._workers.values() if w.task), *self._sweeps.values(),
                     *([self._watch_task] if self._watch_task else [])]:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        self._closed = True
        if self._own_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)
        return results


def _clock_text(trigger_time_ms: int | None) -> str:
    """An exchange time as a local clock time, e.g. 14:03:27."""
    if not trigger_time_ms:
        return "an unknown time"
    return time.strftime("%H:%M:%S", time.localtime(trigger_time_ms / 1000))
