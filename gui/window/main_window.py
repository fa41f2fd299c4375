"""The main window: what to protect, the countdown settings, the big ARM/STOP button, one card
per armed target, and the journal.

The window draws what it is handed (statuses from the adapter, orders from the app) and asks
for what the person wants through signals; it never talks to the exchange itself.

The countdowns are repainted from their deadlines on the monotonic clock, but not by polling:
after each repaint the window works out when a text it shows next changes (a whole second left,
the age of a beat, the summary line) and sets one timer for then, at least once a second. A
status from the engine repaints its card at once.

The big button never fires on a single bare key press: a mouse click, Ctrl+Enter (ARM),
Ctrl+Shift+S (STOP), or holding Space or Enter on the focused button for 0.6 s (a fill shows the
hold). It is never a default button, so Enter elsewhere cannot trigger it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QKeySequence,
    QPalette,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.core.client import OpenOrder
from gui.core.clock import monotonic
from gui.core.heartbeat import (
    State,
    TargetStatus,
)
from gui.core.targets import Target
from gui.dialogs.selfcheck_dialog import selfcheck_button
from gui.notifications import Notice, NoticeBanner
from gui.resources import state_icon
from gui.window.arm_button import HoldButton
from gui.window.card_grid import CardGrid, CardsScroll
from gui.window.card_queue import CardQueue
from gui.window.compact import SHORTCUT as COMPACT_SHORTCUT
from gui.window.confirm import confirm_cancel_now as confirm_cancel_now
from gui.window.journal_pane import JournalPane
from gui.window.layout import (
    PREFERRED_SIZE,
    BottomOverlay,
    ElidedLabel,
    FittingSlot,
    PickerFold,
    ShortestLeft,
    fit_to_screen,
)
from gui.window.menu import build_menu
from gui.window.painted import SteadyLabel
from gui.window.target_card import COUNTDOWN_LATE_S, NextChange, TargetCard
from gui.window.timing_fields import TimingFields
from gui.words import (
    left_text_changes_in,
    overall_state,
    shortest_left,
    window_title,
)

#: the longest the window sleeps between repaints, whatever is shown (it also lets Python run
#: its signal handlers: Ctrl+C is seen within this)
SAFETY_TICK_S = 1.0
#: more cards than this show as compact cards under one large "shortest time left"
COMPACT_AFTER = 3
#: a timer in whole milliseconds may land a hair before the change it was set for
TIMER_SLACK_MS = 1
#: a card the window has not planned a repaint for yet
_UNPLANNED = NextChange(-math.inf, -math.inf)
DEMO_TEXT = "DEMO — simulated exchange on this computer; no real orders"
ARM_TIP = ("ARM: start keeping the exchange's countdown alive for the selected markets.\n"
           "Click it, press Ctrl+Enter, or hold Space (or Enter) on it for 0.6 s.\n"
           "A single key press does nothing, so it cannot be triggered by accident.")
STOP_TIP = ("STOP: turn every countdown off on the exchange.\n"
            "Click it, press Ctrl+Shift+S, or hold Space (or Enter) on it for 0.6 s.")


class _FirstPaint(QObject):
    """Notices the first paint of any widget of one window, then removes itself."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._done = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (not self._done and event.type() == QEvent.Type.Paint
                and isinstance(watched, QWidget) and watched.window() is self._window):
            self._done = True
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            # After this paint has been delivered, not in the middle of it.
            QTimer.singleShot(0, self._window.firstPainted.emit)
        return False


