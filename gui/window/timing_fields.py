"""The countdown's fields: a timeout and a beat interval in seconds that keep every keystroke and
say what is wrong, under one message that says what the fields mean now.

What the fields show is what arms: a value typed but not yet committed (the person has not left
the field or pressed Enter) is read from the text, for the message, for whether ARM can be
pressed, and for the arm itself (Ctrl+Enter from inside a field).
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.core.errors import InvalidInputError
from gui.core.phrases import seconds_text
from gui.core.settings import MAX_TIMEOUT, MIN_TIMEOUT
from gui.core.timing import DEFAULT_INTERVAL_S, DEFAULT_TIMEOUT_S, MIN_INTERVAL_S, check_interval


def _typed_number(text: str) -> float:
    return float(text.strip().removesuffix("s").strip())


def seconds_problem(text: str, minimum: float, maximum: float, *, whole: bool) -> str | None:
    """Why ``text`` typed into a seconds field is not a value, or None."""
    raw = text.strip().removesuffix("s").strip()
    pattern = r"\d+" if whole else r"\d+(\.\d+)?"
    if not re.fullmatch(pattern, raw):
        return (f"{raw or 'An empty field'!s:.20} is not "
                + ("whole seconds, like 60." if whole else "a number of seconds, like 15 or 2.5."))
    value = float(raw)
    if value < minimum:
        return f"{raw} s is too short: at least {seconds_text(minimum)} s."
    if value > maximum:
        return f"{raw} s is too long: at most {seconds_text(maximum)} s."
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

    def shown_value(self) -> float:
        """The value the field shows: the text as typed when it is a good value (not yet
        committed), else the last committed value."""
        box: Any = self
        text = box.text().removeprefix(box.prefix())
        if self.problem(box.text()) is None:
            return _typed_number(text)
        return float(box.value())

    def fixup(self, text: str) -> str:
        box: Any = self
        return str(box.textFromValue(box.value())) + str(box.suffix())


class TimeoutSpinBox(_StrictSeconds, QSpinBox):
    """Whole seconds."""


class SecondsSpinBox(_StrictSeconds, QDoubleSpinBox):
    """Seconds with as many decimals as the value needs: '15 s', '1.25 s'."""

    whole = False

    def textFromValue(self, value: float) -> str:
        return seconds_text(value)

    def valueFromText(self, text: str) -> float:
        try:
            return _typed_number(text)
        except ValueError:
            return float(self.value())


class TimingFields(QWidget):
    """The COUNTDOWN section: timeout, beat interval, and the one message about them.

    The interval follows the timeout (a quarter of it) until the person sets it. A problem is
    said once, in the message under the fields; the window's ARM hint only points here.
    """

    changed = Signal()  # a committed value changed
    messageChanged = Signal()  # the message (and so whether the fields can be armed) changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._interval_follows = True
        self._refused_text: str | None = None  # what was wrong with the text last typed
        title = QLabel("COUNTDOWN", self)
        title.setObjectName("sectionTitle")
        self.timeout_spin = TimeoutSpinBox(self)
        self.timeout_spin.setRange(MIN_TIMEOUT, MAX_TIMEOUT)
        self.timeout_spin.setValue(DEFAULT_TIMEOUT_S)
        self.timeout_spin.setSuffix(" s")
        self.timeout_spin.setMinimumWidth(110)
        self.timeout_spin.setAccessibleName("Timeout in seconds")
        self.timeout_spin.setToolTip(
            f"How long the exchange waits for the next beat before cancelling "
            f"({MIN_TIMEOUT} to {MAX_TIMEOUT} s).")
        self.interval_spin = SecondsSpinBox(self)
        self.interval_spin.setRange(MIN_INTERVAL_S, MAX_TIMEOUT - 1)
        self.interval_spin.setDecimals(2)
        self.interval_spin.setSingleStep(0.25)
        self.interval_spin.setValue(DEFAULT_INTERVAL_S)
        self.interval_spin.setSuffix(" s")
        self.interval_spin.setMinimumWidth(110)
        self.interval_spin.setAccessibleName("Beat interval in seconds")
        self.interval_spin.setToolTip("How often the countdown is renewed; a quarter of the "
                                      "timeout leaves room for failed beats.")
        self.timeout_spin.valueChanged.connect(self._timeout_changed)
        self.interval_spin.valueChanged.connect(self._interval_changed)
        for box in (self.timeout_spin, self.interval_spin):
            # The value changes when the person is done typing, not at every keystroke, so a
            # half-typed number ('10000' on the way to '100000') never becomes the value.
            box.setKeyboardTracking(False)
            box.lineEdit().textEdited.connect(self._typed)
            box.editingFinished.connect(lambda: self._typed(None))
        self.message = QLabel(self)
        self.message.setObjectName("timingMessage")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Countdown settings message")
        timeout_label = QLabel("&Timeout", self)
        timeout_label.setBuddy(self.timeout_spin)
        interval_label = QLabel("&Beat every", self)
        interval_label.setBuddy(self.interval_spin)
        # One under the other: side by side they made the window too wide for half a screen.
        fields = QGridLayout()
        fields.setHorizontalSpacing(8)
        fields.setVerticalSpacing(6)
        fields.addWidget(timeout_label, 0, 0)
        fields.addWidget(self.timeout_spin, 0, 1)
        fields.addWidget(interval_label, 1, 0)
        fields.addWidget(self.interval_spin, 1, 1)
        fields.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addLayout(fields)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self._update_message()

    def timing(self) -> tuple[int, float]:
        """The timeout and interval the fields show (typed or committed)."""
        return int(self.timeout_spin.shown_value()), round(self.interval_spin.shown_value(), 2)

    def set_timing(self, timeout: int, interval: float | None) -> None:
        self.timeout_spin.blockSignals(True)
        self.interval_spin.blockSignals(True)
        self.timeout_spin.setValue(timeout)
        value = timeout / 4 if interval is None else interval
        self.interval_spin.setValue(value)
        self._interval_follows = abs(value - timeout / 4) < 1e-9
        self.timeout_spin.blockSignals(False)
        self.interval_spin.blockSignals(False)
        self._update_message()

    def set_locked(self, locked: bool) -> None:
        self.timeout_spin.setEnabled(not locked)
        self.interval_spin.setEnabled(not locked)

    def problem(self) -> str | None:
        """Why the fields cannot be armed with, or None."""
        typed = self._typed_problem()
        if typed is not None:
            return typed
        timeout, interval = self.timing()
        try:
            check_interval(timeout, interval)
        except InvalidInputError as exc:
            return str(exc)
        return None

    def _typed_problem(self) -> str | None:
        """What is wrong with the text now in a field (not yet a value), or None."""
        for box in (self.timeout_spin, self.interval_spin):
            problem = box.problem(box.text())
            if problem is not None:
                return problem
        return None

    def _typed(self, _text: str | None = None) -> None:
        problem = self._typed_problem()
        if _text is None and problem is None and self._refused_text:
            # Leaving the field put back the last good value: say that what was typed was not
            # used, rather than let it vanish without a word.
            self._update_message()
            timeout, interval = self.timing()
            self._show("warning", f"{self._refused_text} Not used: kept {timeout} s and a beat "
                                  f"every {seconds_text(interval)} s.")
            self._refused_text = None
            return
        self._refused_text = problem
        self._update_message()

    def _timeout_changed(self, value: int) -> None:
        if self._interval_follows:
            self.interval_spin.blockSignals(True)
            self.interval_spin.setValue(max(MIN_INTERVAL_S, value / 4))
            self.interval_spin.blockSignals(False)
        self._update_message()
        self.changed.emit()

    def _interval_changed(self, value: float) -> None:
        self._interval_follows = abs(value - self.timeout_spin.value() / 4) < 1e-9
        self._update_message()
        self.changed.emit()

    def _update_message(self) -> None:
        timeout, interval = self.timing()
        level, text = "ok", (f"The exchange cancels if no beat arrives for {timeout} s; "
                             f"a beat every {seconds_text(interval)} s.")
        try:
            _value, warning = check_interval(timeout, interval)
        except InvalidInputError as exc:
            level, text = "error", str(exc)
        else:
            if warning:
                level, text = "warning", warning
        typed = self._typed_problem()
        if typed is not None:
            level, text = "error", typed
        self._show(level, text)

    def _show(self, level: str, text: str) -> None:
        self.message.setText(text)
        self.message.setProperty("level", level)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.messageChanged.emit()
