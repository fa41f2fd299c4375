"""The few wording rules the core's own messages share with every screen: a count of things, a
number of seconds, the time left. ``gui/words.py`` builds the screens' texts on these, so an
engine message, a terminal line and a card never say the same thing two ways.

NOTE: no Qt here, and nothing above the core.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """"1 target", "3 targets", "0 orders": never "1 target(s)"."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def seconds_text(value: float) -> str:
    """A number of seconds as a person writes it: "25000000", "2.5", "0.25". Never an exponent
    ("2.5e+07"), never trailing zeros."""
    try:
        exact = Decimal(repr(float(value)))
    except (InvalidOperation, ValueError, OverflowError):
        return str(value)
    if not exact.is_finite():
        return str(value)
    text = format(exact.normalize(), "f")
    return "0" if text == "-0" else text


def format_left(seconds: float) -> str:
    """Time left for people: '42 s' below 100 s, then 'm:ss' or 'h:mm:ss'. Rounded up, and
    never below "0 s" (a deadline just past is not "-0 s")."""
    whole = max(0, math.ceil(seconds)) if math.isfinite(seconds) else 0
    if whole < 100:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