class MainWindow(QMainWindow):
    """The window. It asks through signals; the app decides and hands back what to draw."""

    armRequested = Signal()
    stopRequested = Signal()
    cancelNowRequested = Signal()
    keysRequested = Signal()
    preferencesRequested = Signal()
    compactRequested = Signal()  # compact mode on or off (Ctrl+Shift+M)
    quitRequested = Signal()  # the menu's Quit, Ctrl+Q (the app asks first while armed)
    selfCheckRequested = Signal(object)  # Target
    dismissRequested = Signal(object)  # Target
    resumeRequested = Signal(object)  # Target (a card left armed by an earlier run)
    disarmNowRequested = Signal(object)  # Target (likewise)
    firstPainted = Signal()
    timingChanged = Signal()
    armableChanged = Signal(bool)  # whether ARM can be pressed now

    def __init__(self, *, demo: bool = False, picker: QWidget | None = None,
                 journal_dir: object = None, parent: QWidget | None = None,
                 clock: Callable[[], float] = monotonic) -> None:
        super().__init__(parent)
        self._clock = clock
        # One single-shot timer, set after each repaint for the next change (see tick).
        # Precise: a coarse timer may fire 5 % early, before the second it was set for.
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setTimerType(Qt.TimerType.PreciseTimer)
        self._repaint.timeout.connect(self.tick)
        self._repaint_due: float | None = None
        # When each card's and the summary's texts next change (tick): None when nothing will
        # before the next status. A card missing here is ticked at the next repaint; a card
        # out of sight looks again a safety tick later.
        self._card_next: dict[TargetCard, NextChange | None] = {}
        self._summary_next: NextChange | None = _UNPLANNED
        self._summary_late = False  # a burst of statuses: said again at the next loop turn
        # The targets whose card is still to draw (a burst): counted, not yet shown.
        self.waiting = CardQueue(self._build_card, self._next_turn, self)
        self.setObjectName("mainWindow")
        self.setWindowTitle("gate-killswitch — demo" if demo else "gate-killswitch")
        self.setWindowIcon(state_icon("gate-killswitch"))
        self.demo = demo
        self.cards: dict[Target, TargetCard] = {}
        self._mode = "arm"
        self._can_arm = False
        self._why_not = "Loading the profile…"
        self._armable = False  # as last said by armableChanged
        self._stopping = False
        self._close_guard: Callable[[], bool] | None = None
        self._compact = False  # many cards: compact, under one "shortest time left"

        if picker is None:
            from gui.picker.target_picker import TargetPicker

            picker = TargetPicker()
        self.picker = picker

        central = QWidget()
        central.setObjectName("central")
        self.setCentralWidget(central)
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        root.addWidget(self._build_header())
        self.demo_banner = QLabel(DEMO_TEXT)
        self.demo_banner.setObjectName("demoBanner")
        self.demo_banner.setAccessibleName(DEMO_TEXT)
        self.demo_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.demo_banner.setVisible(demo)
        root.addWidget(self.demo_banner)

        body = QWidget()
        body.setObjectName("body")
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(14, 12, 14, 12)
        body_layout.setSpacing(10)
        self.banner = NoticeBanner()
        # While armed the countdowns get the room: the picker folds to this line.
        self.picker_fold = PickerFold()
        self.picker_fold.toggled.connect(self._fold_toggled)
        self.picker_fold.hide()
        body_layout.addWidget(self.picker_fold)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("mainSplitter")
        splitter.setChildrenCollapsible(False)
        self.side_panel = self._build_side()
        splitter.addWidget(self.side_panel)
        right_column = self._build_right(journal_dir)
        splitter.addWidget(right_column)
        # Over the bottom of the cards' column (the journal), out of any layout: nothing moves
        # when a message comes or goes, and the picker's fields are never covered.
        self._banner_place = BottomOverlay(self.banner, right_column, margin=0)
        # The picker grows with the window too (a third of what is added), not only the cards.
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([420, 820])
        self.splitter = splitter
        body_layout.addWidget(splitter, 1)
        root.addWidget(body, 1)

        self.arm_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        self.arm_shortcut.activated.connect(self._arm_shortcut)
        self.arm_shortcut_enter = QShortcut(QKeySequence("Ctrl+Enter"), self)
        self.arm_shortcut_enter.activated.connect(self._arm_shortcut)
        self.compact_shortcut = QShortcut(QKeySequence(COMPACT_SHORTCUT), self)
        self.compact_shortcut.activated.connect(self.compactRequested.emit)
        self.stop_shortcut = QShortcut(QKeySequence("Ctrl+Shift+S"), self)
        self.stop_shortcut.activated.connect(self._stop_shortcut)

        self.tick_soon()

        self._first_paint = _FirstPaint(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._first_paint)

        self._apply_mode()
        fit_to_screen(self, PREFERRED_SIZE)
        self._update_empty()

    # ------------------------------------------------------------------ building

    def _build_header(self) -> QWidget:
        header = QFrame()
        header.setObjectName("header")
        self._header = header
        logo = QLabel()
        logo.setPixmap(state_icon("gate-killswitch").pixmap(QSize(30, 30)))
        logo.setAccessibleName("gate-killswitch")
        title = QLabel("gate-killswitch")
        title.setObjectName("appTitle")
        subtitle = ElidedLabel("Dead man's switch for Gate orders")
        subtitle.setObjectName("appSubtitle")
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(title)
        names.addWidget(subtitle)

        self.summary_icon = QLabel()
        self.summary_icon.setFixedSize(22, 22)
        self.summary = SteadyLabel("Not armed")  # says the time left: a new text every second
        self.summary.setObjectName("summary")
        self.summary.setAccessibleName("Overall state")

        self.profile_label = ElidedLabel("No profile")
        self.profile_label.setObjectName("profileLabel")
        self.profile_label.setAccessibleName("Profile in use")
        self.keys_button = QPushButton("Keys…")
        self.keys_button.setObjectName("keysButton")
        self.keys_button.setAccessibleName("Manage API key profiles")
        self.keys_button.setToolTip("Profiles: API key, secret (kept in the OS keyring) and "
                                    "exchange URL.")
        self.keys_button.clicked.connect(self.keysRequested.emit)
        # Preferences…, the compact strip, the journal folder, About and Quit: in the menu.
        self.menu_actions: dict[str, QAction] = {}
        self.menu_button = build_menu(self, COMPACT_SHORTCUT)
        self.selfcheck_button = selfcheck_button(self.picker.selected_targets,
                                                 self.selfCheckRequested.emit)

        layout = QHBoxLayout(header)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.setSpacing(10)
        layout.addWidget(logo)
        layout.addLayout(names)
        # The line takes the room left and no more: a long one ends in "…" (whole on hover).
        self.summary_slot = FittingSlot(self.summary, lead=self.summary_icon)
        layout.addWidget(self.summary_slot, 1)
        layout.addSpacing(12)
        layout.addWidget(self.profile_label)
        layout.addWidget(self.selfcheck_button)
        layout.addWidget(self.keys_button)
        layout.addWidget(self.menu_button)
        return header

    def _build_side(self) -> QWidget:
        side = QFrame()
        side.setObjectName("sidePanel")
        side.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        protect = QLabel("PROTECT")
        protect.setObjectName("sectionTitle")
        protect_hint = QLabel("If this app stops renewing the countdown, the exchange cancels "
                              "the open orders in these scopes.")
        protect_hint.setObjectName("hint")
        protect_hint.setWordWrap(True)
        layout = QVBoxLayout(side)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        layout.addWidget(protect)
        layout.addWidget(protect_hint)
        layout.addWidget(self.picker, 1)
        return side

    def _build_controls(self) -> QWidget:
        panel = QFrame()
        panel.setObjectName("controlPanel")
        self.timing_fields = TimingFields(panel)
        self.timing_fields.changed.connect(self.timingChanged.emit)
        self.timing_fields.messageChanged.connect(self._apply_mode)
        # The fields by their old names: the controller and the tests reach them so.
        self.timeout_spin = self.timing_fields.timeout_spin
        self.interval_spin = self.timing_fields.interval_spin
        self.timing_message = self.timing_fields.message

        self.arm_button = HoldButton()
        self.arm_button.setObjectName("armButton")
        self.arm_button.setMinimumHeight(64)
        self.arm_button.setMinimumWidth(200)
        self.arm_button.activated.connect(self._big_button)
        self.button_hint = QLabel()
        self.button_hint.setObjectName("hint")
        self.button_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.button_hint.setWordWrap(True)

        self.cancel_now_button = QPushButton("Cancel orders now…")
        self.cancel_now_button.setObjectName("cancelNowButton")
        self.cancel_now_button.setAutoDefault(False)
        self.cancel_now_button.setAccessibleName("Cancel orders now")
        self.cancel_now_button.setToolTip(
            "Panic: cancel the open orders of the armed (or selected) scopes right now, after a "
            "confirmation. The countdowns stay as they are.")
        self.cancel_now_button.clicked.connect(self.cancelNowRequested.emit)
        right = QVBoxLayout()
        right.setSpacing(6)
        right.addWidget(self.arm_button)
        right.addWidget(self.button_hint)
        right.addWidget(self.cancel_now_button, 0, Qt.AlignmentFlag.AlignHCenter)

        layout = QHBoxLayout(panel)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(24)
        layout.addWidget(self.timing_fields, 1)
        layout.addLayout(right, 0)
        return panel

    def _build_right(self, journal_dir: object) -> QWidget:
        right = QSplitter(Qt.Orientation.Vertical)
        right.setChildrenCollapsible(False)

        cards_panel = QFrame()
        cards_panel.setObjectName("cardsPanel")
        title = QLabel("PROTECTED NOW")
        title.setObjectName("sectionTitle")
        self.cards_count = QLabel()
        self.cards_count.setObjectName("hint")
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.cards_count)

        self.empty = QLabel("Nothing is armed.\n\nChoose markets on the left, set the "
                            "countdown, then press ARM.")
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.grid = CardGrid()
        # Cards come into sight without a new text: repaint them now, not at the next change.
        self.grid.resized.connect(self.tick_soon)
        container = QWidget()
        container.setObjectName("cardsContainer")
        inner = QVBoxLayout(container)
        inner.setContentsMargins(0, 0, 4, 0)
        inner.setSpacing(0)
        inner.addWidget(self.empty)
        inner.addWidget(self.grid)
        inner.addStretch(1)
        self.cards_scroll = CardsScroll()
        self.cards_scroll.resized.connect(self.tick_soon)
        self.cards_scroll.verticalScrollBar().valueChanged.connect(self.tick_soon)
        self.cards_scroll.horizontalScrollBar().valueChanged.connect(self.tick_soon)
        self.cards_scroll.setObjectName("cardsScroll")
        self.cards_scroll.setWidgetResizable(True)
        self.cards_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.cards_scroll.setWidget(container)
        panel_layout = QVBoxLayout(cards_panel)
        panel_layout.setContentsMargins(14, 12, 14, 14)
        panel_layout.setSpacing(10)
        panel_layout.addLayout(head)
        self.shortest = ShortestLeft()
        self.shortest.hide()
        panel_layout.addWidget(self.shortest)
        panel_layout.addWidget(self.cards_scroll, 1)

        journal_panel = QFrame()
        journal_panel.setObjectName("journalPanel")
        from pathlib import Path

        directory = Path(str(journal_dir)) if journal_dir is not None else None
        self.journal = JournalPane(directory)
        journal_layout = QVBoxLayout(journal_panel)
        journal_layout.setContentsMargins(14, 10, 14, 12)
        journal_layout.addWidget(self.journal)

        right.addWidget(cards_panel)
        right.addWidget(journal_panel)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setSizes([460, 200])
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(10)
        column_layout.addWidget(self._build_controls())
        column_layout.addWidget(right, 1)
        return column

    # ------------------------------------------------------------------ timing fields

    def timing(self) -> tuple[int, float]:
        """The timeout and interval the fields show, typed or committed: what ARM arms."""
        return self.timing_fields.timing()

    def set_timing(self, timeout: int, interval: float | None) -> None:
        self.timing_fields.set_timing(timeout, interval)

    def timing_problem(self) -> str | None:
        """Why the fields cannot be armed with, or None."""
        return self.timing_fields.problem()

    # ------------------------------------------------------------------ the big button

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        """'arm' (nothing armed), 'stop' (armed) or 'stopping' (waiting for the exchange)."""
        if mode not in ("arm", "stop", "stopping"):
            raise ValueError(mode)
        self._mode = mode
        self._apply_mode()
        self.tick_soon()  # the summary line says "Stopping…"

    def set_can_arm(self, can: bool, why_not: str = "") -> None:
        self._can_arm = can
        self._why_not = why_not
        self._apply_mode()

    def arm_problem(self) -> str | None:
        if not self._can_arm:
            return self._why_not or "Not ready to arm."
        if not self.picker.selected_targets():  # type: ignore[attr-defined]
            return "Choose at least one market to protect."
        return self.timing_problem()

    def refresh_arm_state(self) -> None:
        """Re-check whether ARM can be pressed (the selection or the key changed)."""
        self._apply_mode()

    def _apply_mode(self) -> None:
        if not hasattr(self, "arm_button"):
            return
        button = self.arm_button
        mode = self._mode
        if mode == "arm":
            problem = self.arm_problem()
            if (problem is None) != self._armable:
                self._armable = problem is None
                self.armableChanged.emit(self._armable)
            button.setText("ARM")
            button.setAccessibleName("Arm")
            button.setToolTip(ARM_TIP + (f"\n\nNot now: {problem}" if problem else ""))
            button.setEnabled(problem is None)
            if problem is not None and problem == self.timing_problem():
                # Said once, under the fields; the hint only points there.
                problem = "Correct the countdown settings to arm."
            self.button_hint.setText(problem or "Click, Ctrl+Enter, or hold Space for 0.6\u00a0s")
        elif mode == "stop":
            button.setText("STOP")
            button.setAccessibleName("Stop")
            button.setToolTip(STOP_TIP)
            button.setEnabled(True)
            self.button_hint.setText("Click, Ctrl+Shift+S, or hold Space for 0.6\u00a0s")
        else:
            button.setText("Stopping…")
            button.setAccessibleName("Stopping")
            button.setToolTip("Waiting until the exchange confirms every countdown is off.")
            button.setEnabled(False)
            self.button_hint.setText("Waiting for the exchange to confirm each stop")
        if button.property("mode") != mode:
            # A hold begun for the other meaning of the button must not carry over.
            button.cancel_hold()
            button.setProperty("mode", mode)
            button.style().unpolish(button)
            button.style().polish(button)
        locked = mode != "arm"
        self.picker.set_locked(locked)  # type: ignore[attr-defined]
        self._fold_picker(locked)
        self.timing_fields.set_locked(locked)

    def _fold_picker(self, armed: bool) -> None:
        """Armed: the picker folds to one line (unless unfolded on demand); back to ARM, it
        is shown whole again."""
        if armed:
            if not self.picker_fold.isVisibleTo(self):
                self.picker_fold.set_unfolded(False)
            self.picker_fold.show()
            self._refresh_fold()
            self.side_panel.setVisible(self.picker_fold.unfolded())
        else:
            self.picker_fold.hide()
            self.side_panel.show()

    def _refresh_fold(self, statuses: list[TargetStatus] | None = None) -> None:
        """The folded line names what is protected now (the cards beating or stopping), not
        what the picker holds: a forwarded launch or a Resume arms other targets, and a fired
        one is no longer protected. Before the first card, what was just armed."""
        if self.picker_fold.isHidden():
            return
        if statuses is None:
            statuses = self.statuses()  # those still to draw too
        protected = [s.target for s in statuses
                     if s.state.live or s.state is State.STOPPING]
        if not statuses:
            protected = self.picker.selected_targets()  # type: ignore[attr-defined]
        self.picker_fold.set_targets(protected)

    def _fold_toggled(self, unfolded: bool) -> None:
        if self._mode != "arm":
            self.side_panel.setVisible(unfolded)

    def _big_button(self) -> None:
        if self._mode == "arm":
            self.armRequested.emit()
        elif self._mode == "stop":
            self.stopRequested.emit()

    def _arm_shortcut(self) -> None:
        # Ctrl+Enter from inside a field: what it shows is what arms (see TimingFields).
        if self._mode == "arm" and self.arm_problem() is None:
            self.armRequested.emit()

    def _stop_shortcut(self) -> None:
        if self._mode == "stop":
            self.stopRequested.emit()

    # ------------------------------------------------------------------ cards

    def update_status(self, status: TargetStatus) -> TargetCard | None:
        """Draw ``status`` on its target's card; a new target's card may wait for a later loop
        turn (gui/window/card_queue.py): then None, and the summary counts it meanwhile."""
        card = self.cards.get(status.target)
        if card is None and not self.waiting.offer(status):
            self._summary_stale()
            self._summary_late = True  # the cards' count too, once for the burst
            return None
        self._show_status(card := card or self.cards[status.target], status)
        self._summary_stale()
        return card

    def _show_status(self, card: TargetCard, status: TargetStatus) -> None:
        # Repainted now; the timer moves earlier if its next change comes before the one planned.
        change = card.set_status(status)
        if not self._in_sight(card, self._sight()):
            self._card_next.pop(card, None)
        else:
            self._card_next[card] = change
            if change is not None:
                self._plan_sooner(change)

    def _summary_stale(self) -> None:
        """A status changed: say the summary again now or, past this loop turn's budget (a
        burst of statuses), once the next turn has drawn the cards it has room for."""
        self._summary_next = _UNPLANNED
        if self.waiting.in_turn or not self.waiting.in_budget():
            self._summary_late = True
            return
        with self.waiting.spending():
            change = self._summary(self._clock())
        if change is not None:
            self._plan_sooner(change)

    def _next_turn(self) -> None:
        if self._summary_late:
            self._summary_late = False
            self._summary_next = _UNPLANNED
            change = self._summary(self._clock())
            if change is not None:
                self._plan_sooner(change)
            self._update_empty()

    def _build_card(self, status: TargetStatus) -> None:
        card = TargetCard(status.target, clock=self._clock)
        card.dismissRequested.connect(self.dismissRequested.emit)
        card.resumeRequested.connect(self.resumeRequested.emit)
        card.disarmNowRequested.connect(self.disarmNowRequested.emit)
        self.cards[status.target] = card
        card.set_compact(self._compact)
        self.grid.add_card(card)
        orders = self.waiting.take_orders(status.target)
        if orders is not None:
            card.set_orders(*orders)
        if self.waiting.in_turn:  # drawn late: its latest status now, the summary after
            self._show_status(card, status)
            self._summary_late = True
        else:
            self._update_empty()

    def remove_card(self, target: Target) -> None:
        if self.waiting.drop(target):
            self._summary_stale()
            self._update_empty()
        card = self.cards.pop(target, None)
        if card is None:
            return
        self._card_next.pop(card, None)
        # The cards after it move up: those coming into sight repaint at once.
        self.tick_soon()
        card.hide()
        # Deleted later, by Qt, on this thread: the click that asked for this (its Dismiss
        # button) may still be on the stack.
        card.deleteLater()
        self.grid.remove_card(card)
        self._update_empty()

    def set_orders(self, target: Target, orders: Sequence[OpenOrder] | None,
                   error: str | None = None) -> None:
        card = self.cards.get(target)
        if card is not None:
            card.set_orders(orders, error)
        else:
            self.waiting.set_orders(target, orders, error)

    def statuses(self) -> list[TargetStatus]:
        """The status of every target shown, including those whose card is still to draw."""
        return [card.status for card in self.cards.values()
                if card.status is not None] + self.waiting.statuses

    def _update_empty(self) -> None:
        shown = len(self.cards) + len(self.waiting)
        self.empty.setVisible(not shown)
        self.grid.setVisible(bool(self.cards))
        compact = shown > COMPACT_AFTER
        if compact != self._compact:
            self._compact = compact
            self.shortest.setVisible(compact)
            for card in self.cards.values():
                card.set_compact(compact)
        statuses = self.statuses()
        live = sum(1 for s in statuses if s.state.live or s.state is State.STOPPING)
        waiting = f" · {len(self.waiting)} still to draw" if self.waiting else ""
        self.cards_count.setText(f"{live} armed · {len(self.cards)} shown{waiting}"
                                 if shown else "")

    @property
    def repaint_due(self) -> float | None:
        """When (the window's monotonic clock) the repaint timer is set to wake next."""
        return self._repaint_due if self._repaint.isActive() else None

    def tick(self) -> None:
        """Repaint the time-dependent texts of the visible cards and the summary, and set the
        timer for the next moment one of them changes."""
        now = self._clock()
        changes: list[NextChange] = []
        sight: QRect | None = None  # the part of the grid in sight, once any card asks
        # Keyed by card: hashing it is cheaper than hashing its target.
        for card in self.cards.values():
            planned = self._card_next.get(card, _UNPLANNED)
            if planned is None:
                continue  # nothing it shows changes before its next status
            if planned is not _UNPLANNED and planned.at > now:
                changes.append(planned)  # not yet: only the cards due now repaint
                continue
            if sight is None:
                sight = self._sight()
            if not self._in_sight(card, sight):
                # Out of sight, a card skips its work: it catches up when it comes into sight
                # (tick_soon on scrolling and resizing), or when it is looked at again here a
                # safety tick later, riding on another repaint if one comes before.
                self._card_next[card] = NextChange(now + SAFETY_TICK_S,
                                                     now + 2 * SAFETY_TICK_S)
                continue
            change = card.tick(now)
            self._card_next[card] = change
            if change is not None:
                changes.append(change)
        change = self._summary(now)
        if change is not None:
            changes.append(change)
        # One wake-up for the changes that can share it: seconds of cards armed together a few
        # ms apart, the ages of beats (they wait for the next second).
        nearest = NextChange.of(changes)
        self._plan(now, now + SAFETY_TICK_S if nearest is None
                   else min(nearest.at, now + SAFETY_TICK_S))

    def tick_soon(self) -> None:
        """Repaint everything in sight as soon as the events waiting now have been handled."""
        self._card_next.clear()
        self._summary_next = _UNPLANNED
        self._repaint.start(0)
        self._repaint_due = self._clock()

    def _plan(self, now: float, due: float) -> None:
        self._repaint_due = due
        self._repaint.start(max(0, math.ceil((due - now) * 1000)) + TIMER_SLACK_MS)

    def _plan_sooner(self, change: NextChange) -> None:
        planned = self.repaint_due
        if planned is None or change.latest < planned:
            self._plan(self._clock(), change.at)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._paint_summary_backdrop()
        self.tick_soon()  # hidden, the cards were not repainted

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self.tick_soon()  # back from minimised
        elif event.type() in (QEvent.Type.StyleChange, QEvent.Type.PaletteChange):
            self._paint_summary_backdrop()

    def _paint_summary_backdrop(self) -> None:
        # The summary says a new time left every second: painting the header's background
        # behind itself, it repaints alone, not the header and the window behind it. (The style
        # sheet's background of the header is its palette's Window colour, once polished.)
        self._header.ensurePolished()
        self.summary.set_backdrop(self._header.palette().color(QPalette.ColorRole.Window))

    def _summary(self, now: float) -> NextChange | None:
        """The summary's next change, saying the overall state again only when it is due or
        something it depends on changed (a status, the mode: tick_soon)."""
        planned = self._summary_next
        if planned is not None and planned.at <= now:  # due, or _UNPLANNED
            planned = self._summary_next = self._update_summary(now)
        return planned

    def _sight(self) -> QRect:
        """The part of the card grid in sight. One region for the grid rather than one per
        card: a widget's own works out every sibling over it, which made asking each card most
        of a repaint's cost."""
        return self.grid.visibleRegion().boundingRect()

    @staticmethod
    def _in_sight(card: TargetCard, sight: QRect) -> bool:
        return card.isVisible() and card.geometry().intersects(sight)

    def _update_summary(self, now: float) -> NextChange | None:
        """Say the overall state in the header; returns when its text next changes."""
        statuses = self.statuses()
        self._refresh_fold(statuses)  # the folded line names what is protected now
        state, line = overall_state(statuses, now, self._mode == "stopping")
        title = window_title(statuses, now, self._mode == "stopping", self.demo)
        if self.windowTitle() != title:
            self.setWindowTitle(title)  # the taskbar shows the state too
        if self.summary.text() != line:
            self.summary.setText(line)
            self._update_empty()
        if self.summary.property("state") != state:
            self.summary.setProperty("state", state)
            self.summary_icon.setPixmap(state_icon(state).pixmap(QSize(22, 22)))
            self.summary.style().unpolish(self.summary)
            self.summary.style().polish(self.summary)
        # The line says the soonest time left, in whole seconds (overall_state), as does the
        # large number over compact cards.
        soonest = shortest_left(statuses, now)
        if self._compact:
            self.shortest.show_soonest(soonest)
        lefts = [left for s in statuses if (left := s.time_left(now)) is not None]
        changes_in = left_text_changes_in(min(lefts)) if lefts else None
        if changes_in is None:
            return None
        return NextChange(now + changes_in, now + changes_in + COUNTDOWN_LATE_S)

    # ------------------------------------------------------------------ other inputs

    def show_journal_folder(self) -> None:
        self.journal.open_journal_folder()

    def set_profile_text(self, text: str) -> None:
        self.profile_label.setText(text)

    def post(self, level: str, title: str, text: str, key: str = "") -> None:
        """A message in the window's banner (always here, tray or not)."""
        self.banner.post(Notice(level, title, text, key))

    def set_close_guard(self, guard: Callable[[], bool] | None) -> None:
        """``guard()`` decides whether a close really closes (False: it was handled)."""
        self._close_guard = guard

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._close_guard is not None and not self._close_guard():
            event.ignore()
            return
        event.accept()

    def show_and_raise(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
