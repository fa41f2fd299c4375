"""What a command line asks to arm, checked one way for every front-end: the window's
``--arm``, the runner's ``--target``, and a second launch's request forwarded to the running
window.

The checks: each target parses; a target covered by a broader one also asked for is dropped
(``options:all`` covers ``options:BTC_USDT``: the picker's rule), and the drop is said; the
timeout lies in the window's range (:data:`~gui.core.settings.MIN_TIMEOUT` ..
:data:`~gui.core.settings.MAX_TIMEOUT`: refused rather than clamped, so a typo never becomes
another number); the interval passes :func:`~gui.core.heartbeat.check_interval`, whose warning
is kept for the front-end to print.

A forwarded request travels as one line of JSON (:func:`encode_request` /
:func:`decode_request`): target texts, numbers and the profile name, never a secret.
Anything else (unknown fields, wrong types, more than :data:`MAX_REQUEST_BYTES`) is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gui.core.errors import InvalidInputError
from gui.core.heartbeat import Engine, State, check_interval
from gui.core.phrases import counted, seconds_text
from gui.core.settings import DEFAULT_TIMEOUT, MAX_TIMEOUT, MIN_TIMEOUT
from gui.core.targets import Target, TargetError, covering_target, parse_target

MAX_REQUEST_BYTES = 16_384
MAX_TARGETS = 500
_FIELDS = frozenset({"op", "arm", "timeout", "interval", "profile", "demo"})


@dataclass(frozen=True)
class ArmRequest:
    """A checked request: what to arm, and what was said about it on the way."""

    targets: list[Target]
    timeout: int
    interval: float
    # (dropped, the chosen target that covers it)
    dropped: list[tuple[Target, Target]] = field(default_factory=list)
    warning: str | None = None

    def notes(self) -> list[str]:
        """Lines for the person: the targets dropped as covered, and the interval's warning."""
        lines = [f"{gone} is left out: {by} already covers it." for gone, by in self.dropped]
        if self.warning:
            lines.append(f"Warning: {self.warning}")
        return lines


def drop_covered(targets: list[Target]) -> tuple[list[Target], list[tuple[Target, Target]]]:
    """``targets`` without duplicates and without those a broader one covers, and the
    dropped ones with what covers each."""
    unique = list(dict.fromkeys(targets))
    kept: list[Target] = []
    dropped: list[tuple[Target, Target]] = []
    present = set(unique)
    for target in unique:
        by = covering_target(target, present)
        if by is None:
            kept.append(target)
        else:
            dropped.append((target, by))
    return kept, dropped


def check_timeout_range(timeout: object) -> int:
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise InvalidInputError(f"The countdown timeout must be whole seconds, not {timeout!r}.")
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise InvalidInputError(
            f"The countdown timeout must be at least {MIN_TIMEOUT} seconds and at most "
            f"{MAX_TIMEOUT} (24 h); {timeout} is not allowed.")
    return timeout


def check_timing(timeout: object, interval: object) -> tuple[int, float, str | None]:
    """The timeout, the interval to use and its warning; :class:`InvalidInputError` if bad."""
    checked = check_timeout_range(timeout)
    if interval is not None and (isinstance(interval, bool)
                                 or not isinstance(interval, int | float)):
        raise InvalidInputError(f"The beat interval must be a number of seconds, not "
                                f"{interval!r}.")
    value, warning = check_interval(checked, None if interval is None else float(interval))
    return checked, value, warning


def check_arm_request(texts: list[str], timeout: int | None, interval: float | None
                      ) -> ArmRequest:
    """Check what a command line asks to arm. Raises ``TargetError`` or
    :class:`InvalidInputError` with a message for the person."""
    if len(texts) > MAX_TARGETS:
        raise InvalidInputError(f"At most {MAX_TARGETS} targets at once, not {len(texts)}.")
    targets, dropped = drop_covered([parse_target(t) for t in texts])
    checked, value, warning = check_timing(DEFAULT_TIMEOUT if timeout is None else timeout,
                                           interval)
    return ArmRequest(targets, checked, value, dropped, warning)


# -- the forwarded request ------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardedRequest:
    """A second launch's request, as the running instance receives it (not yet checked
    against its own state: see the controller)."""

    arm: list[str]
    timeout: int | None
    interval: float | None
    profile: str | None
    demo: bool

    @property
    def wants_arming(self) -> bool:
        return bool(self.arm) or self.timeout is not None or self.interval is not None


def encode_request(request: ForwardedRequest) -> bytes:
    data: dict[str, Any] = {"op": "launch", "arm": request.arm, "timeout": request.timeout,
                            "interval": request.interval, "profile": request.profile,
                            "demo": request.demo}
    line = json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"
    if len(line) > MAX_REQUEST_BYTES:
        raise InvalidInputError("The request is too long to forward to the running window.")
    return line


