"""What the engine tells: each target's state, a snapshot of it, and the events it emits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from gui.core.clock import clock_text
from gui.core.phrases import format_left
from gui.core.targets import Target


class State(Enum):
    IDLE = "idle"
    ARMING = "arming"
    ARMED = "armed"
    OVERDUE = "overdue"
    DEGRADED = "degraded"
    FIRED = "fired"
    STOPPING = "stopping"
    DISARMED = "disarmed"
    ERROR = "error"
    LEFT_ARMED = "left_armed"  # by an earlier run: no worker here, the exchange counts down

    @property
    def words(self) -> str:
        return _STATE_WORDS[self]

    @property
    def live(self) -> bool:
        """A worker is (or should be) beating for this target."""
        return self in (State.ARMING, State.ARMED, State.OVERDUE, State.DEGRADED)


_STATE_WORDS = {
    State.IDLE: "not armed",
    State.ARMING: "arming…",
    State.ARMED: "armed",
    State.OVERDUE: "no answer yet",
    State.DEGRADED: "beats failing",
    State.FIRED: "FIRED: orders cancelled",
    State.STOPPING: "stopping…",
    State.DISARMED: "disarmed",
    State.ERROR: "stopped by an error",
    State.LEFT_ARMED: "left armed by an earlier run",
}


class EventKind(Enum):
    ARMING = "arm"
    BEAT_OK = "beat"
    BEAT_FAILED = "failure"
    OVERDUE = "overdue"
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
    LEFT_ARMED = "left_armed"  # shut down without a stop: the countdown runs on


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
        if self.deadline_mono is None or self.state not in (
                State.ARMED, State.OVERDUE, State.DEGRADED, State.STOPPING, State.LEFT_ARMED):
            return None
        return self.deadline_mono - now_mono


@dataclass(frozen=True)
class EngineEvent:
    kind: EventKind
    target: Target | None
    status: TargetStatus | None
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


def journal_record(event: EngineEvent) -> dict[str, object]:
    """The journal's fields for an event: its message and fields, and the target's state and
    last trigger time."""
    record: dict[str, object] = {"message": event.message, **event.fields}
    status = event.status
    if status is not None:
        record.update(target=str(status.target), state=status.state.value)
        if status.trigger_time_ms:
            record.setdefault("trigger_time_ms", status.trigger_time_ms)
    return record


def log_level(kind: EventKind) -> int:
    """The journal keeps every beat; the log (INFO and above) says what else happened, and
    warns of what went wrong."""
    if kind in (EventKind.BEAT_FAILED, EventKind.FIRED, EventKind.ERROR,
                EventKind.DISARM_FAILED):
        return logging.WARNING
    return logging.DEBUG if kind is EventKind.BEAT_OK else logging.INFO


def exchange_side(trigger_time_ms: int | None, now_server: float) -> str:
    """What the exchange's countdown is doing, by its last known trigger time."""
    if not trigger_time_ms:
        return "The exchange's countdown was not armed by this app."
    left = trigger_time_ms / 1000 - now_server
    if left <= 0:
        return f"The exchange's countdown ran out at {clock_text(trigger_time_ms)}."
    return (f"The exchange's countdown still runs and fires at "
            f"{clock_text(trigger_time_ms)} (in {format_left(left)}).")
