"""The journal: an append-only JSON Lines record of every arm, beat, failure, retry, fire, stop
and cancel-now.

One object per line::

    {"t":"2024-05-01T12:00:00.123Z","ts":1714564800.123,"event":"beat","target":"spot:BTC_USDT",...}

``t`` is UTC with milliseconds for people, ``ts`` Unix seconds for programs. Where:
``platformdirs.user_data_dir("gate-killswitch")``, or ``$GATE_KILLSWITCH_DATA_DIR``, or the
directory handed to :class:`Journal`; file ``journal.jsonl``, rotated by size into
``journal.jsonl.1`` (newest) .. ``journal.jsonl.<backups>``.

A secret never gets in: field names that look like one (``key``, ``secret``, ``sign``...) are a
programming error and raise ``ValueError``, and every text value passes through
:func:`gui.core.redact.redact`.

A journal that cannot be written (disk full, directory removed) logs an error and carries on:
the heartbeat that keeps the user's orders guarded matters more than its record.

Engine events are journaled on the GUI thread (the asyncio loop runs there under qasync), so a
write must be cheap: the file stays open between records (one ``write`` system call per line,
no ``fsync``), and it is reopened when it was deleted or replaced meanwhile, after a rotation,
after an error, and after :meth:`Journal.close`.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import stat
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import platformdirs

from gui.core.redact import redact

__all__ = ["DATA_DIR_ENV", "JOURNAL_FILE", "Journal", "JournalError", "JournalListener",
           "data_dir"]

log = logging.getLogger(__name__)

APP_NAME = "gate-killswitch"
DATA_DIR_ENV = "GATE_KILLSWITCH_DATA_DIR"
JOURNAL_FILE = "journal.jsonl"
RESERVED_FIELDS = frozenset({"t", "ts", "event"})

JournalListener = Callable[[dict[str, Any]], None]

# Field names that would hold a credential. Whole words of the name (split at '_', '-', '.'),
# plus any name containing the unmistakable ones, so "api_key", "apiKey", "x_signature" and
# "client_secret" are refused but "keyring" or "signal" are not.
_REFUSED_WORDS = frozenset({"key", "keys", "apikey", "sign", "signature",
                            "signatures", "password", "passwd", "pwd", "passphrase", "secret",
                            "secrets", "token", "credentials"})
_REFUSED_PARTS = ("secret", "password", "passphrase", "signature", "apikey")
_MAX_DEPTH = 8


class JournalError(Exception):
    """The journal's path is unusable as a journal (a FIFO, a device, a directory)."""


def _not_a_file(path: str) -> str | None:
    """Why ``path`` cannot be a journal file, or None (a regular file, or nothing yet)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"the journal {path} cannot be read: {exc.strerror or exc}"
    if stat.S_ISREG(info.st_mode):
        return None
    return (f"the journal {path} is not a regular file (a FIFO, a device or a directory): "
            "move it away, or choose another directory with $GATE_KILLSWITCH_DATA_DIR")


def data_dir() -> Path:
    """The directory the journal lives in: ``$GATE_KILLSWITCH_DATA_DIR`` or the platform's."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


# Cached: the engine journals the same few field names thousands of times. A refused name
# raises, and lru_cache does not cache a raise, so it is refused every time.
@functools.lru_cache(maxsize=1024, typed=True)  # typed: 1 and True are two names
def _check_field_name(name: object) -> str:
    text = str(name)
    lowered = text.lower()
    words = set(re.split(r"[^a-z0-9]+", lowered))
    if words & _REFUSED_WORDS or any(part in lowered for part in _REFUSED_PARTS):
        raise ValueError(f"journal field {text!r} looks like a credential; the journal never "
                         "records keys, secrets or signatures")
    return text


