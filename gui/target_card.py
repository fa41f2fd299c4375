"""One armed target on screen: the time left (large), when it fires, the last beat, its orders.

A card draws only what it is handed: a :class:`TargetStatus` from the adapter, the open orders
the window fetched, and "now" on the monotonic clock at each repaint. The countdown is the
deadline minus now, computed at every tick, never counted down by the ticks themselves. Text is
set only when it changes, so two hundred cards repainting ten times a second stay cheap.

State is said in words, colour and icon shape together (never colour alone); degraded, error and
fired cards change their whole frame, and a fired card stays until dismissed or re-armed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.core.client import OpenOrder
from gui.core.heartbeat import State, TargetStatus
from gui.core.targets import Product, ScopeKind, Target, TargetError, parse_contract
from gui.resources import resource_path

#: the icon file (resources/icons) and the short word of each state
STATE_LOOK: dict[State, tuple[str, str]] = {
    State.IDLE: ("idle", "NOT ARMED"),
    State.ARMING: ("armed", "ARMING…"),
    State.ARMED: ("armed", "ARMED"),
    State.DEGRADED: ("degraded", "BEATS FAILING"),
    State.FIRED: ("fired", "FIRED"),
    State.STOPPING: ("stopping", "STOPPING…"),
    State.DISARMED: ("disarmed", "DISARMED"),
    State.ERROR: ("error", "STOPPED"),
}

_icon_cache: dict[str, QIcon] = {}


def state_icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg``, loaded once."""
    icon = _icon_cache.get(name)
    if icon is None:
        icon = QIcon(str(resource_path("icons", f"{name}.svg")))
        _icon_cache[name] = icon
    return icon


def format_left(seconds: float) -> str:
    """Time left for people: '42 s' below 100 s, then 'm:ss' or 'h:mm:ss'. Rounded up."""
    whole = max(0, math.ceil(seconds))
    if whole < 100:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def clock_text(ms: int | None) -> str:
    """An exchange time (ms) as a local clock time, HH:MM:SS."""
    if not ms:
        return "—"
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


def format_age(seconds: float) -> str:
    whole = int(max(0.0, seconds))
    if whole < 1:
        return "just now"
    if whole < 120:
        return f"{whole} s ago"
    return f"{whole // 60} min ago"


def target_title(target: Target) -> tuple[str, str]:
    """A title and a subtitle for a target: ('BTC_USDT spot', 'One spot pair')."""
    if target.product is Product.SPOT:
        if target.is_all:
            return "All spot markets", "Every spot order, on every pair"
        return f"{target.name} spot", "One spot pair"
    if target.is_all:
        return "All options", "Every option order, on every underlying"
    if target.kind is ScopeKind.UNDERLYING:
        return f"{target.name} options", "Every contract of this underlying"
    try:
        _underlying, expiry, strike, is_call = parse_contract(target.name)
        day = datetime.strptime(expiry, "%Y%m%d").strftime("%d %b %Y")
    except (TargetError, ValueError):
        return target.name, "One option contract"
    return target.name, f"{'Call' if is_call else 'Put'} · strike {strike} · expires {day}"


def orders_summary(orders: Sequence[OpenOrder]) -> tuple[str, str]:
    """'3 open' and a tooltip listing them."""
    if not orders:
        return "none open", "No open orders in this scope."
    lines = [f"{o.side} {o.amount.lstrip('-')} {o.market} @ {o.price}" for o in orders[:20]]
    if len(orders) > 20:
        lines.append(f"… and {len(orders) - 20} more")
    return f"{len(orders)} open", "\n".join(lines)


