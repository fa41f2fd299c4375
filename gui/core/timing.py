"""How often to beat, how long the engine waits for an answer, when silence becomes news, and
what a budget carries.

The usual failure of a trader's connection is silence: packets vanish and no error comes back.
Three rules make that as visible as an error:

- **Overdue.** An answer later than :meth:`Latencies.overdue_after` (the larger of
  :data:`OVERDUE_FLOOR_S` and a few times the recent 95th percentile) is news at once: the
  target is shown amber before the attempt gives up.
- **Attempts sized to the time left.** One attempt may take a quarter of the time left before
  the deadline (at most :data:`ATTEMPT_CAP_S`), so at least two more fit after it.
- **Capacity.** Before arming, :func:`capacity_problem` checks that the shared budget can carry
  the beats, with room for retries and stops.
"""

from __future__ import annotations

import collections
import math

from gui.core.client import MIN_TIMEOUT_S, check_timeout
from gui.core.errors import InvalidInputError
from gui.core.phrases import seconds_text

DEFAULT_TIMEOUT_S = 60
DEFAULT_INTERVAL_S = 15.0
MIN_INTERVAL_S = 0.5

OVERDUE_FLOOR_S = 2.0
OVERDUE_P95_FACTOR = 3.0
# Latencies this many answers back are forgotten: the network of an hour ago says little.
LATENCY_MEMORY = 64
ATTEMPT_SHARE = 0.25
ATTEMPT_CAP_S = 10.0
# Below this an attempt cannot even cross a continent; better to try than to give up unsent.
ATTEMPT_FLOOR_S = 0.3
# Of a rate budget, beats may use this share: the rest is for retries and stops.
BEAT_SHARE_OF_BUDGET = 0.75


class Latencies:
    """The recent round trips of acknowledged requests, engine-wide (one host, one network)."""

    def __init__(self, keep: int = LATENCY_MEMORY) -> None:
        self._seen: collections.deque[float] = collections.deque(maxlen=keep)

    def add(self, seconds: float) -> None:
        if math.isfinite(seconds) and seconds >= 0:
            self._seen.append(seconds)

    def p95(self) -> float | None:
        if not self._seen:
            return None
        ordered = sorted(self._seen)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]

    def overdue_after(self) -> float:
        """Seconds without an answer after which a beat is overdue."""
        p95 = self.p95()
        return OVERDUE_FLOOR_S if p95 is None else max(OVERDUE_FLOOR_S, OVERDUE_P95_FACTOR * p95)


def attempt_timeout(left: float | None, cap: float, p95: float | None = None) -> float:
    """How long one beat attempt may take with ``left`` seconds before the deadline
    (None: nothing is counting down yet), never more than ``cap``.

    A quarter of the time left, so two more fit after it; but on a network whose answers
    lately took ``p95`` seconds, never less than twice that while half the time is left: an
    attempt cut before its answer can come is only a failure made certain.
    """
    bound = min(cap, ATTEMPT_CAP_S)
    if left is None:
        return bound
    share = left * ATTEMPT_SHARE
    if p95 is not None:
        share = max(share, min(2 * p95, left / 2))
    return max(ATTEMPT_FLOOR_S, min(bound, share))


def beats_per_window(interval: float, window: float) -> float:
    """Requests one target sends in ``window`` seconds beating every ``interval``.

    The engine sends a beat up to 5 % early (to spread them) and, from 10 s up, on the whole
    second before: count that.
    """
    effective = interval * 0.95 - (1.0 if interval >= 10.0 else 0.0)
    return window / max(effective, 0.05)