def _clean(value: object, depth: int = 0) -> Any:
    """A JSON-ready copy of ``value`` with every registered secret masked."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        # NaN and infinity are not JSON; write them as text rather than lose the line.
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Enum):
        return _clean(value.value, depth + 1)
    if depth >= _MAX_DEPTH:
        return redact(str(value))
    if isinstance(value, Mapping):
        return {_check_field_name(k): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v, depth + 1) for v in value]
    return redact(str(value))


def _utc_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class Journal:
    """Thread-safe, size-rotated JSON Lines journal. See the module docstring."""

    def __init__(self, directory: Path | None = None, max_bytes: int = 2_000_000,
                 backups: int = 5, *, clock: Callable[[], float] = time.time) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        if backups < 0:
            raise ValueError("backups must not be negative")
        self._directory = Path(directory) if directory is not None else data_dir()
        self._max_bytes = max_bytes
        self._backups = backups
        self._clock = clock
        self._lock = threading.Lock()
        # Fields every record carries unless it says otherwise (the profile in use).
        self._context: dict[str, Any] = {}
        self._path_text = str(self.path)  # os.stat on a str: no pathlib work per record
        # The open file: a raw descriptor rather than a file object, so a Journal nobody
        # closed is not a ResourceWarning; the finalizer closes it when the Journal goes.
        self._fd: int | None = None
        self._fd_identity: tuple[int, int] = (0, 0)  # (st_dev, st_ino) of what _fd is
        self._fd_closer: weakref.finalize[[int], Journal] | None = None
        self._size = 0  # the file's size, as of our last write
        self._failing = False  # logs the first failure of a run of them, not every one
        self._listeners: list[JournalListener] = []
        self._listeners_lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def path(self) -> Path:
        return self._directory / JOURNAL_FILE

    def check(self) -> None:
        """Raise :class:`JournalError` when the journal's path is not a regular file: opening
        a FIFO would block the app (deaf to signals) until some reader came along."""
        problem = _not_a_file(self._path_text)
        if problem is not None:
            raise JournalError(problem)

    def _backup_path(self, index: int) -> Path:
        return self._directory / f"{JOURNAL_FILE}.{index}"

    # -- writing ---------------------------------------------------------------------------------

    def set_context(self, **fields: object) -> None:
        """Add these fields to every record from now on (None removes one), e.g. the profile
        in use, so that a journal shared by the window and runners tells their records apart."""
        for name in fields:
            if name in RESERVED_FIELDS:
                raise ValueError(f"journal field {name!r} is reserved")
            _check_field_name(name)
        context = dict(self._context)
        for name, value in fields.items():
            if value is None:
                context.pop(name, None)
            else:
                context[name] = _clean(value)
        self._context = context  # replaced whole: a writer on another thread sees one or the other

    def write(self, event: str, **fields: object) -> dict[str, Any]:
        """Append one record and return it (as written). Listeners are called afterwards.

        Raises ``ValueError`` for a field named like a credential or a reserved name
        (``t``, ``ts``, ``event``): those are bugs in the caller.
        """
        if not isinstance(event, str) or not event:
            raise ValueError("a journal event needs a name")
        for name in fields:
            if name in RESERVED_FIELDS:
                raise ValueError(f"journal field {name!r} is reserved")
            _check_field_name(name)
        ts = self._clock()
        record: dict[str, Any] = {"t": _utc_text(ts), "ts": round(ts, 3), "event": redact(event)}
        record.update(self._context)
        for name, value in fields.items():
            record[name] = _clean(value)
        # ASCII with escapes: a lone surrogate in some exception text cannot make it fail.
        line = (json.dumps(record, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
                + "\n").encode("ascii")
        with self._lock:
            self._append(line)
        self._notify(record)
        return record

    def _append(self, line: bytes) -> None:
        try:
            fd = self._current_fd()
            if self._size > 0 and self._size + len(line) > self._max_bytes:
                self._close_fd()
                self._rotate()
                fd = self._current_fd()
            # One write system call on an O_APPEND descriptor: the line is in the file (the
            # OS's cache) when this returns, so after a crash of the app the journal shows
            # the last beat that was sent. No fsync: that would cost a disk flush per beat.
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            self._size += len(line)
            self._failing = False
        except OSError as exc:
            # Start afresh at the next record: the directory may be back, the disk freed.
            self._close_fd()
            if not self._failing:
                self._failing = True
                log.error("Cannot write the journal %s (%s); journal records are being lost.",
                          self.path, exc)

    def _current_fd(self) -> int:
        """The open journal file, (re)opened when it is not the file at ``path`` any more."""
        fd = self._fd
        if fd is not None:
            # One stat per record (about a microsecond) keeps today's promise: a journal
            # deleted, or renamed away by a log rotator, while the app runs is started again
            # rather than written into a file nobody can see.
            try:
                found = os.stat(self._path_text)
            except FileNotFoundError:
                found = None
            if found is not None and (found.st_dev, found.st_ino) == self._fd_identity:
                if found.st_size != self._size:
                    # Another writer appended (a second journal on this directory, a hand
                    # edit): follow its size, and end a fragment it may have left.
                    self._size = found.st_size
                    if self._size > 0 and not self._ends_with_newline():
                        self._size += os.write(fd, b"\n")
                return fd
            self._close_fd()
        return self._open_fd()

    def _open_fd(self) -> int:
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_NONBLOCK: a FIFO at the path must not block the open; it is refused below.
        fd = os.open(self._path_text, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                     | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(f"{self._path_text} is not a regular file")
            if hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
            if info.st_size > 0 and not self._ends_with_newline():
                # Not the file as a journal leaves it: a crash mid-line (or another writer)
                # left a fragment. End it, so the next record is a line of its own;
                # recent() skips the fragment.
                os.write(fd, b"\n")
                info = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._fd_identity = (info.st_dev, info.st_ino)
        self._size = info.st_size
        self._fd_closer = weakref.finalize(self, os.close, fd)
        return fd

    def _close_fd(self) -> None:
        closer, self._fd_closer, self._fd = self._fd_closer, None, None
        if closer is not None:
            try:
                closer()  # closes the descriptor once, whoever asks first
            except OSError as exc:
                log.warning("Closing the journal %s failed: %s", self.path, exc)

    def _ends_with_newline(self) -> bool:
        with open(self._path_text, "rb") as reader:
            reader.seek(-1, os.SEEK_END)
            return reader.read(1) == b"\n"

    def _rotate(self) -> None:
        if self._backups == 0:
            self.path.unlink(missing_ok=True)
            return
        self._backup_path(self._backups).unlink(missing_ok=True)
        for index in range(self._backups - 1, 0, -1):
            older = self._backup_path(index)
            if older.exists():
                os.replace(older, self._backup_path(index + 1))
        os.replace(self.path, self._backup_path(1))

    def close(self) -> None:
        """Close the file. Every record written is already in it; a later write reopens it."""
        with self._lock:
            self._close_fd()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- listeners -------------------------------------------------------------------------------

    def subscribe(self, callback: JournalListener) -> Callable[[], None]:
        """Call ``callback(record)`` after each write; returns a function that unsubscribes.

        The callback runs on the writing thread (often an engine thread): a GUI must hand the
        record over to its own thread. Exceptions it raises are logged, never passed on.
        """
        with self._listeners_lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return unsubscribe

    def _notify(self, record: dict[str, Any]) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(dict(record))
            except Exception:
                log.exception("A journal listener (%r) failed; the journal carries on.", callback)

    # -- reading ---------------------------------------------------------------------------------

    def recent(self, n: int = 200) -> list[dict[str, Any]]:
        """The last ``n`` records, oldest first, reading into rotated files as needed.

        Lines that are not a JSON object (a crash fragment, a hand edit) are skipped.
        """
        if n <= 0:
            return []
        newest_first: list[dict[str, Any]] = []
        # Under the lock, so a rotation cannot move lines between files while they are read.
        with self._lock:
            files = [self.path] + [self._backup_path(i) for i in range(1, self._backups + 1)]
            for path in files:
                problem = _not_a_file(str(path))
                if problem is not None:
                    log.warning("Not reading %s", problem)
                    continue
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    log.warning("Cannot read the journal file %s: %s", path, exc)
                    continue
                for raw in reversed(data.split(b"\n")):
                    if not raw.strip():
                        continue
                    try:
                        item = json.loads(raw)
                    except ValueError:
                        continue
                    if isinstance(item, dict):
                        newest_first.append(item)
                        if len(newest_first) >= n:
                            break
                if len(newest_first) >= n:
                    break
        newest_first.reverse()
        return newest_first
