"""The self-check: watch Gate's countdown cancel one test order on the trader's own account.

Steps, each journalled (``selfcheck`` records with a ``step``):

1. **Refuse** when the scope has any open order (and, with price orders, any price-triggered
   order): the countdown cancels everything in its scope, so the check only runs on an empty one.
   A refusal changes nothing.
2. **Plan one order that cannot fill**: a post-only (``poc``) limit buy at the scope's minimum
   size, at half the best bid (the mark or last price when the book has no bid), rounded down to
   the market's price step, tagged with a ``t-`` text of its own. A broad target uses one market
   inside it. The plan says what the order is worth and what it reserves, for the confirmation a
   live account asks for.
3. **Place it, arm a countdown of** ``COUNTDOWN_S`` **on that scope only, send no beat, and
   watch** the order until Gate reports it ended or until ``triggerTime`` + ``GRACE_S``.
4. **Report** PASS (cancelled at or after ``triggerTime``) or FAIL (still open at the end of the
   watch, or cancelled before ``triggerTime``, which is not the countdown's work), with placed at,
   ``triggerTime``, seen cancelled at, Gate's own finish time and the delays.
5. With price orders, one price-triggered buy far below the market in the same scope: did the
   countdown cancel it? It is removed if it survived.

**Nothing is left behind, whatever happens** (an error, a stop asked through ``stop``): the test
order is cancelled by its id (found again by its text if placing it got no answer), the
price-triggered order likewise, and the scope's countdown is ended with ``timeout`` 0, which
is harmless when it already fired. What could not be confirmed removed is reported, by id.

NOTE: no Qt here; blocking. The window runs it in a worker thread and stops it through ``stop``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from gui.core.client import GateClient
from gui.core.errors import GateError
from gui.core.journal import Journal
from gui.core.orders import in_scope, open_orders
from gui.core.phrases import counted
from gui.core.targets import Product, ScopeKind, Target
from gui.core.trading import MarketRules, OrderState
from gui.core.urls import TESTNET_URL, is_loopback_host, validate_base_url

log = logging.getLogger(__name__)

COUNTDOWN_S = 5  # Gate's shortest countdown
GRACE_S = 15.0  # how long past triggerTime the order is watched
POLL_S = 0.25
REQUEST_TIMEOUT_S = 5.0
CLEANUP_TRIES = 3
# Gate's finish time may be this far before triggerTime (clock measurement, rounding) and
# still be the countdown's cancel; earlier than that, something else cancelled the order.
EARLY_SLACK_MS = 1000
# After the order is seen cancelled, how long a price-triggered order may take to follow.
PRICE_ORDER_FOLLOW_S = 2.0
# Half the market: a buy there cannot fill unless the price halves first.
DISTANCE = Decimal("0.5")
# A buy is only placed when the rounded price is well below the market, this far at most.
FAR_ENOUGH = Decimal("0.6")


class Outcome(Enum):
    PASS = "PASS"  # noqa: S105 (an outcome, not a password)
    FAIL = "FAIL"
    REFUSED = "REFUSED"  # nothing was changed
    ERROR = "ERROR"  # the check could not finish; it cleaned up
    STOPPED = "STOPPED"  # asked to stop midway; it cleaned up


class Refused(Exception):
    """The self-check will not run on this scope; nothing was changed."""


class _Stopped(Exception):
    pass


def is_live(base_url: str) -> bool:
    """Whether orders on this exchange are real money: anything but TestNet and loopback (the
    simulator). A custom https URL counts as live: it may be a proxy to the real exchange."""
    url = validate_base_url(base_url)
    return url != TESTNET_URL and not is_loopback_host(urlsplit(url).hostname or "")


@dataclass(frozen=True)
class Plan:
    """The one test order (and price-triggered order), before anything is placed."""

    target: Target
    product: Product
    market: str
    size: Decimal
    price: Decimal
    reference: Decimal  # the market price it stays far from
    value: Decimal
    value_currency: str
    reserves: str
    order_text: str
    price_order: bool

    @property
    def size_words(self) -> str:
        size = plain(self.size)
        if self.product is Product.SPOT:
            return size
        return f"{size} contract{'' if size == '1' else 's'}"

    def lines(self) -> list[str]:
        """The exact order, for a person to confirm."""
        lines = [
            f"Scope: {self.target} ({self.target.describe()}); market {self.market}",
            f"Order: BUY {self.size_words} at {plain(self.price)} (post-only, limit), "
            f"text {self.order_text}; the market is at {plain(self.reference)}",
            f"Value: {plain(self.value)} {self.value_currency}",
            f"Reserves: {self.reserves}",
            f"Then: a {COUNTDOWN_S}-second countdown on {self.target} with no beat; Gate should "
            f"cancel the order within {COUNTDOWN_S} s.",
        ]
        if self.price_order:
            lines.append(f"Also: a price-triggered BUY {self.size_words} at {plain(self.price)}, "
                         f"triggered if the price falls to {plain(self.price)} (reserves nothing "
                         "until it triggers).")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"target": str(self.target), "market": self.market, "side": "buy",
                "size": plain(self.size), "price": plain(self.price),
                "reference_price": plain(self.reference), "value": plain(self.value),
                "value_currency": self.value_currency, "reserves": self.reserves,
                "order_text": self.order_text, "price_order": self.price_order}


@dataclass
class Report:
    outcome: Outcome
    target: Target
    message: str = ""
    plan: Plan | None = None
    order_id: str = ""
    placed_at_ms: int | None = None
    trigger_time_ms: int | None = None
    seen_cancelled_ms: int | None = None
    gate_finish_ms: int | None = None
    price_order_id: str = ""
    price_order_cancelled: bool | None = None  # by the countdown; None: not asked or unknown
    cleanup: list[str] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)

    @property
    def delay_ms(self) -> int | None:
        if self.seen_cancelled_ms is None or self.trigger_time_ms is None:
            return None
        return self.seen_cancelled_ms - self.trigger_time_ms

    @property
    def gate_delay_ms(self) -> int | None:
        if self.gate_finish_ms is None or self.trigger_time_ms is None:
            return None
        return self.gate_finish_ms - self.trigger_time_ms

    @property
    def clean(self) -> bool:
        return not self.left_behind

    @property
    def exit_code(self) -> int:
        if self.outcome is Outcome.REFUSED:
            return 2
        return 0 if self.outcome is Outcome.PASS and self.clean else 1

    @property
    def price_order_answer(self) -> str:
        if self.price_order_cancelled is None:
            return ""
        return ("Gate's countdown cancels price-triggered orders on this account."
                if self.price_order_cancelled else
                "Gate's countdown does not cancel price-triggered orders on this account.")

    def lines(self) -> list[str]:
        out = [f"{self.outcome.value}: {self.message}"]
        for label, ms in (("Placed at", self.placed_at_ms), ("triggerTime", self.trigger_time_ms),
                          ("Seen cancelled at", self.seen_cancelled_ms),
                          ("Gate's finish time", self.gate_finish_ms)):
            if ms is not None:
                out.append(f"  {label + ':':<20}{utc_text(ms)}")
        if self.delay_ms is not None:
            gate = (f"; by Gate's finish time {self.gate_delay_ms / 1000:+.3f} s"
                    if self.gate_delay_ms is not None else "")
            out.append(f"  Delay after triggerTime: seen {self.delay_ms / 1000:+.3f} s{gate}")
        if self.price_order_answer:
            out.append(f"  {self.price_order_answer}")
        out.extend(f"  Cleanup: {line}" for line in self.cleanup)
        out.extend(f"  LEFT BEHIND: {line}" for line in self.left_behind)
        if self.outcome is not Outcome.REFUSED and self.clean:
            out.append("  Nothing was left behind: no test order, no armed countdown.")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome.value, "target": str(self.target),
                "message": self.message, "plan": self.plan.to_json() if self.plan else None,
                "order_id": self.order_id or None, "placed_at_ms": self.placed_at_ms,
                "trigger_time_ms": self.trigger_time_ms,
                "seen_cancelled_ms": self.seen_cancelled_ms,
                "gate_finish_ms": self.gate_finish_ms, "delay_ms": self.delay_ms,
                "gate_delay_ms": self.gate_delay_ms,
                "price_order_id": self.price_order_id or None,
                "price_order_cancelled": self.price_order_cancelled,
                "cleanup": list(self.cleanup), "left_behind": list(self.left_behind),
                "clean": self.clean}


def plain(value: Decimal) -> str:
    """A decimal as a person reads it: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def utc_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + \
        " UTC"