def decode_request(line: bytes) -> ForwardedRequest:
    """Parse one request line strictly; :class:`InvalidInputError` for anything else."""
    if len(line) > MAX_REQUEST_BYTES:
        raise InvalidInputError("request too long")
    try:
        data = json.loads(line.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError("request is not JSON") from exc
    if not isinstance(data, dict) or set(data) != _FIELDS or data["op"] != "launch":
        raise InvalidInputError("request has the wrong fields")
    arm, timeout, interval = data["arm"], data["timeout"], data["interval"]
    profile, demo = data["profile"], data["demo"]
    if not isinstance(arm, list) or not all(isinstance(t, str) and len(t) <= 200 for t in arm):
        raise InvalidInputError("request's targets are not texts")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)):
        raise InvalidInputError("request's timeout is not whole seconds")
    if interval is not None and (isinstance(interval, bool)
                                 or not isinstance(interval, int | float)
                                 or not math.isfinite(interval)):
        raise InvalidInputError("request's interval is not a number")
    if profile is not None and (not isinstance(profile, str) or len(profile) > 100):
        raise InvalidInputError("request's profile is not a name")
    if not isinstance(demo, bool):
        raise InvalidInputError("request's demo flag is not true or false")
    return ForwardedRequest(list(arm), timeout, None if interval is None else float(interval),
                            profile, demo)


# -- carrying it out in the running instance ------------------------------------------------------


@dataclass(frozen=True)
class LaunchReply:
    """The running instance's answer to a second launch: ``ok`` only when everything asked
    for is armed (acknowledged by the exchange) or the request only asked for the window."""

    ok: bool
    message: str

    def encode(self) -> bytes:
        return json.dumps({"status": "done", "ok": self.ok, "message": self.message},
                          ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


#: Arm as the ARM button does: the problem that stopped it, or None (it is arming).
ArmCall = Callable[[list[Target], int, float], "str | None"]
SETTLE_S = 10.0


async def settle(engine: Engine, targets: list[Target], seconds: float) -> None:
    """Wait until no target of ``targets`` is still sending its first beat, or ``seconds``."""
    done = asyncio.Event()

    def check(_event: object = None) -> None:
        if all((s := engine.status(t)) is None or s.state is not State.ARMING for t in targets):
            done.set()

    unsubscribe = engine.subscribe(check)
    try:
        check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), seconds)
    finally:
        unsubscribe()


async def carry_out(request: ForwardedRequest, *, demo: bool, profile: str | None,
                    engine: Engine | None, timing: tuple[int, float], arm: ArmCall,
                    settle_s: float = SETTLE_S, no_engine: str | None = None) -> LaunchReply:
    """What the running instance answers ``request``: checked against its own state (demo or
    live, its profile, what it already beats), armed through ``arm`` (the ARM path), and
    confirmed only once the exchange acknowledged each target's first beat. ``no_engine``:
    why there is no engine (its profile's key is not loaded), when it knows."""
    if request.demo != demo:
        return LaunchReply(False, (
            "it runs the demo (a simulated exchange); a launch for a real profile cannot arm "
            "through it. Quit the demo first." if demo else
            "it runs a real profile; a --demo launch cannot arm through it. Use the running "
            "window, or quit it first."))
    if not demo and request.profile is not None and request.profile != profile:
        current = f"profile {profile!r}" if profile else "no profile yet"
        return LaunchReply(False, f"it uses {current}, not {request.profile!r}. Switch "
                                  "profiles in its window (Keys…), or quit it first.")
    if not request.wants_arming:
        return LaunchReply(True, "its window was brought forward.")
    if not request.arm:
        return LaunchReply(False, "--timeout and --interval change nothing there without "
                                  "--arm; set them in its window.")
    timeout = timing[0] if request.timeout is None else request.timeout
    interval = request.interval
    if interval is None and request.timeout is None:
        interval = timing[1]
    try:
        checked = check_arm_request(request.arm, timeout, interval)
    except (TargetError, InvalidInputError) as exc:
        return LaunchReply(False, str(exc))
    if engine is None:
        return LaunchReply(False, no_engine or "no API key is loaded there yet: choose a "
                                               "profile in its window.")
    beaten = set(engine.armed_targets)
    notes = checked.notes()
    for target in checked.targets:
        status = engine.status(target)
        if target in beaten and status is not None and (
                status.timeout != checked.timeout or abs(status.interval - checked.interval)
                > 1e-6):
            return LaunchReply(False, (
                f"{target} is already armed there with a {status.timeout} s countdown and a "
                f"beat every {seconds_text(status.interval)} s; stop it first to change them."))
    new = [t for t in checked.targets if t not in beaten]
    if new:
        problem = arm(new, checked.timeout, checked.interval)
        if problem is not None:
            return LaunchReply(False, problem)
        await settle(engine, new, settle_s)
    failed = []
    for target in checked.targets:
        status = engine.status(target)
        if status is None or status.state is not State.ARMED:
            state = status.state.words if status is not None else "not armed"
            reason = f" ({status.reason})" if status is not None and status.reason else ""
            failed.append(f"{target}: {state}{reason}")
    if failed:
        return LaunchReply(False, "not every target is armed there: " + "; ".join(failed)
                           + ". See its window.")
    kept = [t for t in checked.targets if t in beaten]
    lines = [f"armed {counted(len(checked.targets), 'target')} there (timeout {checked.timeout} s, "
             f"a beat every {seconds_text(checked.interval)} s); the exchange acknowledged each."]
    if kept:
        lines.append("Already armed there before: " + ", ".join(map(str, kept)) + ".")
    return LaunchReply(True, " ".join(lines + notes))