class TargetCard(QFrame):
    """The card of one target. Call :meth:`set_status` on events and :meth:`tick` on repaints."""

    dismissRequested = Signal(object)  # Target

    def __init__(self, target: Target, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target = target
        self._status: TargetStatus | None = None
        self._state_key = ""
        self._texts: dict[str, str] = {}
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
        self.title = QLabel(title)
        self.title.setObjectName("cardTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel(subtitle)
        self.subtitle.setObjectName("cardSubtitle")
        self.pill = QLabel()
        self.pill.setObjectName("statePill")
        self.pill.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.headline = QLabel()  # the loud line of a fired or failed card
        self.headline.setObjectName("cardHeadline")
        self.headline.setWordWrap(True)
        self.headline.hide()

        self.countdown = QLabel("—")
        self.countdown.setObjectName("countdown")
        self.countdown.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.caption = QLabel()
        self.caption.setObjectName("countdownCaption")
        self.caption.setWordWrap(True)
        # How much of the countdown is left: it drains and refills at each beat.
        self.remaining = QProgressBar()
        self.remaining.setObjectName("remainingBar")
        self.remaining.setRange(0, 1000)
        self.remaining.setTextVisible(False)
        self.remaining.setFixedHeight(6)
        self.remaining.setAccessibleName("Share of the countdown left")
        self._bar = -1

        self.fires_at = QLabel("—")
        self.last_beat = QLabel("—")
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
        self.dismiss.clicked.connect(lambda: self.dismissRequested.emit(self.target))
        self.dismiss.hide()

        head = QHBoxLayout()
        head.setSpacing(10)
        head.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(self.title)
        names.addWidget(self.subtitle)
        head.addLayout(names, 1)
        head.addWidget(self.pill, 0, Qt.AlignmentFlag.AlignTop)

        big = QHBoxLayout()
        big.setSpacing(10)
        big.addWidget(self.countdown)
        big.addWidget(self.caption, 1, Qt.AlignmentFlag.AlignBottom)

        details = QGridLayout()
        details.setHorizontalSpacing(14)
        details.setVerticalSpacing(3)
        for row, (key, value) in enumerate((("Fires at", self.fires_at),
                                            ("Last beat", self.last_beat),
                                            ("Orders", self.orders))):
            label = QLabel(key)
            label.setObjectName("cardKey")
            label.setBuddy(value)
            details.addWidget(label, row, 0)
            details.addWidget(value, row, 1)
        details.setColumnStretch(1, 1)

        foot = QHBoxLayout()
        foot.addStretch(1)
        foot.addWidget(self.dismiss)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
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

    def set_status(self, status: TargetStatus) -> None:
        self._status = status
        key, word = STATE_LOOK[status.state]
        self._set_state_key(key, status.state)
        self._set(self.pill, "pill", word)
        self._set(self.fires_at, "fires", self._fires_text(status))
        live_or_stopping = status.state.live or status.state is State.STOPPING
        self.dismiss.setVisible(not live_or_stopping)
        headline = ""
        if status.state is State.FIRED:
            headline = f"FIRED — orders cancelled at {clock_text(status.fired_at_ms)}"
        elif status.state is State.ERROR:
            headline = "STOPPED — this target is no longer kept alive"
        elif status.state is State.DEGRADED:
            headline = "Beats failing — the exchange is still counting down"
        changed = self._set(self.headline, "headline", headline)
        self.headline.setVisible(bool(headline))
        reason = status.reason if status.state not in (State.ARMED,) else ""
        changed = self._set(self.reason, "reason", reason) or changed
        self.reason.setVisible(bool(reason))
        if changed:
            self._fit_height()
        self.setAccessibleName(f"{self.target}: {status.state.words}")
        self.tick(time.monotonic())

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
        self._set(self.orders, "orders", text)
        self.orders.setToolTip(tip)

    # ------------------------------------------------------------------ repaint

    def tick(self, now_mono: float) -> None:
        """Recompute the time-dependent texts from the deadline and ``now_mono``."""
        status = self._status
        if status is None:
            return
        state = status.state
        left = status.time_left(now_mono)
        if left is None and state is State.ERROR and status.deadline_mono is not None:
            # Stopped here, but the exchange may still be counting: that is what matters.
            remaining = status.deadline_mono - now_mono
            left = remaining if remaining > 0 else None
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
            caption = {
                State.ARMED: "until the exchange cancels",
                State.DEGRADED: "left · beats failing",
                State.STOPPING: "left · stopping…",
                State.ERROR: "left on the exchange's countdown",
            }.get(state, "left")
        bar = 0 if left is None or status.timeout <= 0 else int(
            max(0.0, min(1.0, left / status.timeout)) * 1000)
        if bar != self._bar:
            self._bar = bar
            self.remaining.setValue(bar)
        if self._set(self.countdown, "big", big):
            self.countdown.setAccessibleName(f"{self.target}: {big} {caption}")
        self._set(self.caption, "caption", caption)
        if status.last_ack_mono is not None:
            latency = (f" · {status.last_latency * 1000:.0f} ms"
                       if status.last_latency is not None else "")
            beat = f"{format_age(now_mono - status.last_ack_mono)}{latency}"
        else:
            beat = "none yet"
        self._set(self.last_beat, "beat", beat)

    def time_left(self, now_mono: float) -> float | None:
        return self._status.time_left(now_mono) if self._status else None

    # ------------------------------------------------------------------ height

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()

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

    # ------------------------------------------------------------------ helpers

    def _set(self, label: QLabel, key: str, text: str) -> bool:
        if self._texts.get(key) == text:
            return False
        self._texts[key] = text
        label.setText(text)
        return True

    def _set_state_key(self, key: str, state: State) -> None:
        value = state.value
        if self._state_key == value:
            return
        self._state_key = value
        self.icon.setPixmap(state_icon(key).pixmap(QSize(28, 28)))
        self.icon.setToolTip(state.words)
        for widget in (self, self.pill, self.countdown, self.remaining):
            widget.setProperty("state", value)
        # Rules like 'card[state=fired] QLabel' depend on the card's state: repolish them all.
        for widget in (self, *self.findChildren(QWidget)):
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    @staticmethod
    def _fires_text(status: TargetStatus) -> str:
        if status.state is State.FIRED:
            return f"fired at {clock_text(status.fired_at_ms)}"
        if not status.trigger_time_ms:
            return "—"
        return clock_text(status.trigger_time_ms)
