"""What the engine tells: each target's state, a snapshot of it, and the events it emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

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
