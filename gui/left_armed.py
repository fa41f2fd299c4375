"""The window's side of what an earlier run left armed (the record: gui/core/armed.py).

On a profile's start the record is reconciled: a countdown still ahead gets a card "left armed
by an earlier run", counting down to the exchange's trigger time, with Resume (beat again, the
same timeout and interval) and Disarm now; one that ran out gets a FIRED card, with the scope's
open orders now. A card left armed turns FIRED when its time comes, unless resumed or disarmed.
Its statuses go out through the adapter's ``statusChanged``, so the cards, the header and the
tray say them as they say the engine's: never "not armed" while something may be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from gui.core.armed import ArmedRecorder, Reconciled, Verdict, reconcile_at_start
from gui.core.clock import clock_text, monotonic
from gui.core.heartbeat import State, TargetStatus
from gui.core.phrases import counted

if TYPE_CHECKING:
    from gui.core.journal import Journal
    from gui.core.targets import Target

log = logging.getLogger(__name__)

# How long after its deadline a card left armed turns FIRED: the exchange's clock, as last
# measured, may be off by about this much.
FIRED_GRACE_S = 0.5


class LeftArmed(QObject):
    """Holds the targets shown as left armed, until resumed, disarmed or run out."""

    def __init__(self, journal: Journal, show: Callable[[TargetStatus], None],
                 post: Callable[[str, str, str, str], None],
                 parent: QObject | None = None, *,
                 clock: Callable[[], float] = monotonic) -> None:
        super().__init__(parent)
        self.clock = clock
        self._journal = journal
        self._show = show  # hands a status to the cards, the header and the tray
        self._post = post  # (level, title, text, key): a banner
        self._left: dict[Target, Reconciled] = {}
        self._deadlines: dict[Target, float] = {}  # monotonic (gui.core.clock)
        # Once a second, not one timer per card: Qt's timers stop while the machine sleeps, the
        # deadlines do not, and a card must turn FIRED within a second of waking.
        self._watch = QTimer(self)
        self._watch.setInterval(1000)
        self._watch.timeout.connect(self._check)
        self._recorder: ArmedRecorder | None = None

    def __contains__(self, target: object) -> bool:
        return target in self._left

    @property
    def targets(self) -> list[Target]:
        return list(self._left)

    @property
    def profile(self) -> str | None:
        """The profile whose record these came from."""
        return None if self._recorder is None else self._recorder.profile

    def reconcile(self, recorder: ArmedRecorder | None, asked: Iterable[Target]) -> None:
        """Show what the profile's earlier runs left: call once a profile is in use."""
        self.clear()
        self._recorder = recorder
        if recorder is None:
            return
        asked_set = set(asked)
        found, problem = reconcile_at_start(recorder, asked_set, self._journal)
        if problem:
            self._post("warning", "Cannot tell what was left armed", problem, "left-armed")
        now = self.clock()
        live = []
        for r in found:
            if r.verdict is Verdict.LIVE and r.seconds_left is not None:
                live.append(r)
                self._left[r.target] = r
                self._show(self._status_of(r, now + r.seconds_left))
                self._deadlines[r.target] = now + r.seconds_left
                self._watch.start()
            elif r.verdict is Verdict.FIRED:
                self._show(TargetStatus(
                    target=r.target, state=State.FIRED, timeout=r.entry.timeout,
                    interval=r.entry.interval, trigger_time_ms=r.when_ms,
                    fired_at_ms=r.when_ms, reason=r.text() + " (seen on this start)."))
        resumed = [r for r in live if r.target in asked_set]
        waiting = [r for r in live if r.target not in asked_set]
        if waiting:
            names = "; ".join(f"{r.entry.target} at {clock_text(r.when_ms)}"
                              + (" at the latest" if r.at_the_latest else "") for r in waiting)
            self._post("warning", "Left armed by an earlier run",
                       f"The exchange cancels {names} unless you Resume or Disarm now.",
                       "left-armed")
        if resumed:
            log.info("Resuming %s left armed", counted(len(resumed), "target"))

    def _status_of(self, r: Reconciled, deadline_mono: float) -> TargetStatus:
        interval = r.entry.interval or r.entry.timeout / 4
        return TargetStatus(target=r.target, state=State.LEFT_ARMED, timeout=r.entry.timeout,
                            interval=interval, trigger_time_ms=r.when_ms,
                            deadline_mono=deadline_mono, reason=r.text())

    def take(self, targets: Iterable[Target]) -> dict[Target, int]:
        """Hand ``targets`` over to the engine (they are armed now): the trigger time each was
        left with, so that a first beat the exchange takes after it reads as FIRED."""
        out: dict[Target, int] = {}
        for target in targets:
            r = self._left.pop(target, None)
            self._deadlines.pop(target, None)
            if r is not None and r.entry.trigger_time_ms:
                out[target] = r.entry.trigger_time_ms
        return out

    def resume_args(self, target: Target) -> tuple[int, float | None] | None:
        """The timeout and interval ``target`` was left armed with."""
        r = self._left.get(target)
        if r is None:
            return None
        self._journal.write("resume", target=str(target), timeout=r.entry.timeout,
                            interval=r.entry.interval, trigger_time_ms=r.entry.trigger_time_ms,
                            message=f"{target}: resumed, as an earlier run left it")
        return r.entry.timeout, (r.entry.interval or None)

    def disarm_args(self, target: Target) -> tuple[int, int | None] | None:
        """The timeout and last acknowledged trigger time of ``target``, taken over to stop."""
        r = self._left.get(target)
        if r is None:
            return None
        self.take([target])
        return r.entry.timeout, r.entry.trigger_time_ms

    def _check(self) -> None:
        now = self.clock()
        for target, deadline in list(self._deadlines.items()):
            if now >= deadline + FIRED_GRACE_S:
                self._ran_out(target)
        if not self._deadlines:
            self._watch.stop()

    def _ran_out(self, target: Target) -> None:
        r = self._left.pop(target, None)
        self._deadlines.pop(target, None)
        if r is None:
            return
        reason = (f"the countdown an earlier run left armed ran out at {clock_text(r.when_ms)}"
                  f"{' at the latest' if r.at_the_latest else ''}: the exchange cancelled "
                  f"{r.target.cancelled}. Arm again to protect new orders.")
        self._journal.write("fire", target=str(target), trigger_time_ms=r.when_ms,
                            message=f"{target}: FIRED at {clock_text(r.when_ms)} (left armed "
                                    "by an earlier run)", left_armed=True)
        if self._recorder is not None:
            self._recorder.ended(target, "fired", r.when_ms)
        self._show(TargetStatus(target=target, state=State.FIRED, timeout=r.entry.timeout,
                                interval=r.entry.interval, trigger_time_ms=r.when_ms,
                                fired_at_ms=r.when_ms, reason=reason))

    def clear(self) -> None:
        self._watch.stop()
        self._deadlines.clear()
        self._left.clear()
