"""The engine: keeps one countdown per armed target alive, and makes stop mean stop.

One asyncio task per armed target sends that target's requests, so they never overlap or
reorder. The blocking client runs in a thread pool behind ``await``. Rules (see also
docs/ARCHITECTURE.md, "The engine"):

- A beat is ``countdown(timeout)``; the next is due ``interval`` after the send, a little early
  (up to 5 %, at random) to spread the beats of many targets. With an interval of
  :data:`BEAT_GRID_MIN_INTERVAL_S` or more it is then sent on the whole second of the monotonic
  clock before that (:meth:`Engine._beat_time`): every countdown then runs out at the same fraction
  of a second, so a window showing them redraws their seconds together, not once per target.
- A beat unanswered past the overdue bound is shown overdue at once; each attempt may take a
  share of the time left (:mod:`gui.core.timing`), and the transport cuts it there on the wall
  clock. A failed beat is retried with jittered backoff. Failures the exchange answered with a
  label that retrying cannot fix stop the worker.
- Arming what the shared rate budget cannot carry (with room for retries and stops) is refused.
- Fired: the last acknowledged ``triggerTime`` passed without a newer acknowledged beat (said
  at that moment, whatever request is still in flight), or a stop or a beat was sent or
  acknowledged only after it (the exchange's receipt time is ``triggerTime - timeout``).
  Fired is said loudly and never hidden behind a silent re-arm: the worker stops and clears any
  countdown a late beat might have set.
- Stop: cancel the worker, wait for its in-flight request, then send ``timeout 0`` until it is
  acknowledged. A beat answered meanwhile is recorded (and journaled) like any other. A beat
  whose fate is unknown (timed out, connection dropped) could still reach the exchange later
  and arm it again; Gate refuses a request signed more than 60 s ago, so until that window has
  closed a background sweep keeps sending ``timeout 0``. Acknowledged too late, a stop is FIRED.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gui.core.client import (
    DEFAULT_TIMEOUT,
    CancelResult,
    CountdownAck,
)
from gui.core.clock import Clock, SystemClock, watch_clock
from gui.core.clock import clock_text as _clock_text
from gui.core.errors import GateError, InvalidInputError, RateLimitedError
from gui.core.orders import cancel_scopes
from gui.core.phrases import format_left
from gui.core.ports import ArmedHook, CountdownClient, JournalLike
from gui.core.ratelimit import GATE_WINDOW_S, RateBudget, Slot
from gui.core.status import (
    EngineEvent,
    EventKind,
    State,
    TargetStatus,
    exchange_side,
    journal_record,
    log_level,
)
from gui.core.targets import Target
from gui.core.timing import (
    DEFAULT_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    FIRED_LATER,
    MIN_INTERVAL_S,
    TOO_LATE,
    BeatGrid,
    Latencies,
    attempt_timeout,
    beats_per_window,
    capacity_problem,
    check_interval,
    late_answer,
)

# Part of this module's interface: everything above the engine imports them from here.
__all__ = ["DEFAULT_INTERVAL_S", "DEFAULT_TIMEOUT_S", "MIN_INTERVAL_S", "Engine", "EngineEvent",
           "EventKind", "State", "TargetStatus", "check_interval"]

log = logging.getLogger(__name__)

# Gate refuses a request whose Timestamp is more than this far from its clock.
SIGNATURE_WINDOW_S = 60.0
# After the deadline (plus the clock's uncertainty), wait this much before saying "fired".
FIRE_GRACE_S = 0.05
# The longest one ``timeout 0`` attempt may take before it is sent again.
STOP_ATTEMPT_TIMEOUT_S = 5.0
# Past the deadline, how long an unanswered beat may still bring the answer that proves it
# landed in time before the target is declared fired.
INFLIGHT_FIRE_WAIT_S = 0.5
# How long a stop waits for a beat already in flight before sending ``timeout 0`` anyway.
INFLIGHT_WAIT_S = 1.0
# Above this much time left, "time is short" is not said.
SHORT_TIME_FRACTION = 0.5


def endpoint_of(target: Target) -> str:
    """The rate budget a target's beats draw from.

    Both settle currencies share one futures budget: Gate counts its futures "other" endpoints,
    200 per 10 s per account, without saying whether the settle in the path separates them, and
    counting them together can only stay under Gate's count."""
    if target.settle is not None:
        return "futures/countdown_cancel_all"
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
    stopped: bool = False  # a stop was asked for: nothing beats it again
    cleared_server: float = 0.0  # server time the sweep's last acknowledged timeout 0 was sent


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
        recorder: ArmedHook | None = None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.recorder = recorder
        self.clock = clock or SystemClock()
        self.budget = budget or RateBudget(clock=self.clock)
        self._own_executor = executor is None
        # Generous: with every request hanging, each armed target may hold a thread until its
        # attempt times out, and STOP must still find one free.
        self.executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=256, thread_name_prefix="gate-request")
        self.request_timeout = request_timeout
        self.latencies = Latencies()
        self._rng = rng or random.Random()
        # How long after signing a request can still reach the exchange and act.
        self.late_window = late_window
        self._workers: dict[Target, _Worker] = {}
        self._sweeps: dict[Target, asyncio.Task[None]] = {}
        self._listeners: list[Callable[[EngineEvent], None]] = []
        self._watch_task: asyncio.Task[None] | None = None
        self._grid = BeatGrid()
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
            try:
                self.journal.write(kind.value, **journal_record(event))
            except Exception:
                log.exception("Could not write the journal")
        if self.recorder is not None and worker is not None:
            self.recorder.on_event(event)
        level = log_level(kind)
        if log.isEnabledFor(level):
            log.log(level, "%s %s: %s", kind.value, worker.target if worker else "-", message)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("An engine listener failed")

    # ------------------------------------------------------------------ arming

    def arm(self, targets: Iterable[Target], timeout: int = DEFAULT_TIMEOUT_S,
            interval: float | None = None, *, left: Mapping[Target, int] | None = None
            ) -> str | None:
        """Start a worker per target (already beating ones are left alone). ``left``: the
        ``triggerTime`` an earlier run left armed, so a first beat taken after it reads FIRED.

        Returns the interval warning, if any. Must be called from the engine's running loop.
        """
        if self._closed:
            raise RuntimeError("the engine is shut down")
        value, warning = check_interval(timeout, interval)
        chosen = list(dict.fromkeys(targets))
        if not chosen:
            raise InvalidInputError("Choose at least one market to protect.")
        fresh = [t for t in chosen if not self._beating(t)]
        self._check_capacity(fresh, timeout, value)
        for target in fresh:
            current = self._workers.get(target)
            sweep = self._sweeps.pop(target, None)
            if sweep is not None:
                sweep.cancel()
            worker = _Worker(target=target, timeout=timeout, interval=value,
                             generation=(current.generation + 1) if current else 0,
                             trigger_time_ms=(left or {}).get(target))
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

    def _beating(self, target: Target) -> bool:
        current = self._workers.get(target)
        return current is not None and (current.state.live or current.state is State.STOPPING)

    def _check_capacity(self, fresh: list[Target], timeout: int, interval: float) -> None:
        """Refuse to arm what the shared budget cannot keep alive (InvalidInputError)."""
        window = self.budget.window
        for product in dict.fromkeys(t.product for t in fresh):
            endpoint = f"{product.value}/countdown_cancel_all"
            load = sum(beats_per_window(w.interval, window) for t, w in self._workers.items()
                       if endpoint_of(t) == endpoint and w.state.live)
            count = sum(1 for t in fresh if t.product is product)
            problem = capacity_problem(load, count, interval, timeout, self.budget.limit,
                                       window, product.value)
            if problem is not None:
                raise InvalidInputError(problem)

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
            if error is None:
                # The deadline passed with the beat still unanswered: said FIRED now. Should
                # it land later, the sweep judges it: taken in time, it never fired.
                w.unknown_until = max(w.unknown_until, w.inflight_signed + self.late_window + 1.0)
                await self._fired(w)
                return
            if await self._failed(w, error):
                return

    def _beat_time(self, due: float, interval: float) -> float:
        """When a beat due at ``due`` (monotonic) goes out: see :class:`BeatGrid`."""
        return self._grid.place(due, interval, self.clock.monotonic())

    def _deadline_mono(self, w: _Worker) -> float | None:
        clock = self.client.clock
        if not w.trigger_time_ms or clock is None:
            return None
        return clock.to_mono(w.trigger_time_ms / 1000.0)

    def _fire_mono(self, w: _Worker) -> float | None:
        """When the target counts as fired: its deadline plus the clock's uncertainty."""
        deadline = self._deadline_mono(w)
        clock = self.client.clock
        if deadline is None or clock is None:
            return None
        return deadline + clock.uncertainty + FIRE_GRACE_S

    def _deadline_passed(self, w: _Worker, now: float) -> bool:
        fire_at = self._fire_mono(w)
        return fire_at is not None and now >= fire_at

    def _check_short(self, w: _Worker, now: float) -> None:
        deadline = self._deadline_mono(w)
        if deadline is None or w.state not in (State.DEGRADED, State.OVERDUE) \
                or w.short_warned:
            return
        left = deadline - now
        if left < w.timeout * SHORT_TIME_FRACTION:
            w.short_warned = True
            self._emit(EventKind.TIME_SHORT, w,
                       f"{w.target}: {format_left(left)} left and beats are failing",
                       seconds_left=round(left, 1))

    async def _attempt(self, w: _Worker, timeout: int
                       ) -> tuple[CountdownAck | None, GateError | None]:
        """One countdown request in the pool, counted in the shared budget and bounded by
        the time left before the deadline (:func:`attempt_timeout`).

        While a beat waits for its answer the engine keeps watching: past the overdue bound
        the target is shown overdue, and once the deadline has passed (and a short wait for an
        answer still on its way) this returns ``(None, None)`` with the request still in
        ``w.inflight``: the caller declares the target fired whatever the thread is doing."""
        slot = await self.budget.acquire(endpoint_of(w.target))
        now = self.clock.monotonic()
        deadline = self._deadline_mono(w)
        if not timeout:
            # A stop that hangs is better abandoned and sent again on a fresh connection.
            budget = min(self.request_timeout, STOP_ATTEMPT_TIMEOUT_S)
        else:
            budget = attempt_timeout(None if deadline is None else deadline - now,
                                     self.request_timeout, self.latencies.p95())
        clock = self.client.clock
        sign_time = clock.server_time(now) if clock else self.clock.wall()
        future = self.executor.submit(self._send, slot, w.target, timeout, budget)
        w.inflight = future
        w.inflight_signed = sign_time
        answer = asyncio.wrap_future(future)
        try:
            if timeout:
                if not await self._wait_future(answer, now + self.latencies.overdue_after()):
                    self._overdue(w, self.clock.monotonic() - now)
                fire_at = self._fire_mono(w)
                if fire_at is not None and not await self._wait_future(
                        answer, fire_at + INFLIGHT_FIRE_WAIT_S):
                    # Judged by the sweep if it lands; its error, if any, is no news then.
                    answer.add_done_callback(lambda f: f.cancelled() or f.exception())
                    return None, None
            ack = await answer
        except asyncio.CancelledError:
            answer.cancel()
            raise
        except GateError as exc:
            w.inflight = None  # its outcome is handled here
            if timeout and self._fate_unknown(exc):
                w.unknown_until = max(w.unknown_until, sign_time + self.late_window + 1.0)
            return None, exc
        # Handed to the caller, who records it. Cancelled while waiting, the request stays
        # in ``inflight``: a stop then judges (and journals) what became of it.
        w.inflight = None
        return ack, None

    async def _wait_future(self, answer: asyncio.Future[Any], until_mono: float) -> bool:
        """Wait for ``answer`` until ``until_mono`` on the engine's clock; True once it is done."""
        if answer.done():
            return True
        timer = asyncio.ensure_future(self.clock.sleep_until(until_mono))
        try:
            await asyncio.wait({answer, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        return answer.done()

    def _overdue(self, w: _Worker, waited: float) -> None:
        """A beat's answer is later than the network has lately been: say so at once."""
        if w.state is not State.ARMED:
            return  # already amber (failing) or not counting down yet
        w.state = State.OVERDUE
        deadline = self._deadline_mono(w)
        left = "" if deadline is None else \
            f"; the countdown still runs ({format_left(deadline - self.clock.monotonic())} left)"
        p95 = self.latencies.p95()
        usual = "" if p95 is None else f" (answers lately took up to {p95 * 1000:.0f} ms)"
        # The reason stays on the card while the silence lasts: "within", true at any moment.
        w.reason = f"no answer within {waited:.0f} s of the beat{usual}"
        self._emit(EventKind.OVERDUE, w, f"{w.target}: no answer for {waited:.0f} s{usual}{left}",
                   waited_s=round(waited, 2), p95_ms=None if p95 is None else round(p95 * 1000))

    def _send(self, slot: Slot, target: Target, timeout: int,
              request_timeout: float) -> CountdownAck:
        """In a pool thread: the request leaves now, whatever kept it waiting for a thread."""
        slot.sent(self.clock.monotonic())
        if self.recorder is not None and timeout:  # before it leaves; unmeasured, by our wall
            clock = self.client.clock
            now = clock.server_time(self.clock.monotonic()) if clock else self.clock.wall()
            self.recorder.sent(target, timeout, now)
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
        self._record_beat(w, ack, " (recovered)" if was in (State.DEGRADED, State.OVERDUE)
                          else "")
        return False

    def _record_beat(self, w: _Worker, ack: CountdownAck, note: str = "") -> None:
        """Remember an acknowledged beat and say so: an event, and a line in the journal."""
        w.trigger_time_ms = ack.trigger_time_ms
        w.last_latency = ack.latency
        self.latencies.add(ack.latency)
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
                       f"({format_left(deadline - now)} left)")
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
                    f"cancelled {w.target.cancelled}. Arm again to protect new orders.")
        self._emit(EventKind.FIRED, w, f"{w.target}: FIRED at {when}",
                   fired_at_ms=w.fired_at_ms, rearmed_by_late_beat=rearmed)
        if rearmed:
            w.unknown_until = max(w.unknown_until, self._server_now() + self.late_window)
        inflight = w.inflight
        if inflight is not None and not inflight.done():
            # Registered before the sweep's own wake-up, so it is judged before any clearing.
            loop = asyncio.get_running_loop()
            inflight.add_done_callback(lambda f: loop.call_soon_threadsafe(
                self._judge_late_answer, w, f))
        self._start_sweep(w)

    def _exchange_side(self, w: _Worker) -> str:
        return exchange_side(w.trigger_time_ms, self._server_now())

    def _server_now(self) -> float:
        clock = self.client.clock
        return clock.server_time(self.clock.monotonic()) if clock else self.clock.wall()

    # ------------------------------------------------------------------ stopping

    async def disarm(self, targets: Iterable[Target] | None = None,
                     give_up_after: float = 30.0) -> dict[Target, bool]:
        """Stop the targets (all by default). True for each whose stop the exchange acknowledged
        before its countdown ran out (False too for one that FIRED first).

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

    async def disarm_left(self, target: Target, timeout: int, trigger_time_ms: int | None,
                          give_up_after: float = 30.0) -> bool:
        """Stop a countdown an earlier run left armed (no worker of ours beats it)."""
        w = self._workers.get(target)
        if w is not None and (w.state.live or w.state is State.STOPPING):
            return False
        w = self._workers[target] = _Worker(target=target, timeout=timeout, interval=0.0,
                                            trigger_time_ms=trigger_time_ms)
        return (await self._disarm_one(w, give_up_after))[1]

    async def _disarm_one(self, w: _Worker, give_up_after: float) -> tuple[Target, bool]:
        w.stopped = True
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
            if ack is not None and self._fired_before_stop(
                    w, ack.received_mono, latency_ms=round(ack.latency * 1000, 1)):
                return w.target, False
            fire_at = self._fire_mono(w)
            if ack is not None:
                w.state = State.DISARMED
                deadline = self._deadline_mono(w)
                doubt = ""
                if deadline is not None and fire_at is not None \
                        and ack.received_mono >= deadline - (fire_at - deadline):
                    # Too close to the deadline to tell which came first. "Disarmed" is the
                    # cautious word (it promises no cancelled orders), and says the doubt.
                    doubt = (", but only around the moment it ran out: it may have fired "
                             "first; check the open orders")
                w.reason = f"the exchange confirmed the countdown is off{doubt}"
                w.trigger_time_ms = None
                self._emit(EventKind.DISARMED, w, f"{w.target}: disarmed{doubt}",
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
        if self._fired_before_stop(w, self.clock.monotonic(),
                                   f" (The stop was not confirmed: {last_error}.)"):
            return w.target, False
        w.state = State.ERROR
        w.reason = (f"the stop was not confirmed: {last_error}. "
                    f"{self._exchange_side(w)}")
        self._emit(EventKind.DISARM_FAILED, w, f"{w.target}: {w.reason}")
        if w.unknown_until > self._server_now():
            self._start_sweep(w)
        return w.target, False

    def _fired_before_stop(self, w: _Worker, answered_mono: float, note: str = "",
                           **fields: Any) -> bool:
        """FIRED when the last countdown ran out before the stop was answered (or given up) at
        ``answered_mono``; also when it ran out on the stop's way (the false comfort is worse)."""
        deadline = self._deadline_mono(w)
        if deadline is None or answered_mono <= deadline:
            return False
        if w.fired_at_ms is not None and w.fired_at_ms == w.trigger_time_ms:
            w.state = State.FIRED  # said already, before the stop
            return True
        w.state, w.fired_at_ms = State.FIRED, w.trigger_time_ms
        w.reason = (f"the countdown ran out at {_clock_text(w.trigger_time_ms)} before the "
                    f"exchange confirmed the stop: it cancelled {w.target.cancelled}.{note} "
                    "Arm again to protect new orders.")
        self._emit(EventKind.FIRED, w, f"{w.target}: FIRED at {_clock_text(w.fired_at_ms)}, "
                   "before the stop was confirmed", fired_at_ms=w.fired_at_ms, stopping=True,
                   **fields)
        self._start_sweep(w)
        return True

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
                if w.state.live:
                    return  # a late answer proved it never fired: its worker beats again
                ack, error = await self._attempt(w, 0)
                if ack is not None:
                    w.cleared_server = ack.clock.server_time(ack.sent_mono)
                log.info("%s: sweep timeout 0 -> %s", w.target, "ok" if ack else error)
        finally:
            if self._sweeps.get(w.target) is asyncio.current_task():
                del self._sweeps[w.target]

    def _judge_late_answer(self, w: _Worker, answer: concurrent.futures.Future[Any]) -> bool:
        """A beat still unanswered when the engine said FIRED has been answered after all.
        Taken in time, it renewed the countdown: the exchange did not fire then, and "orders
        cancelled" would be false. True when the countdown still runs and the worker beats
        again; False when it fired after all (said again, with the right time, when it fired
        later than first said)."""
        if answer.cancelled() or answer.exception() is not None:
            return False
        ack = answer.result()
        if not isinstance(ack, CountdownAck) or not ack.timeout or w.fired_at_ms is None \
                or self._workers.get(w.target) is not w:
            return False  # a stop's answer, or the target was armed again since
        if w.stopped or w.state is not State.FIRED:
            # Stopped since: nothing is beaten again, but "orders cancelled" may not hold.
            if ack.trigger_time_ms - ack.timeout * 1000 <= w.fired_at_ms:  # taken in time
                self._emit(EventKind.WARNING, w, f"{w.target}: a beat answered late shows the "
                           "exchange took it in time: the countdown may not have fired; check "
                           "the open orders", unfired=None)
            return False
        clock = self.client.clock
        taken_ms = ack.trigger_time_ms - ack.timeout * 1000
        verdict = late_answer(w.fired_at_ms, taken_ms, ack.trigger_time_ms, self._server_now(),
                              clock.uncertainty if clock else 1.0)
        when = _clock_text(ack.trigger_time_ms)
        if verdict == TOO_LATE:
            return False  # it fired, and this beat armed a new countdown: the sweep clears it
        if verdict == FIRED_LATER and w.cleared_server * 1000 > taken_ms:
            # The sweep cleared the scope after that beat renewed it: whether the renewed
            # countdown ran out first or was turned off first cannot be told from here.
            w.reason = (f"a beat answered late shows the exchange took it in time, renewing the "
                        f"countdown until {when}; this app also turned the countdown off "
                        "meanwhile, so its orders may not have been cancelled: check them. Arm "
                        "again to protect them.")
            self._emit(EventKind.WARNING, w, f"{w.target}: {w.reason}", unfired=None)
            return False
        if verdict == FIRED_LATER:
            w.trigger_time_ms = w.fired_at_ms = ack.trigger_time_ms
            w.reason = (f"the countdown ran out at {when} (a beat answered late had renewed it "
                        f"until then): the exchange cancelled {w.target.cancelled}. Arm again "
                        "to protect new orders.")
            self._emit(EventKind.FIRED, w, f"{w.target}: FIRED at {when}, not earlier: a beat "
                       "answered late had renewed the countdown until then",
                       fired_at_ms=w.fired_at_ms, corrected=True)
            return False
        w.state, w.fired_at_ms, w.failures, w.short_warned = State.ARMED, None, 0, False
        w.reason, w.inflight = "", None
        self._record_beat(w, ack, " (answered late, but taken in time: it did not fire)")
        self._emit(EventKind.WARNING, w, f"{w.target}: not fired after all: the exchange took "
                   f"the beat in time and only its answer came late; the countdown runs until "
                   f"{when}, beating again", unfired=True)
        w.task = asyncio.get_running_loop().create_task(self._run(w), name=f"beat {w.target}")
        return True

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
        def said(scope: Target, message: str, **fields: object) -> None:
            self._emit(EventKind.CANCEL_NOW, self._workers.get(scope), message, **fields)

        return await cancel_scopes(self.client, self.executor, targets, self.request_timeout,
                                   said)

    # ------------------------------------------------------------------ clock watch

    def _ensure_watch(self) -> None:
        if self._watch_task is None or self._watch_task.done():
            self._wall_minus_mono = self.clock.wall() - self.clock.monotonic()
            self._watch_task = asyncio.get_running_loop().create_task(watch_clock(
                self.clock, lambda: any(w.state.live for w in self._workers.values()),
                self.check_clock), name="clock watch")

    async def check_clock(self) -> float:
        """The clock watch's check, now rather than at its next second (the machine has just
        woken, say): FIRED for each countdown that ran out meanwhile; and if the wall clock
        moved more than a second against the monotonic one, journal it and measure the
        exchange's clock again. Returns that jump in seconds (0.0 when under a second)."""
        self._fire_overdue()
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

    def _fire_overdue(self) -> None:
        """FIRED now for each countdown that ran out while its worker slept: the engine's clock
        counts through a suspend, the loop's timers do not. One awaiting an answer judges it."""
        now = self.clock.monotonic()
        for w in list(self._workers.values()):
            if not w.state.live or w.inflight is not None or not self._deadline_passed(w, now):
                continue
            if w.task is not None and not w.task.done():
                w.task.cancel()
            asyncio.get_running_loop().create_task(self._fired(w), name=f"fired {w.target}")

    # ------------------------------------------------------------------ shutdown

    async def shutdown(self, *, disarm: bool = True, give_up_after: float = 30.0
                       ) -> dict[Target, bool]:
        """Stop everything. With ``disarm`` False the exchange's countdowns are left to fire."""
        results: dict[Target, bool] = {}
        if disarm:
            results = await self.disarm(give_up_after=give_up_after)
        for w in self._workers.values():
            if w.state.live or w.state is State.STOPPING:
                self._emit(EventKind.LEFT_ARMED, w, f"{w.target}: left armed; "
                           f"{self._exchange_side(w)}", trigger_time_ms=w.trigger_time_ms)
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

