"""Keep secrets out of logs: a process-wide registry of secret strings and a logging filter.

Whatever code holds a key or secret registers it here (``KeyStore`` does so for every pair it
stores or loads). From then on :func:`redact` and :class:`RedactingFilter` replace it with
``***`` wherever it turns up: in a log message, its arguments, a traceback, a journal line or a
message printed to the terminal. This is the net under the rule that no code ever formats a
secret into text in the first place; it is not a licence to do so.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "RedactingFilter",
    "clear_secrets",
    "install_redaction",
    "redact",
    "register_secret",
]

MASK = "***"
# Shorter strings would match ordinary words and numbers all over the log, and no real key or
# secret is that short (Gate's are 32 and 64 characters; KeyStore refuses fewer than 8).
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(text: str) -> None:
    """Remember ``text`` as a secret to be masked from now on, for the life of the process."""
    global _pattern
    if not isinstance(text, str) or len(text) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if text in _secrets:
            return
        _secrets.add(text)
        _pattern = _compile(_secrets)


def clear_secrets() -> None:
    """Forget every registered secret. For tests: the application never needs to forget."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def _compile(secrets: set[str]) -> re.Pattern[str]:
    # Longest first, so a secret that contains another one is masked whole, not in part.
    ordered = sorted(secrets, key=len, reverse=True)
    return re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    pattern = _pattern  # one read: a concurrent register_secret swaps it, never mutates it
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def _contains_secret(text: str) -> bool:
    pattern = _pattern
    return pattern is not None and pattern.search(text) is not None


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a broken __str__ must not break logging
        return f"<{type(value).__name__}>"


def _args_contain_secret(args: object) -> bool:
    if isinstance(args, dict):
        values: list[object] = [*args.keys(), *args.values()]
    elif isinstance(args, tuple):
        values = list(args)
    else:
        values = [args]
    return any(_contains_secret(_safe_str(v)) or _contains_secret(repr(v)) for v in values)


class RedactingFilter(logging.Filter):
    """Masks registered secrets in a record's message, arguments, traceback and stack text.

    Attach it to handlers, not loggers: a logger's filters only see records logged on that very
    logger, while a handler's filters see every record that propagates to it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        self._redact_message(record)
        self._redact_exception(record)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True

    @staticmethod
    def _redact_message(record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            # The arguments do not fit the format; logging will report that itself. Mask what
            # we can see without formatting.
            record.msg = redact(_safe_str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(redact(_safe_str(a)) for a in record.args)
            elif record.args is not None:
                record.args = None
            return
        if _contains_secret(message) or (record.args and _args_contain_secret(record.args)):
            # Replace the message with its masked, already formatted text and drop the
            # arguments: masking an argument in place could break a %d, and a handler that
            # reads record.args (structured logging) must not find the secret there either.
            record.msg = redact(message)
            record.args = None

    @staticmethod
    def _redact_exception(record: logging.LogRecord) -> None:
        text = record.exc_text
        if not text and record.exc_info and record.exc_info[0] is not None:
            # The same text logging.Formatter.formatException would cache.
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if text and _contains_secret(text):
            record.exc_text = redact(text)
            # Formatters print the cached exc_text; a handler that renders exc_info itself
            # (or ships the exception object elsewhere) would see the secret, so drop it.
            record.exc_info = None


def install_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Add one :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger).

    Idempotent. Handlers added later need their own call: call this again after configuring
    logging.
    """
    target = logger if logger is not None else logging.getLogger()
    shared: RedactingFilter | None = None
    for handler in target.handlers:
        for existing in handler.filters:
            if isinstance(existing, RedactingFilter):
                shared = existing
                break
        if shared is not None:
            break
    if shared is None:
        shared = RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(shared)
    return shared
