"""The timeout and interval fields: seconds that keep every keystroke and say what is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtGui import (
    QValidator,
)
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QSpinBox,
)

from gui.core.heartbeat import DEFAULT_INTERVAL_S, DEFAULT_TIMEOUT_S, MIN_INTERVAL_S
from gui.core.settings import MAX_TIMEOUT, MIN_TIMEOUT


def seconds_problem(text: str, minimum: float, maximum: float, *, whole: bool) -> str | None:
    """Why ``text`` typed into a seconds field is not a value, or None."""
    raw = text.strip().removesuffix("s").strip()
    pattern = r"\d+" if whole else r"\d+(\.\d+)?"
    if not re.fullmatch(pattern, raw):
        return (f"{raw or 'An empty field'!s:.20} is not "
                + ("whole seconds, like 60." if whole else "a number of seconds, like 15 or 2.5."))
    value = float(raw)
    if value < minimum:
        return f"{raw} s is too short: at least {minimum:g} s."
    if value > maximum:
        return f"{raw} s is too long: at most {maximum:g} s."
    return None


class _StrictSeconds:
    """A spin box that keeps every keystroke (Qt would silently drop the one that makes the
    text invalid, turning '100000' into 10000) and says what is wrong instead; on leaving the
    field, a value that is not allowed is put back to the last good one."""

    whole = True

    def problem(self, text: str) -> str | None:
        box: Any = self
        return seconds_problem(text.removeprefix(box.prefix()), box.minimum(), box.maximum(),
                               whole=self.whole)

    def validate(self, text: str, pos: int) -> object:
        state = (QValidator.State.Acceptable if self.problem(text) is None
                 else QValidator.State.Intermediate)
        return state, text, pos

    def fixup(self, text: str) -> str:
        box: Any = self
        return str(box.textFromValue(box.value())) + str(box.suffix())


class TimeoutSpinBox(_StrictSeconds, QSpinBox):
    """Whole seconds."""


class SecondsSpinBox(_StrictSeconds, QDoubleSpinBox):
    """Seconds with as many decimals as the value needs: '15 s', '1.25 s'."""

    whole = False

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip().removesuffix("s").strip())
        except ValueError:
            return float(self.value())


def timeout_box() -> TimeoutSpinBox:
    """The window's timeout field: whole seconds, Gate's range, the default countdown."""
    box = TimeoutSpinBox()
    box.setRange(MIN_TIMEOUT, MAX_TIMEOUT)
    box.setValue(DEFAULT_TIMEOUT_S)
    box.setSuffix(" s")
    box.setMinimumWidth(110)
    box.setAccessibleName("Timeout in seconds")
    box.setToolTip(f"How long the exchange waits for the next beat before cancelling "
                   f"({MIN_TIMEOUT} to {MAX_TIMEOUT} s).")
    return box


def interval_box() -> SecondsSpinBox:
    """The window's interval field: seconds between beats, in quarter-second steps."""
    box = SecondsSpinBox()
    box.setRange(MIN_INTERVAL_S, MAX_TIMEOUT - 1)
    box.setDecimals(2)
    box.setSingleStep(0.25)
    box.setValue(DEFAULT_INTERVAL_S)
    box.setSuffix(" s")
    box.setMinimumWidth(110)
    box.setAccessibleName("Beat interval in seconds")
    box.setToolTip("How often the countdown is renewed; a quarter of the timeout leaves room "
                   "for failed beats.")
    return box
