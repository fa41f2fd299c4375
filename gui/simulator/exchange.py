"""The simulated exchange's state, without any HTTP.

Markets, open orders, countdown timers and their firings, rate-limit windows and the request log
all live here behind one lock, so the HTTP threads, the firing thread and the test thread see one
consistent exchange. A firing thread sleeps on a condition variable until the earliest countdown
deadline and then cancels that scope's open orders, so a firing lands within a few milliseconds of
its ``triggerTime``.

Scopes are the text form of :mod:`gui.core.targets`: ``spot:BTC_USDT``, ``spot:all``,
``options:BTC_USDT``, ``options:BTC_USDT-20241001-46000-C``, ``options:all``.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gui.simulator.futures import FuturesContract, FuturesOrder, futures_scopes
from gui.simulator.numbers import decimal_text as decimal_text
from gui.simulator.trading import FiringBehaviour, PriceOrders

# Gate: 200 requests per 10 s per endpoint, for private (per account, whichever of its keys
# signs) and public (per IP) alike.
RATE_LIMIT = 200
RATE_WINDOW_S = 10.0

# The request log is for tests and the control API; cap it so a demo left running for days
# does not grow without bound. The per-endpoint counters are kept separately and never drop.
REQUEST_LOG_LIMIT = 100_000

# Gate's largest accepted countdown: timeout is an int32.
MAX_TIMEOUT_S = 2**31 - 1
MIN_TIMEOUT_S = 5

# A fixed user id for the one simulated account (Gate puts it in option orders and accounts).
SIM_USER_ID = 10_000_001

# Balances of the simulated account; "locked" is derived from the open orders.
SPOT_BALANCES: dict[str, Decimal] = {
    "USDT": Decimal("100000"),
    "BTC": Decimal("2"),
    "ETH": Decimal("30"),
    "SOL": Decimal("500"),
    "GT": Decimal("1000"),
}
OPTIONS_BALANCE = Decimal("50000")


def spot_scopes(pair: str) -> tuple[str, ...]:
    """Every countdown scope that covers a spot order on ``pair``."""
    return (f"spot:{pair}", "spot:all")


def option_scopes(contract: str, underlying: str) -> tuple[str, ...]:
    """Every countdown scope that covers an option order on ``contract``."""
    return (f"options:{contract}", f"options:{underlying}", "options:all")


# ---------------------------------------------------------------------------------------------
# Markets (immutable once built)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpotPair:
    id: str
    base: str
    quote: str
    price: Decimal
    precision: int
    amount_precision: int
    trade_status: str  # tradable | untradable | buyable | sellable
    min_base_amount: str
    min_quote_amount: str
    fee: str = "0.2"
    sell_start: int = 0
    buy_start: int = 0

    def allows(self, side: str) -> bool:
        """Whether a new order on this side may be placed (Gate's trade_status semantics)."""
        if self.trade_status == "tradable":
            return True
        return (self.trade_status, side) in (("buyable", "buy"), ("sellable", "sell"))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "base": self.base,
            "base_name": self.base,
            "quote": self.quote,
            "quote_name": self.quote,
            "fee": self.fee,
            "min_base_amount": self.min_base_amount,
            "min_quote_amount": self.min_quote_amount,
            "max_base_amount": "",
            "max_quote_amount": "10000000",
            "amount_precision": self.amount_precision,
            "precision": self.precision,
            "trade_status": self.trade_status,
            "sell_start": self.sell_start,
            "buy_start": self.buy_start,
            "delisting_time": 0,
            "type": "normal",
            "trade_url": f"https://www.gate.io/trade/{self.id}",
            "st_tag": False,
        }


@dataclass(frozen=True)
class Underlying:
    name: str
    index_price: Decimal

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "index_price": decimal_text(self.index_price)}


