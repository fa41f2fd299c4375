"""One exception per failure class, chosen from Gate's ``label`` (never from its message).

Every message says what to do next and never contains a key, a secret or a signature: Gate's own
``message`` text is kept only after it has been checked for those (see :func:`scrub`).
"""

from __future__ import annotations

from collections.abc import Iterable


class GateError(Exception):
    """Base of every failure the client reports.

    ``retryable`` tells the engine whether trying again can help.
    """

    retryable = False
    advice = "Check the details and try again."

    def __init__(self, message: str, *, label: str = "", status: int | None = None,
                 trace_id: str = "") -> None:
        self.label = label
        self.status = status
        self.trace_id = trace_id
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        head = f"{self.label}: " if self.label else ""
        message = self.message.strip()
        # Gate's message and the app's advice are two sentences, not one run-on.
        if message and self.advice and message[-1] not in ".!?":
            message += "."
        return f"{head}{message} {self.advice}".strip()


class AuthenticationError(GateError):
    advice = ("The API key or secret was refused: check the profile's key and secret, that the key "
              "is not expired, and its IP whitelist.")


class ClockError(GateError):
    retryable = True
    advice = ("The request's timestamp was outside the exchange's 60 s window; the clock is "
              "measured again.")


class PermissionDeniedError(GateError):
    advice = ("The key cannot do this: give it read-write permission for this product in Gate's "
              "API key settings.")


class BadParameterError(GateError):
    advice = "The exchange rejected a parameter: check the pair, contract or timeout."


class RateLimitedError(GateError):
    retryable = True
    advice = "Too many requests: slowing down and retrying."

    def __init__(self, message: str, *, label: str = "", status: int | None = None,
                 trace_id: str = "", reset_at: float | None = None) -> None:
        super().__init__(message, label=label, status=status, trace_id=trace_id)
        self.reset_at = reset_at  # Unix seconds when the budget refills, if the exchange said


class ServerError(GateError):
    retryable = True
    advice = "The exchange had a server problem: retrying."


class NetworkError(GateError):
    """No answer came: the request may or may not have reached Gate.

    ``cause`` names what failed, each with its own advice: ``dns`` (the host name could not be
    resolved), ``refused``, ``reset`` (reset or dropped), ``tls``, ``proxy``, ``timeout`` (no
    answer within the attempt's bound) or ``network`` (anything else on the way).
    """

    retryable = True
    advice = "Check the network connection; retrying."

    def __init__(self, message: str, *, cause: str = "network", advice: str | None = None,
                 label: str = "", status: int | None = None, trace_id: str = "") -> None:
        super().__init__(message, label=label, status=status, trace_id=trace_id)
        self.cause = cause
        if advice is not None:
            self.advice = advice


class BadResponseError(GateError):
    """HTML from a proxy, an empty body, or JSON of the wrong shape."""

    retryable = True
    advice = ("The answer was not what the exchange sends (a proxy or gateway in between?); "
              "retrying.")


class NoFuturesAccountError(GateError):
    """``USER_NOT_FOUND`` on a futures endpoint: that settle currency's futures account does not
    exist yet (Gate opens it with the first transfer into it). Retrying cannot help."""

    advice = ("Open it on Gate (a first transfer into that futures account does), or protect "
              "another scope.")

    def __init__(self, message: str, *, label: str = "", status: int | None = None,
                 trace_id: str = "", settle: str | None = None) -> None:
        self.settle = settle
        what = f"{settle.upper()} futures" if settle else "futures"
        super().__init__(f"This account has no {what} account yet.", label=label,
                         status=status, trace_id=trace_id)


class InvalidInputError(GateError, ValueError):
    """Refused before anything was sent: the caller's input is not valid."""

    advice = ""


AUTH_LABELS = frozenset({
    "INVALID_KEY", "INVALID_SIGNATURE", "INVALID_CREDENTIALS", "MISSING_REQUIRED_HEADER",
    "IP_FORBIDDEN", "ACCOUNT_LOCKED",
})
CLOCK_LABELS = frozenset({"REQUEST_EXPIRED"})
PERMISSION_LABELS = frozenset({"READ_ONLY", "FORBIDDEN"})
PARAM_LABELS = frozenset({
    "INVALID_PARAM_VALUE", "MISSING_REQUIRED_PARAM", "INVALID_REQUEST_BODY",
    "INVALID_CURRENCY_PAIR", "INVALID_CURRENCY", "BAD_REQUEST", "NOT_FOUND", "INVALID_CONTRACT",
})
RATE_LABELS = frozenset({"TOO_MANY_REQUESTS"})
SERVER_LABELS = frozenset({"SERVER_ERROR", "INTERNAL", "INTERNAL_SERVER_ERROR", "TOO_BUSY"})


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Remove every non-empty secret from ``text``; cap its length."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text[:300]


def error_for(status: int, label: str, message: str, *, trace_id: str = "",
              reset_at: float | None = None, settle: str | None = None) -> GateError:
    """The typed exception for a non-2xx answer with Gate's ``label``; ``settle`` names the
    futures account of a futures request."""
    if label == "USER_NOT_FOUND" and settle is not None:
        return NoFuturesAccountError(message, label=label, status=status, trace_id=trace_id,
                                     settle=settle)
    if label in AUTH_LABELS:
        return AuthenticationError(message, label=label, status=status, trace_id=trace_id)
    if label in CLOCK_LABELS:
        return ClockError(message, label=label, status=status, trace_id=trace_id)
    if label in PERMISSION_LABELS:
        return PermissionDeniedError(message, label=label, status=status, trace_id=trace_id)
    if label in RATE_LABELS or status == 429:
        return RateLimitedError(message, label=label, status=status, trace_id=trace_id,
                                reset_at=reset_at)
    if label in SERVER_LABELS or status >= 500:
        return ServerError(message, label=label, status=status, trace_id=trace_id)
    if label in PARAM_LABELS or status in (400, 404):
        return BadParameterError(message, label=label, status=status, trace_id=trace_id)
    if status == 401:
        return AuthenticationError(message, label=label, status=status, trace_id=trace_id)
    if status == 403:
        return PermissionDeniedError(message, label=label, status=status, trace_id=trace_id)
    # An unknown label with an unusual status: not something retrying is known to fix.
    return GateError(message, label=label, status=status, trace_id=trace_id)
