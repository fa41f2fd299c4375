"""New cards a few at a time: arming two hundred targets must not freeze the window.

A card is a tree of some twenty widgets, each polished against the style sheet as it joins the
grid: a few milliseconds apiece. Arming 200 targets asks for 200 cards within one turn of the
event loop (the engine tells of every target as it starts its worker), which held the loop for
most of a second: no repaint, no click, no beat answer handled meanwhile.

So the window draws new cards for at most :data:`TURN_BUDGET_S` of each loop turn, and the rest
on the turns after, in the order they came, each with the latest status its target was given.
Until then a target is *waiting*: it has no card, so nothing on screen says it is armed or safe,
but the window counts it (its summary, title and "shortest time left" are worked out from every
status, drawn or not, and the cards' count says how many are still to draw). One or a few new
cards (the usual case) are drawn at once, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from PySide6.QtCore import QObject, QTimer

from gui.core.client import OpenOrder
from gui.core.heartbeat import TargetStatus
from gui.core.targets import Target

#: how long, in one turn of the event loop, the window spends drawing new cards and working out
#: its summary again before it lets other events in (a repaint, a click, the engine's answers)
TURN_BUDGET_S = 0.010


class CardQueue(QObject):
    """Targets waiting for their card, drawn by ``build`` within each loop turn's budget.

    ``build(status)`` draws the card of a new target; ``turned()`` is called at each later
    turn, after the waiting cards it had room for were drawn (the window says its summary
    there, once for a whole burst). ``clock`` is for the budget only (elapsed CPU-bound work),
    not for anything shown.
    """

    def __init__(self, build: Callable[[TargetStatus], None], turned: Callable[[], None],
                 parent: QObject | None = None, *, budget_s: float = TURN_BUDGET_S,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(parent)
        self._build = build
        self._turned = turned
        self._budget_s = budget_s
        self._clock = clock
        self._spent = 0.0  # of this turn's budget
        self._in_turn = False
        #: the latest status of each target waiting for its card, in the order they came
        self._waiting: dict[Target, TargetStatus] = {}
        #: open orders handed in for a waiting target, given to its card once drawn
        self._orders: dict[Target, tuple[Sequence[OpenOrder] | None, str | None]] = {}
        self._next_turn = QTimer(self)
        self._next_turn.setSingleShot(True)
        self._next_turn.setInterval(0)
        self._next_turn.timeout.connect(self._turn)

    def __contains__(self, target: object) -> bool:
        return target in self._waiting

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def statuses(self) -> list[TargetStatus]:
        """The latest status of each waiting target."""
        return list(self._waiting.values())

    @property
    def targets(self) -> list[Target]:
        return list(self._waiting)

    def in_budget(self) -> bool:
        """Whether this turn has time left for more (a new card, the summary)."""
        return self._spent < self._budget_s

    @contextmanager
    def spending(self) -> Iterator[None]:
        """Count the work inside against this turn's budget (and make sure a next turn comes,
        which starts a new budget)."""
        if not self._in_turn and not self._next_turn.isActive():
            self._next_turn.start()
        began = self._clock()
        try:
            yield
        finally:
            self._spent += self._clock() - began

    def offer(self, status: TargetStatus) -> bool:
        """A status for a target without a card: True when its card was drawn now, False when
        it waits (its latest status kept) for a later turn."""
        target = status.target
        if target in self._waiting or self._waiting or not self.in_budget():
            self._waiting[target] = status
            self._next_turn.start()
            return False
        with self.spending():
            self._build(status)
        return True

    def set_orders(self, target: Target, orders: Sequence[OpenOrder] | None,
                   error: str | None) -> bool:
        """Keep the open orders of a waiting target for its card (False: it is not waiting)."""
        if target not in self._waiting:
            return False
        self._orders[target] = (orders, error)
        return True

    def take_orders(self, target: Target) -> tuple[Sequence[OpenOrder] | None, str | None] | None:
        return self._orders.pop(target, None)

    def drop(self, target: Target) -> bool:
        """Forget a waiting target (its card is no longer wanted). False: it was not waiting."""
        self._orders.pop(target, None)
        return self._waiting.pop(target, None) is not None

    @property
    def in_turn(self) -> bool:
        """Whether the cards are being drawn at the start of a later turn (not on demand)."""
        return self._in_turn

    def _turn(self) -> None:
        self._spent = 0.0
        self._in_turn = True
        try:
            while self._waiting and self.in_budget():
                target = next(iter(self._waiting))
                status = self._waiting.pop(target)
                with self.spending():
                    self._build(status)
            with self.spending():
                self._turned()
        finally:
            self._in_turn = False
        if self._waiting:
            self._next_turn.start()