@dataclass(frozen=True)
class OptionContract:
    name: str
    underlying: str
    tag: str
    create_time: int  # s
    expiration_time: int  # s
    strike: Decimal
    is_call: bool
    multiplier: str
    index_price: Decimal
    mark_price: Decimal
    price_round: str
    orderbook_id: int

    def to_json(self) -> dict[str, Any]:
        index = decimal_text(self.index_price)
        mark = decimal_text(self.mark_price)
        return {
            "name": self.name,
            "tag": self.tag,
            "create_time": float(self.create_time),
            "expiration_time": float(self.expiration_time),
            "is_call": self.is_call,
            "strike_price": decimal_text(self.strike),
            "multiplier": self.multiplier,
            "underlying": self.underlying,
            "underlying_price": index,
            "last_price": mark,
            "mark_price": mark,
            "index_price": index,
            "maker_fee_rate": "0.0003",
            "taker_fee_rate": "0.0003",
            "order_price_round": self.price_round,
            "mark_price_round": self.price_round,
            "order_size_min": 1,
            "order_size_max": 100000,
            "order_price_deviate": "0.5",
            "ref_discount_rate": "0",
            "ref_rebate_rate": "0",
            "orderbook_id": self.orderbook_id,
            "trade_id": 0,
            "trade_size": 0,
            "position_size": 0,
            "orders_limit": 50,
        }


@dataclass(frozen=True)
class Markets:
    spot_pairs: dict[str, SpotPair]
    underlyings: dict[str, Underlying]
    contracts: dict[str, OptionContract]
    # Perpetual futures contracts per settle currency ("usdt", "btc").
    futures: dict[str, dict[str, FuturesContract]] = field(default_factory=dict)

    def contracts_of(self, underlying: str) -> list[OptionContract]:
        return [c for c in self.contracts.values() if c.underlying == underlying]


# ---------------------------------------------------------------------------------------------
# Orders, firings, request records
# ---------------------------------------------------------------------------------------------


