"""Market data, post-only orders, price-triggered orders and firing behaviour of the simulator.

What a self-check needs from an exchange, kept apart from the order books in ``exchange.py``:

- **Tickers.** Nothing trades here, so every market's book is a fixed spread around its price
  (spot: the pair's price; options and futures: the mark price): the best bid a tenth of a
  percent below, the best ask as far above, each on the market's price step.
- **Post-only.** A ``poc`` order that would cross that book is refused, as Gate refuses it
  (spot, options, futures: ``POC_FILL_IMMEDIATELY``; Gate's spot API may instead answer an order
  that finished as ``poc``, and the client reads both).
- **Price-triggered orders**, spot (``/spot/price_orders``) and futures
  (``/futures/{settle}/price_orders``). Their triggers never fire (no price ever moves here);
  they rest until cancelled.
- **Firing behaviour** (:class:`FiringBehaviour`), switchable for tests: a countdown that fires
  without cancelling, fires late, or also cancels the scope's price-triggered orders. By default
  a firing cancels the scope's orders at ``triggerTime`` and leaves price-triggered orders alone
  (whether Gate's countdown covers them is undocumented; a self-check finds out).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from gui.simulator.futures import futures_scopes

# Half the simulated spread, as a fraction of the price.
HALF_SPREAD = Decimal("0.001")
POC_LABEL = "POC_FILL_IMMEDIATELY"


class Refused(Exception):
    """An order the exchange refuses: Gate's label and message (HTTP 400)."""

    def __init__(self, label: str, message: str) -> None:
        super().__init__(f"{label}: {message}")
        self.label = label
        self.message = message


@dataclass(frozen=True)
class Book:
    """The best bid and ask of one market."""

    bid: Decimal
    ask: Decimal
    last: Decimal


def book(price: Decimal, step: Decimal) -> Book:
    """A fixed spread around ``price``, each side on ``step`` and never zero."""
    bid = max(step, (price * (1 - HALF_SPREAD) / step).to_integral_value(ROUND_DOWN) * step)
    ask = max(bid + step, (price * (1 + HALF_SPREAD) / step).to_integral_value(ROUND_UP) * step)
    return Book(bid=bid, ask=ask, last=price)


def check_post_only(the_book: Book, buys: bool, price: Decimal) -> None:
    """Refuse a post-only order that would take liquidity from ``the_book``."""
    if (buys and price >= the_book.ask) or (not buys and price <= the_book.bid):
        raise Refused(POC_LABEL, "order would match and take liquidity; post-only orders "
                                 "(poc) are cancelled instead")


@dataclass(frozen=True)
class FiringBehaviour:
    """What a countdown does when it reaches ``triggerTime``."""

    cancels_orders: bool = True
    late_ms: int = 0  # the firing lands this long after triggerTime
    cancels_price_orders: bool = False


@dataclass
class PriceOrder:
    id: int
    scopes: tuple[str, ...]  # the countdown scopes that cover its market
    body: dict[str, Any]  # Gate's object as placed, less the fields below
    create_s: int
    futures: bool
    status: str = "open"
    finish_s: int = 0

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def to_json(self) -> dict[str, Any]:
        if self.futures:
            data = {**self.body, "id": self.id, "user": 10_000_001,
                    "create_time": float(self.create_s), "status": self.status,
                    "finish_time": float(self.finish_s), "trade_id": 0, "reason": "",
                    "order_type": "", "me_order_id": 0}
            if not self.is_open:
                data["finish_as"] = "cancelled"
            return data
        return {**self.body, "id": self.id, "user": 10_000_001, "ctime": self.create_s,
                "ftime": self.finish_s, "fired_order_id": 0, "status": self.status,
                "reason": ""}


class PriceOrders:
    """Every price-triggered order, spot and futures. Its own lock: the exchange's firing thread
    calls :meth:`cancel_scope` while holding the exchange's lock, and this never takes that."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[int, PriceOrder] = {}
        self._ids = itertools.count(1_432_329)

    def place(self, scopes: tuple[str, ...], body: dict[str, Any], now_s: int, *,
              futures: bool) -> PriceOrder:
        with self._lock:
            order = PriceOrder(id=next(self._ids), scopes=scopes, body=body, create_s=now_s,
                               futures=futures)
            self._orders[order.id] = order
            return order

    def listed(self, product_scope: str, *, open_only: bool,
               market_scope: str | None = None) -> list[dict[str, Any]]:
        """Orders under ``product_scope`` (``spot:all``, ``futures:usdt:all``), newest first."""
        with self._lock:
            found = [o for o in self._orders.values()
                     if product_scope in o.scopes and o.is_open == open_only
                     and (market_scope is None or market_scope in o.scopes)]
            return [o.to_json() for o in sorted(found, key=lambda o: -o.id)]

    def get(self, product_scope: str, order_id: int) -> dict[str, Any] | None:
        with self._lock:
            order = self._orders.get(order_id)
            return None if order is None or product_scope not in order.scopes else order.to_json()

    def cancel(self, product_scope: str, order_id: int, now_s: int) -> dict[str, Any] | None:
        with self._lock:
            order = self._orders.get(order_id)
            if order is None or product_scope not in order.scopes or not order.is_open:
                return None
            self._finish(order, now_s)
            return order.to_json()

    def cancel_scope(self, scope: str, now_s: int) -> list[int]:
        with self._lock:
            hit = [o for o in self._orders.values() if o.is_open and scope in o.scopes]
            for order in hit:
                self._finish(order, now_s)
            return [o.id for o in hit]

    def open_count(self) -> int:
        with self._lock:
            return sum(o.is_open for o in self._orders.values())

    @staticmethod
    def _finish(order: PriceOrder, now_s: int) -> None:
        order.status = "finished" if order.futures else "cancelled"
        order.finish_s = now_s


def spot_price_scopes(pair: str) -> tuple[str, ...]:
    return (f"spot:{pair}", "spot:all")


def futures_price_scopes(settle: str, contract: str) -> tuple[str, ...]:
    return futures_scopes(settle, contract)
