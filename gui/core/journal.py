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
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import platformdirs

from gui.core.redact import redact

__all__ = ["DATA_DIR_ENV", "JOURNAL_FILE", "Journal", "JournalListener", "data_dir"]

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


def data_dir() -> Path:
    """The directory the journal lives in: ``$GATE_KILLSWITCH_DATA_DIR`` or the platform's."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


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
        self._expected_size: int | None = None  # the file's size after our last write
        self._failing = False  # logs the first failure of a run of them, not every one
        self._listeners: list[JournalListener] = []
        self._listeners_lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def path(self) -> Path:
        return self._directory / JOURNAL_FILE

    def _backup_path(self, index: int) -> Path:
        return self._directory / f"{JOURNAL_FILE}.{index}"

    # -- writing ---------------------------------------------------------------------------------

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
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size > 0 and size != self._expected_size and not self._ends_with_newline():
                # Not the file as this journal left it: a crash mid-line (or another writer)
                # left a fragment. Start a fresh line so the next record stays readable;
                # recent() skips the fragment.
                line = b"\n" + line
            if size > 0 and size + len(line) > self._max_bytes:
                self._rotate()
                size = 0
            # Opened per record, not held open: no handle to leak or to keep Windows from
            # renaming the file, and a journal deleted while the app runs is simply started
            # again. A beat every few seconds makes the cost of an open() irrelevant.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                         | getattr(os, "O_BINARY", 0), 0o600)
            with os.fdopen(fd, "ab") as handle:
                # Written and flushed line by line: after a crash the journal must show the
                # last beat that was sent.
                handle.write(line)
            self._expected_size = size + len(line)
            self._failing = False
        except OSError as exc:
            if not self._failing:
                self._failing = True
                log.error("Cannot write the journal %s (%s); journal records are being lost.",
                          self.path, exc)

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as reader:
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
        """Nothing is held open between writes; kept so callers can close uniformly."""

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