@dataclass
class SpotOrder:
    id: str
    currency_pair: str
    base: str
    quote: str
    side: str
    amount: Decimal
    price: Decimal
    type: str
    time_in_force: str
    text: str
    create_ms: int
    update_ms: int
    status: str = "open"  # open | cancelled
    finish_as: str = "open"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def to_json(self) -> dict[str, Any]:
        # A resting order that never trades: left is the whole amount, nothing filled.
        fee_currency = self.base if self.side == "buy" else self.quote
        return {
            "id": self.id,
            "text": self.text,
            "amend_text": "-",
            "create_time": str(self.create_ms // 1000),
            "update_time": str(self.update_ms // 1000),
            "create_time_ms": self.create_ms,
            "update_time_ms": self.update_ms,
            "status": self.status,
            "currency_pair": self.currency_pair,
            "type": self.type,
            "account": "spot",
            "side": self.side,
            "amount": decimal_text(self.amount),
            "price": decimal_text(self.price),
            "time_in_force": self.time_in_force,
            "iceberg": "0",
            "left": decimal_text(self.amount),
            "filled_amount": "0",
            "fill_price": "0",
            "filled_total": "0",
            "avg_deal_price": "0",
            "fee": "0",
            "fee_currency": fee_currency,
            "point_fee": "0",
            "gt_fee": "0",
            "gt_maker_fee": "0",
            "gt_taker_fee": "0",
            "gt_discount": False,
            "rebated_fee": "0",
            "rebated_fee_currency": self.quote,
            "finish_as": self.finish_as,
        }

    def to_cancel_json(self) -> dict[str, Any]:
        """One entry of DELETE /spot/orders: the order plus the per-order outcome."""
        return {**self.to_json(), "succeeded": True, "label": "", "message": ""}


@dataclass
class OptionOrder:
    id: int
    contract: str
    underlying: str
    size: int  # negative = sell (ask)
    price: Decimal
    tif: str
    text: str
    create_ms: int
    status: str = "open"  # open | finished
    finish_as: str | None = None
    finish_ms: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def side(self) -> str:
        return "ask" if self.size < 0 else "bid"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "user": SIM_USER_ID,
            "create_time": self.create_ms / 1000,
            "status": self.status,
            "contract": self.contract,
            "size": self.size,
            "iceberg": 0,
            "price": decimal_text(self.price),
            "close": False,
            "is_close": False,
            "reduce_only": False,
            "is_reduce_only": False,
            "is_liq": False,
            "mmp": False,
            "is_mmp": False,
            "tif": self.tif,
            "left": self.size,
            "fill_price": "0",
            "text": self.text,
            "tkfr": "0.0003",
            "mkfr": "0.0003",
            "refu": 0,
            "refr": "0",
        }
        # The SDK's enum for finish_as has no "open": an open order simply has none.
        if self.finish_ms is not None:
            data["finish_time"] = self.finish_ms / 1000
        if self.finish_as is not None:
            data["finish_as"] = self.finish_as
        return data


@dataclass(frozen=True)
class Firing:
    """One countdown that reached its deadline and cancelled its scope's open orders."""

    scope: str
    trigger_time_ms: int
    fired_at_ms: int
    order_ids: list[str]


@dataclass
class RequestRecord:
    """One request under /api/v4, as it arrived (faulted ones included)."""

    method: str
    path: str  # without the /api/v4 prefix
    scope: str | None  # countdown and cancel-all requests only
    timeout: int | None  # countdown requests only, when the body held an int
    server_time_ms: int  # arrival, server clock
    mono: float  # time.monotonic() at arrival
    status: int = 0  # the status answered; 0 while pending, or if dropped or hung


@dataclass(frozen=True)
class RateWindow:
    """The rate-limit state of one (identity, endpoint) after a request was counted or refused."""

    limit: int
    remaining: int
    reset_ms: int
    allowed: bool


@dataclass
class _RateCounter:
    arrivals: deque[float] = field(default_factory=deque)  # monotonic times inside the window


# ---------------------------------------------------------------------------------------------
# The exchange
# ---------------------------------------------------------------------------------------------


class Exchange:
    """All mutable state of the simulated exchange, guarded by one lock."""

    def __init__(self, markets: Markets) -> None:
        self.markets = markets
        self._lock = threading.Lock()
        # The firing thread sleeps on this until the next deadline or until the timers change.
        self._timers_changed = threading.Condition(self._lock)
        self._clock_skew_s = 0.0
        self._spot_orders: dict[str, SpotOrder] = {}
        self._option_orders: dict[int, OptionOrder] = {}
        # Gate's ids are large numbers; spot ids travel as strings, option ids as integers.
        self._spot_ids = itertools.count(600_000_000_001)
        self._option_ids = itertools.count(3_000_000_001)
        self._futures_orders: dict[int, FuturesOrder] = {}
        self._futures_ids = itertools.count(58_000_000_001)
        # The settle currencies whose futures account exists; the others answer USER_NOT_FOUND.
        self._futures_accounts: set[str] = set(markets.futures)
        # How many of the next bulk cancels fail in part (see fail_bulk_cancels).
        self._partial_cancels = 0
        self._countdowns: dict[str, int] = {}
        self._firings: list[Firing] = []
        self._rate: dict[tuple[str, str], _RateCounter] = {}
        self._requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._request_counts: dict[str, int] = {}
        self._firing_thread: threading.Thread | None = None
        self._stopping = False
        self._firing = FiringBehaviour()
        self.price_orders = PriceOrders()

    # -- time ----------------------------------------------------------------------------------

    def server_time(self) -> float:
        with self._lock:
            return time.time() + self._clock_skew_s

    def server_time_ms(self) -> int:
        return int(self.server_time() * 1000)

    def _now_ms_locked(self) -> int:
        return int((time.time() + self._clock_skew_s) * 1000)

    @property
    def clock_skew_s(self) -> float:
        with self._lock:
            return self._clock_skew_s

    def set_clock_skew(self, seconds: float) -> None:
        with self._lock:
            self._clock_skew_s = float(seconds)
            # Deadlines are on the server clock: a jump may make one due now.
            self._timers_changed.notify_all()

    # -- firing thread -------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._firing_thread is not None:
                return
            self._stopping = False
            self._firing_thread = threading.Thread(
                target=self._fire_loop, name="simulator-firing", daemon=True)
            self._firing_thread.start()

    def stop(self) -> None:
        with self._lock:
            thread = self._firing_thread
            self._firing_thread = None
            self._stopping = True
            self._timers_changed.notify_all()
        if thread is not None:
            thread.join(timeout=2.0)

    def _fire_loop(self) -> None:
        with self._lock:
            while not self._stopping:
                now_ms = self._now_ms_locked()
                late = self._firing.late_ms
                due = sorted((t, s) for s, t in self._countdowns.items() if t + late <= now_ms)
                for trigger_ms, scope in due:
                    self._fire_locked(scope, trigger_ms)
                if due:
                    continue
                wait_s = 0.5  # also bounds how late a jump of the wall clock is noticed
                if self._countdowns:
                    next_ms = min(self._countdowns.values()) + late
                    wait_s = min(wait_s, max(0.0, (next_ms - now_ms) / 1000))
                self._timers_changed.wait(wait_s)

    def _fire_locked(self, scope: str, trigger_ms: int) -> None:
        del self._countdowns[scope]
        now_ms = self._now_ms_locked()
        firing = self._firing
        order_ids = self._cancel_scope_locked(scope, now_ms) if firing.cancels_orders else []
        if firing.cancels_price_orders:
            self.price_orders.cancel_scope(scope, now_ms // 1000)
        self._firings.append(Firing(scope, trigger_ms, now_ms, order_ids))

    def _cancel_scope_locked(self, scope: str, now_ms: int) -> list[str]:
        cancelled: list[str] = []
        if scope.startswith("futures:"):
            for futures_order in self._futures_orders.values():
                if futures_order.is_open and scope in futures_scopes(
                        futures_order.settle, futures_order.contract):
                    self._cancel_futures_locked(futures_order, now_ms)
                    cancelled.append(str(futures_order.id))
        elif scope.startswith("spot:"):
            for spot_order in self._spot_orders.values():
                if spot_order.is_open and scope in spot_scopes(spot_order.currency_pair):
                    self._cancel_spot_locked(spot_order, now_ms)
                    cancelled.append(spot_order.id)
        else:
            for option_order in self._option_orders.values():
                if option_order.is_open and scope in option_scopes(
                        option_order.contract, option_order.underlying):
                    self._cancel_option_locked(option_order, now_ms)
                    cancelled.append(str(option_order.id))
        return cancelled

    # -- countdowns ----------------------------------------------------------------------------

    def set_countdown(self, scope: str, timeout_s: int) -> int:
        """Arm (timeout ≥ 5) or end (timeout 0) one scope's countdown; return its triggerTime."""
        with self._lock:
            if timeout_s == 0:
                self._countdowns.pop(scope, None)
                self._timers_changed.notify_all()
                return 0
            trigger_ms = self._now_ms_locked() + timeout_s * 1000
            self._countdowns[scope] = trigger_ms
            self._timers_changed.notify_all()
            return trigger_ms

    def countdowns(self) -> dict[str, int]:
        with self._lock:
            return dict(self._countdowns)

    def set_firing(self, behaviour: FiringBehaviour) -> None:
        """How later firings behave (see :class:`FiringBehaviour`): a switchable fault."""
        with self._lock:
            self._firing = behaviour
            self._timers_changed.notify_all()

    def firings(self) -> list[Firing]:
        with self._lock:
            return [dataclasses.replace(f, order_ids=list(f.order_ids)) for f in self._firings]

    # -- spot orders ---------------------------------------------------------------------------

    def place_spot_order(self, pair: str, side: str, amount: Decimal, price: Decimal, *,
                         order_type: str = "limit", time_in_force: str = "gtc",
                         text: str = "apiv4") -> dict[str, Any]:
        market = self.markets.spot_pairs[pair]
        with self._lock:
            now_ms = self._now_ms_locked()
            order = SpotOrder(
                id=str(next(self._spot_ids)), currency_pair=pair, base=market.base,
                quote=market.quote, side=side, amount=amount, price=price, type=order_type,
                time_in_force=time_in_force, text=text, create_ms=now_ms, update_ms=now_ms)
            # Nothing ever trades here, so an order that may not rest ends at once.
            if time_in_force in ("ioc", "fok"):
                order.status = "cancelled"
                order.finish_as = time_in_force
            self._spot_orders[order.id] = order
            return order.to_json()

    def spot_orders(self, *, pair: str | None = None, side: str | None = None,
                    open_only: bool = True) -> list[dict[str, Any]]:
        with self._lock:
            return [o.to_json() for o in self._spot_orders.values()
                    if o.is_open == open_only
                    and (pair is None or o.currency_pair == pair)
                    and (side is None or o.side == side)]

    def spot_order(self, order_id: str) -> dict[str, Any] | None:
        with self._lock:
            order = self._spot_orders.get(order_id)
            return None if order is None else order.to_json()

    def cancel_spot_orders(self, *, pair: str | None = None,
                           side: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            now_ms = self._now_ms_locked()
            partial = self._partial_locked()
            cancelled = []
            matching = [o for o in self._spot_orders.values()
                        if o.is_open and (pair is None or o.currency_pair == pair)
                        and (side is None or o.side == side)]
            for index, order in enumerate(matching):
                if partial and index % 2 == 1:
                    cancelled.append({**order.to_cancel_json(), "succeeded": False,
                                      "label": "CANCEL_FAIL",
                                      "message": "order could not be cancelled, try again"})
                    continue
                self._cancel_spot_locked(order, now_ms)
                cancelled.append(order.to_cancel_json())
            return cancelled

    def cancel_spot_order(self, order_id: str, pair: str) -> dict[str, Any] | None:
        """Cancel one open order; None when no open order with that id is on that pair."""
        with self._lock:
            order = self._spot_orders.get(order_id)
            if order is None or not order.is_open or order.currency_pair != pair:
                return None
            self._cancel_spot_locked(order, self._now_ms_locked())
            return order.to_json()

    @staticmethod
    def _cancel_spot_locked(order: SpotOrder, now_ms: int) -> None:
        order.status = "cancelled"
        order.finish_as = "cancelled"
        order.update_ms = now_ms

    def spot_locked(self) -> dict[str, Decimal]:
        """Per currency, what the open spot orders hold: quote for buys, base for sells."""
        with self._lock:
            locked: dict[str, Decimal] = {}
            for order in self._spot_orders.values():
                if not order.is_open:
                    continue
                currency, value = ((order.quote, order.amount * order.price) if order.side == "buy"
                                   else (order.base, order.amount))
                locked[currency] = locked.get(currency, Decimal(0)) + value
            return locked

    # -- option orders -------------------------------------------------------------------------

    def place_option_order(self, contract: str, size: int, price: Decimal, *, tif: str = "gtc",
                           text: str = "apiv4") -> dict[str, Any]:
        market = self.markets.contracts[contract]
        with self._lock:
            now_ms = self._now_ms_locked()
            order = OptionOrder(
                id=next(self._option_ids), contract=contract, underlying=market.underlying,
                size=size, price=price, tif=tif, text=text, create_ms=now_ms)
            if tif == "ioc":
                order.status, order.finish_as, order.finish_ms = "finished", "ioc", now_ms
            self._option_orders[order.id] = order
            return order.to_json()

    def option_orders(self, *, underlying: str | None = None, contract: str | None = None,
                      open_only: bool = True) -> list[dict[str, Any]]:
        with self._lock:
            return [o.to_json() for o in self._option_orders.values()
                    if o.is_open == open_only
                    and (underlying is None or o.underlying == underlying)
                    and (contract is None or o.contract == contract)]

    def option_order(self, order_id: int) -> dict[str, Any] | None:
        with self._lock:
            order = self._option_orders.get(order_id)
            return None if order is None else order.to_json()

    def cancel_option_orders(self, *, underlying: str | None = None, contract: str | None = None,
                             side: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            now_ms = self._now_ms_locked()
            cancelled = []
            for order in self._option_orders.values():
                if (order.is_open and (underlying is None or order.underlying == underlying)
                        and (contract is None or order.contract == contract)
                        and (side is None or order.side == side)):
                    self._cancel_option_locked(order, now_ms)
                    cancelled.append(order.to_json())
            return cancelled

    def cancel_option_order(self, order_id: int) -> dict[str, Any] | None:
        with self._lock:
            order = self._option_orders.get(order_id)
            if order is None or not order.is_open:
                return None
            self._cancel_option_locked(order, self._now_ms_locked())
            return order.to_json()

    @staticmethod
    def _cancel_option_locked(order: OptionOrder, now_ms: int) -> None:
        order.status = "finished"
        order.finish_as = "cancelled"
        order.finish_ms = now_ms

    def option_order_margin(self) -> tuple[Decimal, Decimal]:
        """(bid, ask) margin held by open option orders: a rough premium × size × multiplier."""
        with self._lock:
            bid = ask = Decimal(0)
            for order in self._option_orders.values():
                if not order.is_open:
                    continue
                contract = self.markets.contracts[order.contract]
                value = order.price * abs(order.size) * Decimal(contract.multiplier)
                if order.size > 0:
                    bid += value
                else:
                    ask += value
            return bid, ask

    # -- futures orders ------------------------------------------------------------------------

    def has_futures_account(self, settle: str) -> bool:
        with self._lock:
            return settle in self._futures_accounts

    def set_futures_accounts(self, settles: set[str]) -> None:
        with self._lock:
            self._futures_accounts = set(settles)

    def fail_bulk_cancels(self, count: int) -> None:
        """Make the next ``count`` spot or futures bulk cancels (``DELETE …/orders``) fail in
        part: every second order stays open and is answered ``succeeded: false``, as Gate may
        answer. (Gate's options cancel answers the cancelled orders only: no such shape.)"""
        with self._lock:
            self._partial_cancels = count

    def _partial_locked(self) -> bool:
        if self._partial_cancels <= 0:
            return False
        self._partial_cancels -= 1
        return True

    def place_futures_order(self, settle: str, contract: str, size: Decimal, price: Decimal, *,
                            tif: str = "gtc", text: str = "apiv4",
                            reduce_only: bool = False) -> dict[str, Any]:
        with self._lock:
            now_ms = self._now_ms_locked()
            order = FuturesOrder(
                id=next(self._futures_ids), settle=settle, contract=contract, size=size,
                price=price, tif=tif, text=text, reduce_only=reduce_only, create_ms=now_ms)
            # Nothing trades here: an order that may not rest ends at once (the SDK knows
            # finish_as "ioc", and no "fok").
            if tif in ("ioc", "fok"):
                order.status, order.finish_ms = "finished", now_ms
                order.finish_as = "ioc" if tif == "ioc" else "cancelled"
            self._futures_orders[order.id] = order
            return order.to_json()

    def futures_orders(self, settle: str, *, contract: str | None = None,
                       open_only: bool = True) -> list[dict[str, Any]]:
        with self._lock:
            return [o.to_json() for o in self._futures_orders.values()
                    if o.settle == settle and o.is_open == open_only
                    and (contract is None or o.contract == contract)]

    def futures_order(self, settle: str, order_id: int) -> dict[str, Any] | None:
        with self._lock:
            order = self._futures_orders.get(order_id)
            return None if order is None or order.settle != settle else order.to_json()

    def cancel_futures_orders(self, settle: str, *, contract: str | None = None,
                              side: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            now_ms = self._now_ms_locked()
            partial = self._partial_locked()
            answered = []
            matching = [o for o in self._futures_orders.values()
                        if o.is_open and o.settle == settle
                        and (contract is None or o.contract == contract)
                        and (side is None or o.side == side)]
            for index, order in enumerate(matching):
                if partial and index % 2 == 1:
                    answered.append({"id": order.id, "contract": order.contract,
                                     "succeeded": False, "label": "CANCEL_FAIL",
                                     "message": "order could not be cancelled, try again"})
                    continue
                self._cancel_futures_locked(order, now_ms)
                answered.append({**order.to_json(), "succeeded": True})
            return answered

    def cancel_futures_order(self, settle: str, order_id: int) -> dict[str, Any] | None:
        with self._lock:
            order = self._futures_orders.get(order_id)
            if order is None or order.settle != settle or not order.is_open:
                return None
            self._cancel_futures_locked(order, self._now_ms_locked())
            return order.to_json()

    @staticmethod
    def _cancel_futures_locked(order: FuturesOrder, now_ms: int) -> None:
        order.status = "finished"
        order.finish_as = "cancelled"
        order.finish_ms = now_ms

    # -- both products, for the Python API and the control API -------------------------------

    def open_orders(self, product: str | None = None) -> list[dict[str, Any]]:
        """Open orders with "product" and "scopes" (every countdown scope that covers each)."""
        with self._lock:
            found: list[dict[str, Any]] = []
            if product in (None, "spot"):
                found.extend({**o.to_json(), "product": "spot",
                              "scopes": list(spot_scopes(o.currency_pair))}
                             for o in self._spot_orders.values() if o.is_open)
            if product in (None, "options"):
                found.extend({**o.to_json(), "product": "options", "underlying": o.underlying,
                              "scopes": list(option_scopes(o.contract, o.underlying))}
                             for o in self._option_orders.values() if o.is_open)
            if product in (None, "futures"):
                found.extend({**o.to_json(), "product": f"futures:{o.settle}",
                              "scopes": list(futures_scopes(o.settle, o.contract))}
                             for o in self._futures_orders.values() if o.is_open)
            return found

    # -- rate limit ----------------------------------------------------------------------------

    def take_rate(self, identity: str, endpoint: str, *, count: bool) -> RateWindow:
        """Count one request in the sliding window (when ``count``) and report the window.

        A refused request is not counted: otherwise a client that keeps trying would never get
        back under the limit.
        """
        with self._lock:
            now = time.monotonic()
            counter = self._rate.get((identity, endpoint))
            if counter is None:
                counter = _RateCounter()
                # Only counted requests get a window: peeks for unknown paths must not pile up.
                if count:
                    self._rate[(identity, endpoint)] = counter
            arrivals = counter.arrivals
            while arrivals and arrivals[0] <= now - RATE_WINDOW_S:
                arrivals.popleft()
            allowed = len(arrivals) < RATE_LIMIT
            if count and allowed:
                arrivals.append(now)
            now_ms = self._now_ms_locked()
            # Gate: the time the limit resets "if you have exceeded your rate_limit.
            # Otherwise, this is just the current timestamp".
            reset_ms = (now_ms if allowed or not arrivals
                        else now_ms + int((arrivals[0] + RATE_WINDOW_S - now) * 1000))
            return RateWindow(RATE_LIMIT, max(0, RATE_LIMIT - len(arrivals)), reset_ms, allowed)

    # -- request log ---------------------------------------------------------------------------

    def log_request(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)
            key = f"{record.method} {record.path}"
            self._request_counts[key] = self._request_counts.get(key, 0) + 1

    def set_request_status(self, record: RequestRecord, status: int) -> None:
        with self._lock:
            record.status = status

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [dataclasses.replace(r) for r in self._requests
                    if path is None or r.path == path]

    def request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._request_counts)
