"""One armed target on screen: the time left (large), when it fires, the last beat, its orders.

A card draws only what it is handed: a :class:`TargetStatus` from the adapter, the open orders
the window fetched, and "now" on the monotonic clock at each repaint. The countdown is the
deadline minus now, computed at every tick, never counted down by the ticks themselves.

A tick says when the card's next text change is due (:meth:`TargetCard.tick`), so the window
wakes when something shown changes rather than polling. What ticks is cheap to redraw: text is
set only when it changes; a ticking label keeps its size (no layout pass up to the window) and
paints the card's background behind itself, as the drain bar does, so that Qt repaints nothing
behind them; the bar moves with the number, once a second, and only by whole device pixels.

State is said in words, colour and icon shape together (never colour alone); degraded, error and
fired cards change their whole frame, and a fired card stays until dismissed or re-armed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.core.client import OpenOrder
from gui.core.clock import monotonic
from gui.core.heartbeat import State, TargetStatus
from gui.core.targets import Target
from gui.resources import state_icon
from gui.window.layout import ElidedLabel
from gui.window.painted import DrainBar, SteadyLabel
from gui.words import (
    age_text_changes_in,
    clock_text,
    format_age,
    format_left,
    left_text_changes_in,
    moment_text,
    orders_summary,
    sentence,
    target_title,
    zone_text,
)

#: the icon file (resources/icons) and the short word of each state
STATE_LOOK: dict[State, tuple[str, str]] = {
    State.IDLE: ("idle", "NOT ARMED"),
    State.ARMING: ("armed", "ARMING…"),
    State.ARMED: ("armed", "ARMED"),
    State.OVERDUE: ("degraded", "NO ANSWER"),
    State.DEGRADED: ("degraded", "BEATS FAILING"),
    State.FIRED: ("fired", "FIRED"),
    State.STOPPING: ("stopping", "STOPPING…"),
    State.DISARMED: ("disarmed", "DISARMED"),
    State.ERROR: ("error", "STOPPED"),
    State.LEFT_ARMED: ("degraded", "LEFT ARMED"),
}

#: how late a new whole second may be drawn, to share its repaint with changes just after it
COUNTDOWN_LATE_S = 0.025
#: how late a new age of the last beat may be drawn: it rides on the countdown's repaints
AGE_LATE_S = 1.0
_DIGITS = re.compile(r"\d")
#: the card's margins, full and as one compact row
FULL_MARGINS = (16, 14, 16, 14)
COMPACT_MARGINS = (12, 6, 12, 6)


class NextChange(NamedTuple):
    """When a shown text next changes (``at``, monotonic), and the latest it may be drawn."""

    at: float
    latest: float

    @staticmethod
    def of(changes: Sequence[NextChange]) -> NextChange | None:
        """One repaint for ``changes``: at the last of them that can wait for it, no later than
        the soonest any of them must be drawn. Those after it get a repaint of their own."""
        if not changes:
            return None
        latest = min(change.latest for change in changes)
        return NextChange(max(change.at for change in changes if change.at <= latest), latest)


class TargetCard(QFrame):
    """The card of one target. Call :meth:`set_status` on events and :meth:`tick` on repaints."""

    dismissRequested = Signal(object)  # Target
    resumeRequested = Signal(object)  # Target: beat again a countdown an earlier run left
    disarmNowRequested = Signal(object)  # Target: stop a countdown an earlier run left

    def __init__(self, target: Target, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = monotonic) -> None:
        super().__init__(parent)
        self.target = target
        self._clock = clock
        self._status: TargetStatus | None = None
        self._state_key = ""
        self._texts: dict[str, str] = {}
        self._row: tuple[State, str] | None = None  # what the compact row was last fitted to
        self.setObjectName("targetCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # Minimum, not Fixed: a fixed height is the size hint, which ignores wrapped lines.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.setMinimumWidth(330)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # screen readers can land on it

        title, subtitle = target_title(target)
        self.icon = QLabel()
        self.icon.setObjectName("cardIcon")
        self.icon.setFixedSize(QSize(28, 28))
        # A long contract name ends in "…" rather than being cut: whole on hover and for
        # screen readers.
        self.title = ElidedLabel(title)
        self.title.setObjectName("cardTitle")
        self.title.setAccessibleName(title)
        self.subtitle = ElidedLabel(subtitle)
        self.subtitle.setObjectName("cardSubtitle")
        self.pill = QLabel()
        self.pill.setObjectName("statePill")
        self.pill.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.headline = QLabel()  # the loud line of a fired or failed card
        self.headline.setObjectName("cardHeadline")
        self.headline.setWordWrap(True)
        self.headline.hide()

        self.countdown = SteadyLabel("—")
        self.countdown.setObjectName("countdown")
        self.countdown.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.caption = QLabel()
        self.caption.setObjectName("countdownCaption")
        self.caption.setWordWrap(True)
        # How much of the countdown is left: it drains and refills at each beat.
        self.remaining = DrainBar()
        self.remaining.setObjectName("remainingBar")
        self.remaining.setAccessibleName("Share of the countdown left")
        self._bar_due = True

        self.fires_at = SteadyLabel("—", grow_only=True)  # a new clock time at every beat
        self.last_beat = SteadyLabel("—", grow_only=True)  # a new age every second
        self.orders = QLabel("checking…")
        for value in (self.fires_at, self.last_beat, self.orders):
            value.setObjectName("cardValue")
        self.reason = QLabel()
        self.reason.setObjectName("cardReason")
        self.reason.setWordWrap(True)
        self.reason.hide()

        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setObjectName("dismissButton")
        self.dismiss.setAccessibleName(f"Dismiss the card of {target}")
        self.dismiss.setToolTip("Remove this card. The journal keeps the record.")
        # A method, not a lambda holding the card: the connection must not keep the card alive.
        self.dismiss.clicked.connect(self._dismiss_clicked)
        self.dismiss.hide()
        self.resume = QPushButton("Resume")
        self.resume.setObjectName("resumeButton")
        self.resume.setAccessibleName(f"Resume the countdown of {target}")
        self.resume.setToolTip("Beat again with the same timeout and interval, from this window.")
        self.resume.clicked.connect(self._resume_clicked)
        self.disarm_now = QPushButton("Disarm now")
        self.disarm_now.setObjectName("disarmNowButton")
        self.disarm_now.setAccessibleName(f"Disarm the countdown of {target} now")
        self.disarm_now.setToolTip("Tell the exchange to switch this countdown off now.")
        self.disarm_now.clicked.connect(self._disarm_now_clicked)
        for button in (self.resume, self.disarm_now):
            button.hide()

        head = QHBoxLayout()
        head.setSpacing(10)
        head.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(self.title)
        names.addWidget(self.subtitle)
        head.addLayout(names, 1)
        head.addWidget(self.pill, 0, Qt.AlignmentFlag.AlignTop)
        self._head = head

        big = QHBoxLayout()
        big.setSpacing(10)
        big.setAlignment(Qt.AlignmentFlag.AlignLeft)  # also when the caption is hidden
        big.addWidget(self.countdown)
        big.addWidget(self.caption, 1, Qt.AlignmentFlag.AlignBottom)
        self._big = big

        self._detail_keys: list[QLabel] = []  # Fires at, Last beat, Orders
        details = QGridLayout()
        details.setHorizontalSpacing(14)
        details.setVerticalSpacing(3)
        for row, (key, value) in enumerate((("Fires at", self.fires_at),
                                            ("Last beat", self.last_beat),
                                            ("Orders", self.orders))):
            label = QLabel(key)
            label.setObjectName("cardKey")
            label.setBuddy(value)
            self._detail_keys.append(label)
            details.addWidget(label, row, 0)
            # Left: the ticking values are only as wide as their text (SteadyLabel).
            details.addWidget(value, row, 1, Qt.AlignmentFlag.AlignLeft)
        details.setColumnStretch(1, 1)
        self._details = details

        foot = QHBoxLayout()
        foot.addStretch(1)
        foot.addWidget(self.resume)
        foot.addWidget(self.disarm_now)
        foot.addWidget(self.dismiss)
        self._foot = foot

        layout = QVBoxLayout(self)
        layout.setContentsMargins(*FULL_MARGINS)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.headline)
        layout.addLayout(big)
        layout.addWidget(self.remaining)
        layout.addSpacing(4)
        layout.addLayout(details)
        layout.addWidget(self.reason)
        layout.addLayout(foot)
        layout.addStretch(1)  # a taller neighbour in the row leaves room at the bottom
        self._set_state_key("idle", State.IDLE)

    # ------------------------------------------------------------------ inputs

    @property
    def status(self) -> TargetStatus | None:
        return self._status

    @property
    def state(self) -> State:
        return self._status.state if self._status else State.IDLE

    def set_status(self, status: TargetStatus) -> NextChange | None:
        """Show ``status``; returns what :meth:`tick` returns."""
        self._status = status
        self._bar_due = True
        key, word = STATE_LOOK[status.state]
        self._set_state_key(key, status.state)
        self._set(self.pill, "pill", word)
        self._set(self.fires_at, "fires", self._fires_text(status))
        self.fires_at.setToolTip(zone_text(status.fired_at_ms if status.state is State.FIRED
                                           else status.trigger_time_ms))
        live_or_stopping = status.state.live or status.state is State.STOPPING
        left_armed = status.state is State.LEFT_ARMED
        # A countdown left armed still runs on the exchange: it is resumed or disarmed, not
        # dismissed.
        self.dismiss.setVisible(not live_or_stopping and not left_armed)
        self.resume.setVisible(left_armed)
        self.disarm_now.setVisible(left_armed)
        # A compact row is fitted again only when what it holds changed shape (the state, its
        # buttons, the width of "fires at"): a routine beat of two hundred targets on one
        # second must not lay out two hundred rows.
        row = (status.state, _DIGITS.sub("0", self._texts.get("fires", "")))
        if row != self._row:
            self._row = row
            self._fit_row()
        headline = ""
        if left_armed:
            headline = "LEFT ARMED by an earlier run — not kept alive by this window"
        elif status.state is State.FIRED:
            headline = f"FIRED — orders cancelled at {clock_text(status.fired_at_ms)}"
        elif status.state is State.ERROR:
            headline = "STOPPED — this target is no longer kept alive"
        elif status.state is State.DEGRADED:
            headline = "Beats failing — the exchange is still counting down"
        elif status.state is State.OVERDUE:
            headline = "No answer yet — the exchange is still counting down"
        changed = self._set(self.headline, "headline", headline)
        self.headline.setVisible(bool(headline))
        reason = sentence(status.reason) if status.state not in (State.ARMED,) else ""
        changed = self._set(self.reason, "reason", reason) or changed
        self.reason.setVisible(bool(reason))
        if changed:
            self._fit_height()
        self.setAccessibleName(f"{self.target}: {status.state.words}")
        return self.tick(self._clock())

    def set_orders(self, orders: Sequence[OpenOrder] | None, error: str | None = None) -> None:
        """The open orders in this scope, or why they could not be listed."""
        if error is not None:
            self._set(self.orders, "orders", "could not check")
            self.orders.setToolTip(error)
            return
        if orders is None:
            self._set(self.orders, "orders", "checking…")
            self.orders.setToolTip("")
            return
        text, tip = orders_summary(orders)
        if self._set(self.orders, "orders", text):
            self._fit_row()
        self.orders.setToolTip(tip)

    def _dismiss_clicked(self) -> None:
        self.dismissRequested.emit(self.target)

    def _resume_clicked(self) -> None:
        self.resumeRequested.emit(self.target)

    def _disarm_now_clicked(self) -> None:
        self.disarmNowRequested.emit(self.target)

    # ------------------------------------------------------------------ repaint

    def tick(self, now_mono: float) -> NextChange | None:
        """Recompute the time-dependent texts from the deadline and ``now_mono``.

        Returns when one of them next changes (the whole seconds left, the age of the last
        beat), or None when none will before the next status.
        """
        status = self._status
        if status is None:
            return None
        state = status.state
        left = status.time_left(now_mono)
        if left is None and state is State.ERROR and status.deadline_mono is not None:
            # Stopped here, but the exchange may still be counting: that is what matters.
            remaining = status.deadline_mono - now_mono
            left = remaining if remaining > 0 else None
        changes: list[NextChange] = []
        if state is State.FIRED:
            big, caption = "FIRED", ""  # the headline above says what and when
        elif state is State.DISARMED:
            big, caption = "OFF", "confirmed by the exchange"
        elif state is State.ARMING:
            big, caption = "…", "sending the first beat"
        elif left is None:
            big, caption = "—", status.state.words
        else:
            big = format_left(left)
            if (changes_in := left_text_changes_in(left)) is not None:
                at = now_mono + changes_in
                changes.append(NextChange(at, at + COUNTDOWN_LATE_S))
            caption = {
                State.ARMED: "until the exchange cancels",
                State.OVERDUE: "left · no answer yet",
                State.DEGRADED: "left · beats failing",
                State.STOPPING: "left · stopping…",
                State.ERROR: "left on the exchange's countdown",
                State.LEFT_ARMED: "until the exchange cancels · not renewed",
            }.get(state, "left")
        big_changed = self._set(self.countdown, "big", big)
        if big_changed or self._bar_due:
            # The bar moves with the number it illustrates, once a second, and at each status:
            # no repaints of its own between them.
            self._bar_due = False
            self.remaining.set_share(0.0 if left is None or status.timeout <= 0
                                     else left / status.timeout)
        if big_changed:
            self.countdown.setAccessibleName(f"{self.target}: {big} {caption}")
        self._set(self.caption, "caption", caption)
        if status.last_ack_mono is not None:
            latency = (f" · {status.last_latency * 1000:.0f} ms"
                       if status.last_latency is not None else "")
            age = now_mono - status.last_ack_mono
            beat = f"{format_age(age)}{latency}"
            at = now_mono + age_text_changes_in(age)
            changes.append(NextChange(at, at + AGE_LATE_S))
        else:
            beat = "none yet"
        self._set(self.last_beat, "beat", beat)
        return NextChange.of(changes)

    def time_left(self, now_mono: float) -> float | None:
        return self._status.time_left(now_mono) if self._status else None

    # ------------------------------------------------------------------ backdrop

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._paint_backdrop()

    def _paint_backdrop(self) -> None:
        # What changes every second paints the card's background behind itself (opaque), so
        # Qt repaints only it, not the card and every widget behind that. The style sheet's
        # background of the card, for its state, is its palette's Window colour.
        backdrop = self.palette().color(QPalette.ColorRole.Window)
        self.remaining.set_backdrop(backdrop)
        for label in (self.countdown, self.fires_at, self.last_beat):
            label.set_backdrop(backdrop)

    # ------------------------------------------------------------------ height

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_row()
            self._fit_height()

    def _fit_row(self) -> None:
        """A compact row keeps what fits its width: the name (at least a few letters), the time
        left, the state and the buttons always; then when it fires, the orders, and their keys,
        in that order. Full, everything shows."""
        fires_key, orders_key = self._detail_keys[0], self._detail_keys[2]
        optional = (self.fires_at, self.orders, fires_key, orders_key)  # kept first to last
        compact = bool(self.property("compact"))
        # Compact and fired, the pill and the headline say it: no third "FIRED".
        self.countdown.setVisible(not (compact and self.state is State.FIRED))
        if not compact:
            for widget in optional:
                widget.show()
            return
        layout = self.layout()
        if layout is None:
            return
        margins = layout.contentsMargins()
        room = self.contentsRect().width() - margins.left() - margins.right()
        for widget in optional:
            widget.show()
        for widget in reversed(optional):  # the keys go first, when it fires last
            self._head.invalidate()
            if self._head.minimumSize().width() <= room:
                break
            widget.hide()
        # Placed now, at this width: a layout pass posted for later could run with the width
        # of another moment (a scroll bar coming) and squeeze the row under its minimum.
        layout.invalidate()
        layout.activate()

    def hasHeightForWidth(self) -> bool:
        # The card states its height itself (_fit_height); the grid's own height-for-width
        # arithmetic across columns gives rows too short for wrapped lines.
        return False

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(hint.width(), max(hint.height(), self.minimumHeight()))

    def _fit_height(self) -> None:
        # Grid layouts and scroll areas size a widget by its size hint, which ignores how many
        # lines wrapped text takes at the card's real width: say the height outright.
        layout = self.layout()
        if layout is None:
            return
        if layout.hasHeightForWidth():
            height = layout.totalHeightForWidth(max(self.width(), self.minimumWidth()))
        else:
            height = layout.totalMinimumSize().height()
        if height > 0 and height != self.minimumHeight():
            self.setMinimumHeight(height)

    def set_compact(self, compact: bool) -> None:
        """Compact (many targets): one row, the name, the time left in smaller type, when it
        fires, the orders, the state and the card's buttons; without the subtitle, the caption,
        the bar and the age of the last beat. A problem (the headline and the reason) still
        shows below the row. One large "shortest time left" above the rows says the soonest."""
        if bool(self.property("compact")) == compact:
            return
        for widget in (self, self.countdown):
            widget.setProperty("compact", compact)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        for widget in (self.subtitle, self.caption, self.remaining, self.last_beat,
                       self._detail_keys[1]):
            widget.setVisible(not compact)
        fires_key, orders_key = self._detail_keys[0], self._detail_keys[2]
        moved = (self.countdown, fires_key, self.fires_at, orders_key, self.orders)
        buttons = (self.resume, self.disarm_now, self.dismiss)
        for widget in (*moved, *buttons):
            for layout in (self._head, self._big, self._details, self._foot):
                layout.removeWidget(widget)
        if compact:
            at = self._head.indexOf(self.pill)
            for offset, widget in enumerate(moved):
                self._head.insertWidget(at + offset, widget, 0, Qt.AlignmentFlag.AlignVCenter)
            for widget in buttons:
                self._head.addWidget(widget, 0, Qt.AlignmentFlag.AlignVCenter)
            self._head.setAlignment(self.pill, Qt.AlignmentFlag.AlignVCenter)
            self._head.setAlignment(self.icon, Qt.AlignmentFlag.AlignVCenter)
        else:
            self._big.insertWidget(0, self.countdown)
            for row, (key, value) in enumerate(((fires_key, self.fires_at),
                                                (orders_key, self.orders))):
                self._details.addWidget(key, row * 2, 0)
                self._details.addWidget(value, row * 2, 1, Qt.AlignmentFlag.AlignLeft)
            for widget in buttons:
                self._foot.addWidget(widget)
            self._head.setAlignment(self.pill, Qt.AlignmentFlag.AlignTop)
            self._head.setAlignment(self.icon, Qt.AlignmentFlag.AlignTop)
        layout = self.layout()
        if layout is not None:
            layout.setContentsMargins(*(COMPACT_MARGINS if compact else FULL_MARGINS))
        self._paint_backdrop()  # polishing cleared the countdown's opacity
        self._fit_row()
        self._fit_height()

    # ------------------------------------------------------------------ helpers

    def _set(self, label: QLabel, key: str, text: str) -> bool:
        if self._texts.get(key) == text:
            return False
        self._texts[key] = text
        label.setText(text)
        return True

    def _set_state_key(self, key: str, state: State) -> None:
        value = state.value
        previous = self._state_key
        if previous == value:
            return
        self._state_key = value
        self.icon.setPixmap(state_icon(key).pixmap(QSize(28, 28)))
        self.icon.setToolTip(state.words)
        styled: tuple[QWidget, ...] = (self, self.pill, self.countdown, self.remaining)
        for widget in styled:
            widget.setProperty("state", value)
        # Repolish only what style.qss styles by state: those four by their own [state], the
        # headline by the card's (error, fired). Only 'QFrame#targetCard[state="fired"] QLabel'
        # and its Dismiss button restyle everything else, so only going in or out of fired
        # repolishes every child. (Repolishing all of them at every change made arming 200
        # targets slow.) A new rule on the card's state must be added here.
        if State.FIRED.value in (previous, value):
            styled = (self, *self.findChildren(QWidget))
        else:
            styled = (*styled, self.headline)
        for widget in styled:
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self._paint_backdrop()  # the backdrop may be new; polishing cleared the labels' opacity

    @staticmethod
    def _fires_text(status: TargetStatus) -> str:
        if status.state is State.FIRED:
            return f"fired at {clock_text(status.fired_at_ms)}"
        if not status.trigger_time_ms:
            return "—"
        return moment_text(status.trigger_time_ms)