def capacity_problem(load: float, new_targets: int, interval: float, timeout: int,
                     limit: int, window: float, product: str) -> str | None:
    """Why ``new_targets`` more targets beating every ``interval`` do not fit a budget of
    ``limit`` requests per ``window`` s already carrying ``load`` requests per window; None when
    they fit. The message offers the shortest interval that fits, or how many targets do."""
    room = limit * BEAT_SHARE_OF_BUDGET - load
    need = new_targets * beats_per_window(interval, window)
    if need <= room:
        return None
    head = (f"{new_targets} {product} target{'s' if new_targets != 1 else ''} beating every "
            f"{seconds_text(interval)} s need about {need:.0f} requests per {window:g} s"
            + (f" besides the {load:.0f} already used" if load >= 1 else "")
            + f"; the budget is {limit} per endpoint (Gate allows 200 per 10 s), and retries "
            "and stops need room too.")
    if room > 0:
        # The shortest interval whose beats fit (beats_per_window solved for interval).
        shortest = math.ceil((new_targets * window / room + 1.0) / 0.95 * 10) / 10
        if shortest < timeout / 3:
            return (f"{head} A beat every {seconds_text(shortest)} s or more fits; nothing was "
                    "armed.")
        fits = max(0, math.floor(room / beats_per_window(timeout / 3, window)))
        return (f"{head} With a {timeout} s timeout at most {fits} such targets fit (beating "
                f"every {timeout / 3:.3g} s), or protect the whole market with one "
                f"'{product}:all' target; nothing was armed.")
    return (f"{head} No more targets fit on {product}; protect the whole market with one "
            f"'{product}:all' target instead; nothing was armed.")


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
            f"The beat interval ({seconds_text(value)} s) must be shorter than the timeout "
            f"({timeout} s): otherwise the countdown runs out between beats.")
    warning = None
    if value > timeout / 3:
        warning = (f"A beat every {seconds_text(value)} s leaves little slack in a {timeout} s "
                   f"countdown: one failed beat and it may fire. {seconds_text(timeout / 4)} s "
                   "is safer.")
    return value, warning


# What an answer that came after its target was declared fired says happened.
TOO_LATE = "too late"  # taken after the countdown ran out: it fired, and this armed a new one
RENEWED = "renewed"  # taken in time, and its countdown still runs: it never fired
FIRED_LATER = "fired later"  # taken in time, but its own countdown has run out since
# A renewed countdown this close to its end is not counted on: the next beat might not make it.
RENEWED_MARGIN_S = 1.0


def late_answer(fired_ms: int, taken_ms: int, new_trigger_ms: int, now_server: float,
                uncertainty: float) -> str:
    """Judge a beat answered after the engine said "fired" at the deadline ``fired_ms``.

    The exchange took the beat at ``taken_ms`` (its ``triggerTime`` minus the timeout, on its
    own clock, so no offset enters): after the deadline means the countdown had run out. Taken
    in time, it renewed the countdown until ``new_trigger_ms``, which either still runs now
    (``now_server``, give or take ``uncertainty``) or ran out since, with no beat after it.
    """
    if taken_ms > fired_ms:
        return TOO_LATE
    if new_trigger_ms / 1000.0 > now_server + uncertainty + RENEWED_MARGIN_S:
        return RENEWED
    return FIRED_LATER


# Beats of an interval this long or longer go out on whole seconds of the monotonic clock:
# at most a second early, a tenth of the interval.
BEAT_GRID_MIN_INTERVAL_S = 10.0
# At most this many beats go out on one whole second; the others keep their own time.
BEAT_GRID_SHARE = 8


class BeatGrid:
    """Places beats in time: a beat due at ``due`` (monotonic) goes out, for an interval of
    :data:`BEAT_GRID_MIN_INTERVAL_S` or more, at the whole second at or before ``due``, while
    that second has room for it (:data:`BEAT_GRID_SHARE`); else at ``due``.

    Gate's ``triggerTime`` is the moment it took the beat plus the timeout, so the countdowns
    of beats sent on the same fraction of a second turn their seconds together (give or take
    the network's jitter), and the window draws them in one repaint. Early is the safe side:
    the countdown is renewed sooner, never later. Short intervals keep their time: a second
    would be too large a share of them. A few beats a second in step are enough; a crowd of
    them at once would hold the GUI thread up.
    """

    def __init__(self) -> None:
        # Whole second of the monotonic clock -> beats set to go out on it.
        self._load: dict[int, int] = {}

    def place(self, due: float, interval: float, now: float) -> float:
        if interval < BEAT_GRID_MIN_INTERVAL_S:
            return due
        second = math.floor(due)
        if self._load.get(second, 0) >= BEAT_GRID_SHARE:
            return due
        for old in [s for s in self._load if s < now - 1]:
            del self._load[old]
        self._load[second] = self._load.get(second, 0) + 1
        return float(second)
