"""The fault stage: what a request under ``/api/v4`` meets right after the request log.

:class:`FaultBook` holds the rules that tests and the control API add. For each request it adds up
the latency of every matching latency rule and picks the first matching non-latency rule, which
then answers in place of the exchange: an error status, nginx's HTML page, an empty body, a TCP
reset or a hang until the rule is cleared. ``answer`` lets the exchange act first, then replaces
its answer with ``status`` and a raw ``body`` (the shapes Gate may legitimately send, or
nonsense). ``drip`` is a stalled gateway: the exchange never sees the request, and ``body`` (by
default a server error) comes back a few bytes a second (``rate_bps``).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gui.core.targets import TargetError, parse_target
from gui.simulator.api import API_PREFIX, is_int


class Fault(StrEnum):
    """The kinds of fault ``Simulator.add_fault`` accepts (plain strings work too)."""

    LATENCY = "latency"
    STATUS = "status"
    HTML = "html"
    EMPTY = "empty"
    DROP = "drop"
    HANG = "hang"
    ANSWER = "answer"
    DRIP = "drip"


#: the kinds after which the exchange still processes the request
PROCESSED_FIRST = frozenset({Fault.ANSWER})


_DEFAULT_FAULT_STATUS = {Fault.STATUS: 503, Fault.HTML: 502, Fault.EMPTY: 502}
_LABEL_FOR_STATUS = {
    400: "BAD_REQUEST",
    401: "INVALID_CREDENTIALS",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL",
    503: "SERVER_ERROR",
}

# What nginx in front of Gate answers when the upstream fails; clients must not choke on it.
NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def fitting_label(status: int) -> str:
    if status in _LABEL_FOR_STATUS:
        return _LABEL_FOR_STATUS[status]
    return "SERVER_ERROR" if status >= 500 else "BAD_REQUEST"


@dataclass
class FaultRule:
    id: int
    kind: Fault
    count: int | None  # requests still to affect; None = until cleared
    path: str | None
    scope: str | None
    status: int | None
    label: str | None
    latency_ms: int
    hang_s: float
    body: str = ""
    rate_bps: float = 4.0
    hits: int = 0
    # Set when the rule is cleared or the simulator stops: hung requests wait on it.
    released: threading.Event = field(default_factory=threading.Event, repr=False,
                                      compare=False)

    def matches(self, path: str, scope: str | None) -> bool:
        return ((self.path is None or self.path == path)
                and (self.scope is None or self.scope == scope))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": str(self.kind), "count": self.count, "path": self.path,
                "scope": self.scope, "status": self.status, "label": self.label,
                "latency_ms": self.latency_ms, "hang_s": self.hang_s, "body": self.body,
                "rate_bps": self.rate_bps, "hits": self.hits}


class FaultBook:
    """The fault rules, in the order they were added (lowest id first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = 0
        self._active: dict[int, FaultRule] = {}
        # Used-up rules stay here so that clearing one still releases the requests it hangs.
        self._retired: dict[int, FaultRule] = {}

    def add(self, kind: str, *, count: int | None = None, path: str | None = None,
            scope: str | None = None, status: int | None = None, label: str | None = None,
            latency_ms: int = 0, hang_s: float = 3600.0, body: str = "",
            rate_bps: float = 4.0) -> int:
        try:
            fault_kind = Fault(kind)
        except ValueError:
            raise ValueError(f"unknown fault kind {kind!r}; use one of "
                             f"{', '.join(k.value for k in Fault)}") from None
        if count is not None and (not is_int(count) or count < 1):
            raise ValueError(f"count must be a positive integer or None, not {count!r}")
        if path is not None:
            if not isinstance(path, str) or not path.startswith("/"):
                raise ValueError(f"path must look like '/spot/countdown_cancel_all', not {path!r}")
            # Accept the full path too: the rule matches on the path below the prefix.
            if path.startswith(API_PREFIX + "/"):
                path = path[len(API_PREFIX):]
        if scope is not None:
            try:
                scope = parse_target(scope).text
            except (TargetError, AttributeError) as exc:
                raise ValueError(f"scope: {exc}") from None
        if status is not None and (not is_int(status) or not 100 <= status <= 599):
            raise ValueError(f"status must be an HTTP status code, not {status!r}")
        if label is not None and not isinstance(label, str):
            raise ValueError(f"label must be a string, not {label!r}")
        if not is_int(latency_ms) or latency_ms < 0:
            raise ValueError(f"latency_ms must be a non-negative integer, not {latency_ms!r}")
        if (not isinstance(hang_s, int | float) or isinstance(hang_s, bool)
                or not math.isfinite(hang_s) or hang_s <= 0):
            raise ValueError(f"hang_s must be a positive number of seconds, not {hang_s!r}")
        if not isinstance(body, str) or len(body) > 65536:
            raise ValueError("body must be a string of at most 65536 characters")
        if (not isinstance(rate_bps, int | float) or isinstance(rate_bps, bool)
                or not math.isfinite(rate_bps) or not 0 < rate_bps <= 1e6):
            raise ValueError(f"rate_bps must be a positive number of bytes a second, "
                             f"not {rate_bps!r}")
        if status is None and fault_kind is Fault.ANSWER:
            status = 200
        if status is None and fault_kind in _DEFAULT_FAULT_STATUS:
            status = _DEFAULT_FAULT_STATUS[fault_kind]
        with self._lock:
            self._ids += 1
            self._active[self._ids] = FaultRule(
                self._ids, fault_kind, count, path, scope, status, label, latency_ms,
                float(hang_s), body, float(rate_bps))
            return self._ids

    def clear(self, fault_id: int | None = None) -> int:
        """Remove one rule (or all) and release the requests it hangs; return how many."""
        with self._lock:
            if fault_id is None:
                rules = [*self._active.values(), *self._retired.values()]
                cleared = len(self._active)
                self._active.clear()
                self._retired.clear()
            else:
                rule = self._active.pop(fault_id, None) or self._retired.pop(fault_id, None)
                rules = [] if rule is None else [rule]
                cleared = len(rules)
        for rule in rules:
            rule.released.set()
        return cleared

    def release_all(self) -> None:
        with self._lock:
            rules = [*self._active.values(), *self._retired.values()]
        for rule in rules:
            rule.released.set()

    def pick(self, path: str, scope: str | None) -> tuple[int, FaultRule | None]:
        """The total latency and the one non-latency rule this request meets, using them up."""
        latency_ms = 0
        chosen: FaultRule | None = None
        with self._lock:
            for rule in sorted(self._active.values(), key=lambda r: r.id):
                if not rule.matches(path, scope):
                    continue
                if rule.kind is Fault.LATENCY:
                    latency_ms += rule.latency_ms
                elif chosen is None:
                    chosen = rule
                else:
                    continue
                rule.hits += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._retired[rule.id] = self._active.pop(rule.id)
        return latency_ms, chosen

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in sorted(self._active.values(), key=lambda r: r.id)]
