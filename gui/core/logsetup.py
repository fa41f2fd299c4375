"""Logging for the app and the runner: a rotating file in the data dir, secrets redacted."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from pathlib import Path

from gui.core.redact import RedactingFilter

LOG_NAME = "gate-killswitch.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _QuietOnError(logging.Handler):
    """A handler that cannot write (a full disk, a closed stderr) says so once, in one line,
    instead of a traceback per record; it says nothing more until a record gets through."""

    _failing = False
    _failed_now = False

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed_now = True
        if self._failing:
            return
        self._failing = True
        with contextlib.suppress(Exception):
            sys.stderr.write(f"gate-killswitch: cannot write the log ({sys.exc_info()[1]}); "
                             "log records are being lost.\n")
            sys.stderr.flush()

    def handle(self, record: logging.LogRecord) -> bool:
        self._failed_now = False
        emitted = super().handle(record)
        if emitted and not self._failed_now:
            self._failing = False
        return emitted


class _StreamHandler(_QuietOnError, logging.StreamHandler):  # type: ignore[type-arg]
    pass


class _FileHandler(_QuietOnError, logging.handlers.RotatingFileHandler):
    pass


def setup_logging(directory: Path | None, *, console_level: int = logging.WARNING,
                  console_skips: tuple[str, ...] = ()) -> None:
    """Log INFO and above to ``directory/gate-killswitch.log`` (rotated), and
    ``console_level`` and above to stderr, except from the loggers named in ``console_skips``
    (whose news the front-end prints itself). Every handler redacts registered secrets."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    redacting = RedactingFilter()
    console = _StreamHandler()
    console.setLevel(console_level)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    console.addFilter(redacting)
    if console_skips:
        def shown(record: logging.LogRecord) -> bool:
            return not record.name.startswith(console_skips)

        console.addFilter(shown)
    root.addHandler(console)
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handler = _FileHandler(
                directory / LOG_NAME, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        except OSError as exc:
            root.warning("Cannot write the log file in %s (%s); logging to the console only.",
                         directory, exc.strerror)
        else:
            handler.setFormatter(logging.Formatter(_FORMAT))
            handler.addFilter(redacting)
            root.addHandler(handler)
    # urllib3 says "Connection pool is full" under many armed targets: not the person's worry.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
