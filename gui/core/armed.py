"""What this computer left armed: one small file per profile, so that no start says "not armed"
while an exchange countdown from an earlier run may still be running.

``<state dir>/armed-<profile>.json`` (see :func:`gui.core.paths.state_dir`) holds, per target
whose countdown may be live on the exchange: its timeout and interval, the last acknowledged
``triggerTime`` and when it was acknowledged, and the latest beat sent without an answer yet.
The engine keeps it current through :class:`ArmedRecorder` (at each arm, send, acknowledgement
and confirmed stop); it is replaced atomically at every change, so a process killed at any
moment (SIGKILL, a crash) leaves the last complete version. No key, secret or signature is in it.

A beat sent but not answered may still have landed: that countdown may then run until the send
plus the timeout. :func:`reconcile` says so ("until HH:MM:SS at the latest") rather than guess.

Times: ``triggerTime`` is on the exchange's clock. The file also holds the exchange's clock
minus this computer's wall clock as last measured, so that a start with no network can still
tell a countdown that is still ahead from one that has run out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from gui.core.clock import clock_text
from gui.core.heartbeat import EngineEvent, EventKind
from gui.core.paths import state_dir
from gui.core.phrases import format_left
from gui.core.settings import is_valid_profile_name
from gui.core.targets import Target, TargetError, parse_target

log = logging.getLogger(__name__)

FILE_PREFIX = "armed-"
FILE_SUFFIX = ".json"
VERSION = 1
# A fired, disarmed or ended target is still listed this long after, then forgotten.
KEEP_ENDED_S = 24 * 3600.0
# The longest a send waits for its record to be written before it leaves anyway.
WRITE_WAIT_S = 2.0
# The writer thread ends after this long with nothing to write.
IDLE_EXIT_S = 5.0


class ArmedError(Exception):
    """The state file could not be read (said why, never with a traceback)."""


class Verdict(Enum):
    LIVE = "live"  # the exchange's countdown is (or may be) still running
    FIRED = "fired"  # it ran out: the exchange cancelled the scope's orders
    DISARMED = "disarmed"  # the exchange confirmed the stop


@dataclass(frozen=True)
class ArmedEntry:
    """One target as the last run that beat it left it."""

    target: str
    timeout: int
    interval: float
    # "armed" (being beaten), "stopping", "disarmed" (stop confirmed), "fired" (seen to run
    # out), "ended" (no longer beaten: an error, or the process quit leaving it to fire)
    state: str
    trigger_time_ms: int | None = None  # last acknowledged, exchange clock
    acked_at: float | None = None  # wall clock of that acknowledgement
    unanswered_sent_ms: int | None = None  # exchange clock: latest beat sent, no answer yet
    fired_at_ms: int | None = None
    updated_at: float = 0.0  # wall clock
    pid: int = 0

    def latest_ms(self) -> int | None:
        """The latest the exchange may still cancel at (exchange ms), or None if never armed."""
        options = [self.trigger_time_ms or 0]
        if self.unanswered_sent_ms:
            options.append(self.unanswered_sent_ms + self.timeout * 1000)
        best = max(options)
        return best or None


@dataclass(frozen=True)
class Reconciled:
    """What is known now of one target an earlier (or this) run left in the file."""

    profile: str
    entry: ArmedEntry
    verdict: Verdict
    # Exchange ms: for LIVE the trigger time (the latest possible when ``at_the_latest``); for
    # FIRED when it ran out; for DISARMED None.
    when_ms: int | None
    at_the_latest: bool  # a beat without an answer may have pushed the countdown this far
    seconds_left: float | None  # LIVE only, by the exchange's clock as last measured

    @property
    def target(self) -> Target:
        return parse_target(self.entry.target)

    @property
    def owner_alive(self) -> bool:
        """Another process of this computer that is still running wrote it as beating."""
        pid = self.entry.pid
        return (self.entry.state in ("armed", "stopping") and pid != os.getpid()
                and _process_alive(pid))

    def text(self) -> str:
        """One line for a person: what happened, or what will, and when."""
        when = clock_text(self.when_ms)
        if self.verdict is Verdict.LIVE:
            who = (f"armed by another running process of this computer (pid {self.entry.pid})"
                   if self.owner_alive else "left armed by an earlier run")
            left = format_left(self.seconds_left) if self.seconds_left is not None else "?"
            if not self.at_the_latest:
                return f"{who}: the exchange cancels at {when} ({left} left)"
            if self.entry.trigger_time_ms:
                return (f"{who}: the exchange cancels at "
                        f"{clock_text(self.entry.trigger_time_ms)}, or until {when} at the "
                        f"latest if a beat sent without an answer landed ({left} left)")
            return (f"{who}: its first beat was never answered; if it landed, the exchange "
                    f"cancels until {when} at the latest ({left} left)")
        if self.verdict is Verdict.FIRED:
            return (f"FIRED at {when}: the countdown ran out and the exchange cancelled "
                    f"{self.target.describe()}")
        return "disarmed: the exchange confirmed the stop"

    def as_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "target": self.entry.target,
                "verdict": self.verdict.value, "when_ms": self.when_ms,
                "at_the_latest": self.at_the_latest,
                "seconds_left": None if self.seconds_left is None
                else round(self.seconds_left, 3),
                "trigger_time_ms": self.entry.trigger_time_ms, "timeout": self.entry.timeout,
                "interval": self.entry.interval, "state": self.entry.state,
                "updated_at": self.entry.updated_at, "pid": self.entry.pid,
                "owner_alive": self.owner_alive}


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (POSIX only: on Windows os.kill would end it)."""
    if os.name != "posix" or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