class SelfCheck:
    """One self-check of one target. :meth:`prepare` reads only; :meth:`run` places, watches and
    cleans up, and never raises (its :class:`Report` says what happened)."""

    def __init__(self, client: GateClient, target: Target, *, price_orders: bool = False,
                 journal: Journal | None = None, stop: threading.Event | None = None,
                 grace_s: float = GRACE_S, poll_s: float = POLL_S,
                 say: Callable[[str], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.target = target
        self.price_orders = price_orders
        self.journal = journal
        self.stop = stop or threading.Event()
        self.grace_s = grace_s
        self.poll_s = poll_s
        self._progress = say
        self._mono = monotonic
        if price_orders and target.product is Product.OPTIONS:
            raise Refused("Gate has no price-triggered orders for options: run the option "
                          "self-check without price orders.")

    # ------------------------------------------------------------------ reading only

    def prepare(self) -> Plan:
        """The test order for this scope; raises :class:`Refused` (nothing changed) or a
        :class:`GateError`."""
        self.client.ensure_clock(REQUEST_TIMEOUT_S)
        self._refuse_if_busy()
        market = self._pick_market()
        rules = self._rules(market)
        if not rules.tradable:
            raise Refused(f"{market} does not take new buy orders now; choose another market.")
        reference = self._reference_price(market)
        price = (reference * DISTANCE / rules.price_step).to_integral_value(ROUND_DOWN) * \
            rules.price_step
        if price <= 0 or price > reference * FAR_ENOUGH:
            raise Refused(f"{market}'s price ({reference}) is too close to its price step "
                          f"({rules.price_step}) for an order far from the market; choose "
                          "another market.")
        size = _size(rules, price)
        value, currency, reserves = _value(rules, size, price)
        plan = Plan(target=self.target, product=self.target.product, market=market, size=size,
                    price=price, reference=reference, value=value, value_currency=currency,
                    reserves=reserves, order_text=f"t-kscheck-{secrets.token_hex(4)}",
                    price_order=self.price_orders)
        self._journal("planned", **plan.to_json())
        return plan

    def _refuse_if_busy(self) -> None:
        found = open_orders(self.client, self.target, REQUEST_TIMEOUT_S)
        if found:
            raise Refused(f"{self.target.describe().capitalize()} include "
                          f"{counted(len(found), 'open order')}; the countdown would cancel "
                          "them too. The self-check runs only on a scope with no open order. "
                          "Nothing was changed.")
        if self.price_orders:
            market = None if self.target.is_all else self.target.name
            listed = [o for o in self.client.price_orders(self.target.product, market,
                                                          REQUEST_TIMEOUT_S)
                      if o.is_open and in_scope(self.target, o.market)]
            if listed:
                raise Refused(f"{self.target.describe().capitalize()} include "
                              f"{counted(len(listed), 'price-triggered order')}; the check "
                              "could cancel them. Nothing was changed.")

    def _pick_market(self) -> str:
        target, client = self.target, self.client
        if target.kind in (ScopeKind.PAIR, ScopeKind.CONTRACT):
            return target.name
        if target.product is Product.SPOT:
            pairs = [p for p in client.spot_pairs(REQUEST_TIMEOUT_S)
                     if p.trade_status in ("tradable", "buyable")]
            return _prefer([p.id for p in pairs], ("BTC_USDT", "ETH_USDT"), "a spot pair")
        if target.settle is not None:
            contracts = [c.name for c in client.futures_contracts(target.settle,
                                                                    REQUEST_TIMEOUT_S)
                         if not c.delisting and c.status in ("trading", "")]
            return _prefer(contracts, ("BTC_USDT", "ETH_USDT", "BTC_USD"), "a futures contract")
        underlying = target.name if target.kind is ScopeKind.UNDERLYING else _prefer(
            [u.name for u in client.option_underlyings(REQUEST_TIMEOUT_S)],
            ("BTC_USDT", "ETH_USDT"), "an option underlying")
        # The nearest expiry at least a day away, so the contract cannot expire during the
        # check; the strike nearest the money, whose book is the most likely to have a bid.
        now_s = client.server_now()
        calls = [c for c in client.option_contracts(underlying, REQUEST_TIMEOUT_S)
                 if c.expiration_time > now_s + 86400 and c.is_call]
        if not calls:
            raise Refused(f"{underlying} has no option contract to place a test order on.")
        soonest = min(c.expiration_time for c in calls)
        chosen = sorted((c for c in calls if c.expiration_time == soonest),
                        key=lambda c: _strike(c.strike))
        return chosen[len(chosen) // 2].name

    def _rules(self, market: str) -> MarketRules:
        product = self.target.product
        if product is Product.SPOT:
            return self.client.spot_rules(market, REQUEST_TIMEOUT_S)
        if product is Product.OPTIONS:
            return self.client.option_rules(market, REQUEST_TIMEOUT_S)
        assert product.settle is not None
        return self.client.futures_rules(product.settle, market, REQUEST_TIMEOUT_S)

    def _reference_price(self, market: str) -> Decimal:
        product = self.target.product
        if product is Product.SPOT:
            ticker = self.client.spot_ticker(market, REQUEST_TIMEOUT_S)
        elif product is Product.OPTIONS:
            ticker = self.client.option_ticker(market, REQUEST_TIMEOUT_S)
        else:
            assert product.settle is not None
            ticker = self.client.futures_ticker(product.settle, market, REQUEST_TIMEOUT_S)
        for price in (ticker.bid, ticker.mark, ticker.last):
            if price is not None:
                return price
        raise Refused(f"{market} has no bid, mark or last price to stay far from.")

    # ------------------------------------------------------------------ placing and watching

    def run(self, plan: Plan) -> Report:
        report = Report(Outcome.ERROR, self.target, plan=plan)
        work = _Work()
        try:
            self._check_stop()
            self._refuse_if_busy()  # again: time passed while the plan was confirmed
            self._place(plan, report, work)
            self._check_stop()
            self._arm(report, work)
            self._watch(plan, report, work)
        except Refused as exc:
            report.outcome, report.message = Outcome.REFUSED, str(exc)
        except _Stopped:
            report.outcome = Outcome.STOPPED
            report.message = "Stopped before the check finished; no answer."
        except GateError as exc:
            report.outcome = Outcome.ERROR
            report.message = f"The check could not finish: {exc}"
        finally:
            self._clean_up(plan, report, work)
            self._journal("finished", outcome=report.outcome.value, **{
                k: v for k, v in report.to_json().items() if k not in ("outcome", "plan")})
        return report

    def _place(self, plan: Plan, report: Report, work: _Work) -> None:
        work.order_tried = True
        self._say(f"Placing the test order: buy {plan.size_words} {plan.market} at "
                  f"{plain(plan.price)} (post-only)…")
        self._journal("placing", market=plan.market, size=plain(plan.size),
                      price=plain(plan.price), order_text=plan.order_text)
        order = self.client.place_order(plan.product, plan.market, buy=True, size=plan.size,
                                        price=plan.price, tif="poc",
                                        order_text=plan.order_text,
                                        request_timeout=REQUEST_TIMEOUT_S)
        work.order = order
        report.order_id = order.id
        report.placed_at_ms = self._server_ms()
        self._journal("placed", order_id=order.id, status=order.status)
        if not order.is_open:
            work.order_done = True
            raise _Failed(f"Gate did not let the test order rest (status {order.status}, "
                          f"finished as {order.finish_as or 'nothing said'}).")
        if plan.price_order:
            work.price_tried = True
            self._say("Placing the price-triggered test order…")
            work.price_id = self.client.place_price_order(
                plan.product, plan.market, trigger_price=plan.price, trigger_below=True,
                buy=True, size=plan.size, price=plan.price, order_text=plan.order_text,
                request_timeout=REQUEST_TIMEOUT_S)
            report.price_order_id = work.price_id
            self._journal("price_order_placed", order_id=work.price_id)

    def _arm(self, report: Report, work: _Work) -> None:
        work.arm_tried = True
        self._say(f"Arming a {COUNTDOWN_S}-second countdown on {self.target}; no beat will "
                  "follow…")
        ack = self.client.countdown(self.target, COUNTDOWN_S, request_timeout=REQUEST_TIMEOUT_S)
        report.trigger_time_ms = ack.trigger_time_ms
        work.watch_until = ack.deadline_mono + self.grace_s
        self._journal("armed", trigger_time_ms=ack.trigger_time_ms)

    def _watch(self, plan: Plan, report: Report, work: _Work) -> None:
        assert work.order is not None and report.trigger_time_ms is not None
        self._say(f"Watching the order until Gate cancels it (at most {self.grace_s:g} s past "
                  "triggerTime)…")
        while True:
            self._check_stop()
            state = self.client.get_order(plan.product, plan.market, work.order.id,
                                          REQUEST_TIMEOUT_S)
            if not state.is_open:
                break
            if self._mono() > work.watch_until:
                report.outcome = Outcome.FAIL
                report.message = (f"the countdown did not cancel the test order: still open "
                                  f"{self.grace_s:g} s after triggerTime.")
                self._journal("not_cancelled", order_id=work.order.id)
                return
            if self.stop.wait(self.poll_s):
                raise _Stopped
        work.order_done = True
        report.seen_cancelled_ms = self._server_ms()
        report.gate_finish_ms = state.finish_ms
        self._journal("order_ended", status=state.status, finish_as=state.finish_as,
                      gate_finish_ms=state.finish_ms, seen_ms=report.seen_cancelled_ms)
        if not state.cancelled:
            report.outcome = Outcome.ERROR
            report.message = (f"the test order ended as {state.finish_as or state.status}, "
                              "not cancelled: it was not the countdown's doing.")
            return
        ended = state.finish_ms if state.finish_ms is not None else report.seen_cancelled_ms
        if ended < report.trigger_time_ms - EARLY_SLACK_MS:
            report.outcome = Outcome.FAIL
            report.message = ("the test order was cancelled before triggerTime: something "
                              "other than the countdown cancelled it; no answer.")
            return
        report.outcome = Outcome.PASS
        report.message = (f"Gate's countdown cancelled the test order on {self.target} "
                          f"({report.delay_ms or 0:+d} ms after triggerTime, as seen).")
        if work.price_id:
            report.price_order_cancelled = self._price_order_followed(plan, report, work)

    def _price_order_followed(self, plan: Plan, report: Report, work: _Work) -> bool | None:
        """Whether the countdown cancelled the price-triggered order; None when it ended some
        other way (it triggered: the answer is unknown)."""
        end = self._mono() + PRICE_ORDER_FOLLOW_S
        while True:
            state = self.client.get_price_order(plan.product, work.price_id, REQUEST_TIMEOUT_S)
            if not state.is_open:
                work.price_done = True
                self._journal("price_order_ended", status=state.status,
                              finish_as=state.finish_as)
                if state.cancelled:
                    return True
                report.message += (f" The price-triggered order ended as "
                                   f"{state.finish_as or state.status}, not cancelled: no "
                                   "answer about price-triggered orders.")
                return None
            if self._mono() > end:
                self._journal("price_order_survived", order_id=work.price_id)
                return False
            if self.stop.wait(self.poll_s):
                raise _Stopped

    # ------------------------------------------------------------------ cleaning up

    def _clean_up(self, plan: Plan, report: Report, work: _Work) -> None:
        """Leave nothing: the order, the price-triggered order, the countdown. Never asks
        ``stop``: a stop is why this may be running."""
        if work.order_tried and not work.order_done:
            self._retry(report, "cancel the test order", lambda: self._remove_order(plan, work),
                        f"the test order {work.order.id if work.order else plan.order_text} "
                        f"on {plan.market}")
        if work.price_tried and not work.price_done:
            self._retry(report, "cancel the price-triggered test order",
                        lambda: self._remove_price_order(plan, work),
                        f"the price-triggered order {work.price_id or plan.order_text} on "
                        f"{plan.market}")
        if work.arm_tried:
            def disarm() -> str:
                self.client.countdown(self.target, 0, request_timeout=REQUEST_TIMEOUT_S)
                return f"ended the countdown on {self.target} (timeout 0)"
            self._retry(report, "end the countdown", disarm,
                        f"the countdown on {self.target} may still be armed")

    def _retry(self, report: Report, doing: str, step: Callable[[], str], left: str) -> None:
        last = ""
        for attempt in range(CLEANUP_TRIES):
            try:
                done = step()
            except GateError as exc:
                last = str(exc)
                self._journal("cleanup_failed", doing=doing, attempt=attempt + 1, error=last)
                threading.Event().wait(0.5 * (attempt + 1))
                continue
            if done:
                report.cleanup.append(done)
                self._journal("cleanup", done=done)
            return
        report.left_behind.append(f"{left} (could not {doing}: {last})")
        self._journal("left_behind", what=left, error=last)

    def _remove_order(self, plan: Plan, work: _Work) -> str:
        if work.order is None:
            # Placing got no answer: find the order by its own text.
            found = self.client.orders_with_text(plan.product, plan.market, plan.order_text,
                                                 REQUEST_TIMEOUT_S)
            for order in found:
                self.client.cancel_order(plan.product, plan.market, order.id, REQUEST_TIMEOUT_S)
            work.order_done = True
            return (f"cancelled the test order {found[0].id}" if found
                    else "no test order had been placed")
        answer = self.client.cancel_order(plan.product, plan.market, work.order.id,
                                          REQUEST_TIMEOUT_S)
        if answer is None:
            state = self.client.get_order(plan.product, plan.market, work.order.id,
                                          REQUEST_TIMEOUT_S)
            if state.is_open:
                raise _StillOpen(f"order {work.order.id} is still open")
            work.order_done = True
            return ""
        work.order_done = True
        return f"cancelled the test order {work.order.id}"

    def _remove_price_order(self, plan: Plan, work: _Work) -> str:
        if not work.price_id:
            found = [o for o in self.client.price_orders(plan.product, plan.market,
                                                         REQUEST_TIMEOUT_S)
                     if o.text == plan.order_text and o.is_open]
            for order in found:
                self.client.cancel_price_order(plan.product, order.id, REQUEST_TIMEOUT_S)
            work.price_done = True
            return (f"cancelled the price-triggered test order {found[0].id}" if found
                    else "no price-triggered test order had been placed")
        removed = self.client.cancel_price_order(plan.product, work.price_id, REQUEST_TIMEOUT_S)
        work.price_done = True
        return (f"cancelled the price-triggered test order {work.price_id}" if removed
                else "")

    # ------------------------------------------------------------------ helpers

    def _say(self, text: str) -> None:
        """Progress for a person; a display that fails (a closed pipe, a deleted dialog) must
        never stop the check or its cleanup."""
        if self._progress is None:
            return
        try:
            self._progress(text)
        except Exception:  # any display failure: the check goes on
            log.debug("The self-check's progress could not be shown.", exc_info=True)

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise _Stopped

    def _server_ms(self) -> int:
        return int(self.client.server_now() * 1000)

    def _journal(self, step: str, **fields: object) -> None:
        if self.journal is not None:
            self.journal.write("selfcheck", **{"step": step, "target": str(self.target),
                                                **fields})


class _Failed(GateError):
    """The exchange answered, but not as the check needs: reported as an error."""


class _StillOpen(GateError):
    retryable = True


@dataclass
class _Work:
    """What has been sent so far, for the cleanup."""

    order_tried: bool = False
    order: OrderState | None = None
    order_done: bool = False
    price_tried: bool = False
    price_id: str = ""
    price_done: bool = False
    arm_tried: bool = False
    watch_until: float = 0.0


def _strike(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


def _prefer(names: list[str], preferred: tuple[str, ...], what: str) -> str:
    for name in preferred:
        if name in names:
            return name
    if not names:
        raise Refused(f"The exchange lists no {what} that takes orders now.")
    return sorted(names)[0]


def _size(rules: MarketRules, price: Decimal) -> Decimal:
    """The smallest size the market accepts at ``price``."""
    size = rules.min_size
    if rules.min_value > 0:
        size = max(size, rules.min_value / (price * rules.multiplier))
    steps = (size / rules.size_step).to_integral_value(ROUND_UP)
    return max(steps, Decimal(1)) * rules.size_step


def _value(rules: MarketRules, size: Decimal, price: Decimal) -> tuple[Decimal, str, str]:
    """(value, its currency, what the order reserves while it rests)."""
    if rules.product is Product.SPOT:
        value = (size * price).normalize()
        return value, rules.quote, f"{value} {rules.quote} of the spot balance while it rests"
    if rules.product is Product.OPTIONS:
        value = (size * price * rules.multiplier).normalize()
        return value, "USDT", (f"about {value} USDT (the premium) of the options account as "
                               "order margin while it rests")
    settle = rules.product.settle or ""
    if rules.inverse:
        value = (size * rules.multiplier / price).quantize(Decimal("0.00000001"))
        currency = "BTC"
    else:
        value = (size * price * rules.multiplier).normalize()
        currency = "USDT"
    return value, currency, (f"order margin of {value} {currency} divided by your leverage on "
                             f"{rules.market}, in the {settle.upper()} futures account, while it "
                             "rests")