@dataclass
class ArmedFile:
    """The file's content."""

    profile: str
    base_url: str = ""
    server_minus_wall: float = 0.0  # exchange clock minus our wall clock, as last measured
    updated_at: float = 0.0
    targets: dict[str, ArmedEntry] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"version": VERSION, "profile": self.profile, "base_url": self.base_url,
                "server_minus_wall": self.server_minus_wall, "updated_at": self.updated_at,
                "targets": {name: asdict(e) for name, e in sorted(self.targets.items())}}


def file_for(profile: str, directory: Path | None = None) -> Path:
    """The file of ``profile`` (names are percent-encoded: a name is never a path)."""
    return (directory or state_dir()) / f"{FILE_PREFIX}{quote(profile, safe='')}{FILE_SUFFIX}"


def profiles_with_files(directory: Path | None = None) -> list[str]:
    folder = directory or state_dir()
    names = []
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if path.name.startswith(FILE_PREFIX) and path.name.endswith(FILE_SUFFIX):
                names.append(unquote(path.name[len(FILE_PREFIX):-len(FILE_SUFFIX)]))
    return sorted(names)


def _entry(name: str, raw: Any) -> ArmedEntry:
    if not isinstance(raw, dict):
        raise ArmedError(f"the entry for {name!r} is not an object")
    parse_target(name)  # TargetError when the name is not a target
    known = {f for f in ArmedEntry.__dataclass_fields__}
    values = {k: v for k, v in raw.items() if k in known}
    values["target"] = name
    try:
        entry = ArmedEntry(**values)
    except TypeError as exc:
        raise ArmedError(f"the entry for {name!r} is incomplete ({exc})") from None
    for number in ("trigger_time_ms", "unanswered_sent_ms", "fired_at_ms"):
        value = getattr(entry, number)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ArmedError(f"{number} of {name!r} is not a whole number")
    if not isinstance(entry.timeout, int) or isinstance(entry.timeout, bool):
        raise ArmedError(f"timeout of {name!r} is not a whole number")
    return entry


def load(profile: str, directory: Path | None = None) -> ArmedFile | None:
    """The profile's file, None if there is none. ArmedError (with a reason) if unreadable."""
    path = file_for(profile, directory)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArmedError(f"{path}: cannot be read ({exc})") from None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ArmedError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("version") != VERSION \
            or not isinstance(raw.get("targets"), dict):
        raise ArmedError(f"{path}: not a state file this version understands")
    try:
        targets = {name: _entry(name, value) for name, value in raw["targets"].items()}
        offset = float(raw.get("server_minus_wall") or 0.0)
        updated = float(raw.get("updated_at") or 0.0)
    except (TargetError, ValueError, TypeError) as exc:
        raise ArmedError(f"{path}: {exc}") from None
    return ArmedFile(profile=profile, base_url=str(raw.get("base_url") or ""),
                     server_minus_wall=offset, updated_at=updated, targets=targets)


def reconcile(armed: ArmedFile, now_wall: float | None = None) -> list[Reconciled]:
    """Each target in ``armed`` judged against the clocks now (no network)."""
    now_ms = ((time.time() if now_wall is None else now_wall) + armed.server_minus_wall) * 1000
    out = []
    for entry in armed.targets.values():
        latest = entry.latest_ms()
        if entry.state == "disarmed":
            out.append(Reconciled(armed.profile, entry, Verdict.DISARMED, None, False, None))
        elif entry.state == "fired":
            out.append(Reconciled(armed.profile, entry, Verdict.FIRED,
                                  entry.fired_at_ms or entry.trigger_time_ms, False, None))
        elif latest is not None and latest > now_ms:
            at_latest = latest != (entry.trigger_time_ms or 0)
            out.append(Reconciled(armed.profile, entry, Verdict.LIVE, latest, at_latest,
                                  (latest - now_ms) / 1000))
        elif latest is not None:
            out.append(Reconciled(armed.profile, entry, Verdict.FIRED, latest,
                                  latest != (entry.trigger_time_ms or 0), None))
        # Never armed on the exchange (no send, no answer): nothing to say.
    return sorted(out, key=lambda r: r.entry.target)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold a lock beside ``path`` across read-change-write, where the OS offers one (POSIX):
    the window and a runner of the same profile then never drop each other's entries."""
    try:
        import fcntl
    except ImportError:  # Windows: one process per profile is the rule there
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write(path: Path, armed: ArmedFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(armed.as_json(), separators=(",", ":"), sort_keys=True).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


Change = Callable[[ArmedEntry | None], ArmedEntry | None]


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class ArmedRecorder:
    """Keeps one profile's file current; the engine calls it from its loop and, for sends,
    from the request threads just before the request leaves.

    Changes are written by one thread of the recorder's own, in batches (beats on the same
    second cost one write, and the engine's loop never waits on the disk); a send waits until
    its record is written. A failure to write is logged and the heartbeat carries on: keeping
    the countdown alive matters more than its record. Entries of targets this process never
    touched (another process's) are kept as they are. Call :meth:`flush` before exiting.
    """

    def __init__(self, profile: str, base_url: str = "", *, directory: Path | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        if not is_valid_profile_name(profile):
            raise ValueError(f"not a profile name: {profile!r}")
        self.profile = profile
        self.base_url = base_url
        self.path = file_for(profile, directory)
        self._wall = wall
        self._server_minus_wall: float | None = None
        self.failed = False  # the last write failed
        self._cond = threading.Condition()
        self._pending: list[tuple[Target, Change]] = []
        self._queued = 0  # changes handed in
        self._done = 0  # changes written (or given up)
        self._thread: threading.Thread | None = None
        # What this process last wrote, and the file's identity then: read again only when
        # another process has written since.
        self._cache: ArmedFile | None = None
        self._written: tuple[int, int, int] | None = None

    def set_clock(self, server_minus_wall: float) -> None:
        self._server_minus_wall = server_minus_wall

    def flush(self, timeout: float = WRITE_WAIT_S) -> bool:
        """Wait until every change handed in so far is written. False if ``timeout`` came first."""
        with self._cond:
            ticket = self._queued
            return self._cond.wait_for(lambda: self._done >= ticket, timeout=timeout)

    def _change(self, target: Target, change: Change, *, wait: bool = False) -> None:
        with self._cond:
            self._pending.append((target, change))
            self._queued += 1
            ticket = self._queued
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="armed-record",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
            if wait:
                self._cond.wait_for(lambda: self._done >= ticket, timeout=WRITE_WAIT_S)

    def _writer(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: bool(self._pending), timeout=IDLE_EXIT_S):
                    self._thread = None  # idle: the next change starts another
                    return
                batch, self._pending = self._pending, []
            try:
                self._apply(batch)
            except Exception:  # never lose the writer to a bug: the next batch tries again
                log.exception("Could not record what is armed")
                self._cache = None
            finally:
                with self._cond:
                    self._done += len(batch)
                    self._cond.notify_all()

    def _current(self) -> ArmedFile:
        if self._cache is not None and _signature(self.path) == self._written:
            return self._cache
        try:
            armed = load(self.profile, self.path.parent)
        except ArmedError as exc:
            log.warning("Replacing an unreadable state file: %s", exc)
            armed = None
        return armed or ArmedFile(profile=self.profile)

    def _apply(self, batch: list[tuple[Target, Change]]) -> None:
        try:
            with _locked(self.path):
                armed = self._current()
                now = self._wall()
                armed.base_url = self.base_url or armed.base_url
                if self._server_minus_wall is not None:
                    armed.server_minus_wall = self._server_minus_wall
                armed.updated_at = now
                for target, change in batch:
                    name = target.text
                    new = change(armed.targets.get(name))
                    if new is None:
                        armed.targets.pop(name, None)
                    else:
                        armed.targets[name] = replace(new, updated_at=now, pid=os.getpid())
                for old_name, old in list(armed.targets.items()):
                    if old.state in ("disarmed", "fired", "ended") \
                            and old.updated_at < now - KEEP_ENDED_S:
                        del armed.targets[old_name]
                _write(self.path, armed)
                self._cache, self._written = armed, _signature(self.path)
                self.failed = False
        except (OSError, ValueError) as exc:
            self.failed = True
            self._cache = None
            log.error("Could not write %s: %s", self.path, exc)

    # The engine's hook (gui.core.heartbeat.ArmedHook): never raises -----------------------

    def on_event(self, event: EngineEvent) -> None:
        status = event.status
        if status is None:
            return
        target, kind = status.target, event.kind
        try:
            if kind is EventKind.ARMING:
                self.armed(target, status.timeout, status.interval)
            elif kind is EventKind.BEAT_OK and status.trigger_time_ms:
                self.acked(target, status.timeout, status.trigger_time_ms)
            elif kind is EventKind.DISARMED:
                self.ended(target, "disarmed")
            elif kind is EventKind.FIRED:
                self.ended(target, "fired", status.fired_at_ms)
            elif kind is EventKind.STOPPING:
                self.ended(target, "stopping")
            elif kind in (EventKind.ERROR, EventKind.DISARM_FAILED, EventKind.LEFT_ARMED):
                self.ended(target, "ended")
        except Exception:
            log.exception("Could not record what is armed")


    def armed(self, target: Target, timeout: int, interval: float) -> None:
        """A worker starts beating ``target``; what an earlier run left stands until answered."""
        def change(old: ArmedEntry | None) -> ArmedEntry:
            if old is None or old.state in ("disarmed", "fired"):
                return ArmedEntry(target.text, timeout, interval, "armed")
            return replace(old, timeout=timeout, interval=interval, state="armed")
        self._change(target, change)

    def sent(self, target: Target, timeout: int, server_s: float) -> None:
        """A beat is about to leave, signed at ``server_s`` (exchange clock)."""
        try:
            self._sent(target, timeout, server_s)
        except Exception:  # the beat must leave whatever happens to its record
            log.exception("Could not record a beat sent")

    def _sent(self, target: Target, timeout: int, server_s: float) -> None:
        sent_ms = int(server_s * 1000)
        self._server_minus_wall = server_s - self._wall()

        def change(old: ArmedEntry | None) -> ArmedEntry:
            base = old or ArmedEntry(target.text, timeout, 0.0, "armed")
            pending = max(base.unanswered_sent_ms or 0, sent_ms)
            return replace(base, timeout=timeout, unanswered_sent_ms=pending,
                           state="armed" if base.state in ("disarmed", "fired") else base.state)
        self._change(target, change, wait=True)

    def acked(self, target: Target, timeout: int, trigger_time_ms: int) -> None:
        """The exchange acknowledged a beat: its countdown now runs until ``trigger_time_ms``."""
        def change(old: ArmedEntry | None) -> ArmedEntry:
            base = old or ArmedEntry(target.text, timeout, 0.0, "armed")
            pending = base.unanswered_sent_ms
            # Taken by the exchange at trigger - timeout: no earlier send can outlast it.
            if pending is not None and pending <= trigger_time_ms - timeout * 1000:
                pending = None
            return replace(base, trigger_time_ms=trigger_time_ms, acked_at=self._wall(),
                           unanswered_sent_ms=pending)
        self._change(target, change)

    def ended(self, target: Target, state: str, fired_at_ms: int | None = None) -> None:
        """``state``: "stopping", "disarmed", "fired" or "ended" (no longer beaten)."""
        def change(old: ArmedEntry | None) -> ArmedEntry | None:
            if old is None:
                return None
            if state == "disarmed":
                return replace(old, state=state, trigger_time_ms=None, unanswered_sent_ms=None)
            if state == "fired":
                return replace(old, state=state,
                               fired_at_ms=fired_at_ms or old.trigger_time_ms)
            return replace(old, state=state)
        self._change(target, change)


def reconcile_at_start(recorder: ArmedRecorder, asked: set[Target],
                       journal: Any = None) -> tuple[list[Reconciled], str | None]:
    """On a start: what earlier runs of the profile left, worth saying (live, or found fired
    now), and the reason the file could not be read, if so.

    Each result is journaled (``reconcile``); one found fired is recorded as such, so the next
    start does not announce it again. ``asked``: the targets this run arms (resumed).
    """
    try:
        record = load(recorder.profile, recorder.path.parent)
    except ArmedError as exc:
        if journal is not None:
            journal.write("reconcile", outcome="unreadable", message=str(exc))
        return [], str(exc)
    found = [] if record is None else [
        r for r in reconcile(record)
        if r.verdict is Verdict.LIVE or (r.verdict is Verdict.FIRED and r.entry.state != "fired")]
    for r in found:
        if journal is not None:
            journal.write("reconcile", target=r.entry.target, verdict=r.verdict.value,
                          when_ms=r.when_ms, at_the_latest=r.at_the_latest,
                          resumed=r.target in asked and r.verdict is Verdict.LIVE,
                          message=r.text())
        if r.verdict is Verdict.FIRED:
            recorder.ended(r.target, "fired", r.when_ms)
    return found, None
