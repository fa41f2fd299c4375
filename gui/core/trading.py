"""Gate's trading endpoints a self-check needs: tickers, market rules, one order at a time, and
price-triggered orders (spot and futures).

:class:`TradingEndpoints` is part of :class:`gui.core.client.GateClient`, like the futures
endpoints. Gate's shapes, per product:

- Tickers: ``GET /spot/tickers?currency_pair=`` (``highest_bid``, ``lowest_ask``, ``last``),
  ``GET /options/tickers?underlying=`` (``bid1_price``, ``ask1_price``, ``mark_price`` per
  ``name``), ``GET /futures/{settle}/tickers?contract=`` (``highest_bid``, ``lowest_ask``,
  ``mark_price``).
- Rules: a spot pair's ``precision`` (price decimals), ``amount_precision``,
  ``min_base_amount`` and ``min_quote_amount``; an option or futures contract's
  ``order_price_round``, ``order_size_min`` and multiplier.
- Orders: ``POST /spot/orders`` (``time_in_force``), ``POST /options/orders`` and
  ``POST /futures/{settle}/orders`` (``tif``, signed ``size``); one order is read and cancelled
  at ``…/orders/{id}`` (spot also names ``currency_pair``). A spot order ends ``closed``
  (filled) or ``cancelled``; an option or futures order ends ``finished`` with ``finish_as``.
- Price-triggered orders: ``/spot/price_orders`` (``market``, ``trigger`` {price, rule ``>=`` or
  ``<=``, expiration}, ``put`` {the order}) and ``/futures/{settle}/price_orders`` (``initial``
  {the order}, ``trigger`` {price, rule 1 ``>=`` or 2 ``<=``}). Options have none.

Sizes and prices travel as decimal strings, read with :class:`~decimal.Decimal`, never floats.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from gui.core.answers import check_name, expect, text
from gui.core.errors import BadParameterError, BadResponseError, InvalidInputError
from gui.core.futures import check_settle
from gui.core.targets import Product, is_contract, is_futures_contract, is_pair

# Gate's rule for an order's own text: "t-" and at most 28 more characters.
MAX_ORDER_TEXT = 30
# The largest page of price-triggered orders Gate returns.
PRICE_ORDER_PAGE = 100


@dataclass(frozen=True)
class Ticker:
    market: str
    bid: Decimal | None  # None when the book has no bid
    ask: Decimal | None
    last: Decimal | None
    mark: Decimal | None = None


@dataclass(frozen=True)
class MarketRules:
    """What an order on one market must respect."""

    product: Product
    market: str
    price_step: Decimal  # prices are whole multiples of this
    size_step: Decimal  # spot: base amount step; contracts: 1
    min_size: Decimal  # spot: base amount; contracts: contracts
    min_value: Decimal  # spot: min_quote_amount; contracts: 0
    multiplier: Decimal  # underlying per contract; 1 for spot
    quote: str  # what a price is written in (spot quote; USDT; USD for BTC-settled)
    tradable: bool
    inverse: bool = False  # BTC-settled futures: value = size × multiplier / price, in BTC


@dataclass(frozen=True)
class OrderState:
    """One order as the exchange answered it."""

    id: str
    market: str
    status: str  # Gate's word: open, closed, cancelled, finished
    finish_as: str  # "" when Gate gave none
    finish_ms: int | None  # Gate's own time the order ended, if it gave one
    text: str

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def cancelled(self) -> bool:
        """Ended without a fill: ``cancelled`` for spot, ``finished`` as cancelled otherwise."""
        if self.status == "cancelled":
            return True
        return self.status == "finished" and self.finish_as == "cancelled"


@dataclass(frozen=True)
class PriceOrderState:
    id: str
    market: str
    status: str  # spot: open, cancelled, finish, failed, expired; futures: open, finished, …
    finish_as: str
    text: str = ""

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def cancelled(self) -> bool:
        """Ended without triggering: spot ``cancelled``; futures ``finished`` as cancelled."""
        return self.status == "cancelled" or (self.status == "finished"
                                              and self.finish_as == "cancelled")


def decimal_of(value: object, what: str, *, allow_empty: bool = False) -> Decimal | None:
    """A finite decimal from Gate's string or number; None for "" when ``allow_empty``."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        if allow_empty:
            return None
        raise BadResponseError(f"The answer for {what} has no number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadResponseError(f"The answer for {what} has {str(value)[:30]!r}, not a number."
                               ) from None
    if not number.is_finite():
        raise BadResponseError(f"The answer for {what} has a number that is not finite.")
    return number


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def _ticker(data: object, market: str, key: str, what: str, *, bid: str, ask: str, last: str,
            mark: str | None = None) -> Ticker:
    """The ticker of ``market`` in a list of tickers, each product with Gate's names for its
    fields (``key`` names the market); a price that is empty or not above 0 is no price."""
    def price(obj: dict[str, Any], field: str, words: str) -> Decimal | None:
        return _positive(decimal_of(obj.get(field), words, allow_empty=True))

    for item in expect(data, list, what):
        obj = expect(item, dict, what)
        if obj.get(key) == market:
            return Ticker(market=market, bid=price(obj, bid, "the bid"),
                          ask=price(obj, ask, "the ask"), last=price(obj, last, "the last price"),
                          mark=price(obj, mark, "the mark price") if mark else None)
    raise BadResponseError(f"The exchange sent no ticker for {market}.")


def _time_ms(value: object, *, seconds: bool) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    return int(number * 1000) if seconds else int(number)


def check_order_text(tag: str) -> str:
    if not (tag.startswith("t-") and 2 < len(tag) <= MAX_ORDER_TEXT and tag.isascii()
            and all(c.isalnum() or c in "-_." for c in tag)):
        raise InvalidInputError(f"{tag!r:.40} is not an order text in Gate's form (t-…, at most "
                                f"{MAX_ORDER_TEXT} characters).")
    return tag


def _order_state(obj: Mapping[str, Any], market_key: str, what: str) -> OrderState:
    finish = _time_ms(obj.get("update_time_ms"), seconds=False) if "currency_pair" in obj \
        else _time_ms(obj.get("finish_time"), seconds=True)
    status = str(obj.get("status", ""))
    return OrderState(id=text(obj, "id", what), market=str(obj.get(market_key, "")),
                      status=status, finish_as=str(obj.get("finish_as", "") or ""),
                      finish_ms=finish if status != "open" else None,
                      text=str(obj.get("text", "") or ""))


def _price_order_state(product: Product, obj: Mapping[str, Any]) -> PriceOrderState:
    order = obj.get("put" if product is Product.SPOT else "initial")
    order = order if isinstance(order, dict) else {}
    name = obj.get("market") if product is Product.SPOT else order.get("contract")
    return PriceOrderState(id=text(obj, "id", "the price order"), market=str(name or ""),
                           status=str(obj.get("status", "")),
                           finish_as=str(obj.get("finish_as", "") or ""),
                           text=str(order.get("text", "") or ""))


class TradingEndpoints:
    """Tickers, rules, single orders and price-triggered orders; needs the client's
    ``_request``."""

    if TYPE_CHECKING:
        def _request(self, method: str, path: str, *,
                     params: Sequence[tuple[str, str]] = (),
                     body: Mapping[str, object] | None = None, signed: bool = False,
                     timeout: float | None = None, _clock_retry: bool = True) -> Any: ...

    # ------------------------------------------------------------------ tickers and rules

    def spot_ticker(self, pair: str, timeout: float | None = None) -> Ticker:
        check_name("spot pair", pair, is_pair, "BTC_USDT")
        data = self._request("GET", "/spot/tickers", params=[("currency_pair", pair)],
                             timeout=timeout)
        return _ticker(data, pair, "currency_pair", "the spot ticker", bid="highest_bid",
                       ask="lowest_ask", last="last")

    def option_ticker(self, contract: str, timeout: float | None = None) -> Ticker:
        check_name("option contract", contract, is_contract, "BTC_USDT-20241001-46000-C")
        underlying = contract.split("-")[0]
        data = self._request("GET", "/options/tickers", params=[("underlying", underlying)],
                             timeout=timeout)
        return _ticker(data, contract, "name", "the option tickers", bid="bid1_price",
                       ask="ask1_price", last="last_price", mark="mark_price")

    def futures_ticker(self, settle: str, contract: str, timeout: float | None = None) -> Ticker:
        check_settle(settle)
        check_name("futures contract", contract, lambda n: is_futures_contract(settle, n),
                   "BTC_USDT")
        data = self._request("GET", f"/futures/{settle}/tickers",
                             params=[("contract", contract)], timeout=timeout)
        return _ticker(data, contract, "contract", "the futures ticker", bid="highest_bid",
                       ask="lowest_ask", last="last", mark="mark_price")

    def spot_rules(self, pair: str, timeout: float | None = None) -> MarketRules:
        check_name("spot pair", pair, is_pair, "BTC_USDT")
        what = f"the spot pair {pair}"
        obj = expect(self._request("GET", f"/spot/currency_pairs/{pair}", timeout=timeout),
                     dict, what)
        precision = obj.get("precision")
        amount_precision = obj.get("amount_precision")
        if not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 30
                   for p in (precision, amount_precision)):
            raise BadResponseError(f"The answer for {what} has no usable precision.")
        assert isinstance(precision, int) and isinstance(amount_precision, int)
        min_base = decimal_of(obj.get("min_base_amount"), what, allow_empty=True) or Decimal(0)
        min_quote = decimal_of(obj.get("min_quote_amount"), what, allow_empty=True) or Decimal(0)
        return MarketRules(
            product=Product.SPOT, market=pair, price_step=Decimal(1).scaleb(-precision),
            size_step=Decimal(1).scaleb(-amount_precision), min_size=max(min_base, Decimal(0)),
            min_value=max(min_quote, Decimal(0)), multiplier=Decimal(1),
            quote=str(obj.get("quote", "")),
            tradable=obj.get("trade_status") in ("tradable", "buyable"))

    def option_rules(self, contract: str, timeout: float | None = None) -> MarketRules:
        check_name("option contract", contract, is_contract, "BTC_USDT-20241001-46000-C")
        what = f"the option contract {contract}"
        obj = expect(self._request("GET", f"/options/contracts/{contract}", timeout=timeout),
                     dict, what)
        return self._contract_rules(Product.OPTIONS, contract, obj, "multiplier", what,
                                    quote="USDT")

    def futures_rules(self, settle: str, contract: str, timeout: float | None = None
                      ) -> MarketRules:
        check_settle(settle)
        check_name("futures contract", contract, lambda n: is_futures_contract(settle, n),
                   "BTC_USDT")
        what = f"the futures contract {contract}"
        obj = expect(self._request("GET", f"/futures/{settle}/contracts/{contract}",
                                   timeout=timeout), dict, what)
        product = Product.FUTURES_USDT if settle == "usdt" else Product.FUTURES_BTC
        rules = self._contract_rules(product, contract, obj, "quanto_multiplier", what,
                                     quote="USDT" if settle == "usdt" else "USD")
        status = str(obj.get("status", "") or "trading")
        return dataclasses.replace(rules, inverse=obj.get("type") == "inverse",
                                   tradable=status == "trading" and not obj.get("in_delisting"))

    @staticmethod
    def _contract_rules(product: Product, name: str, obj: Mapping[str, Any], mult_key: str,
                        what: str, *, quote: str) -> MarketRules:
        step = _positive(decimal_of(obj.get("order_price_round"), what))
        minimum = _positive(decimal_of(obj.get("order_size_min", 1), what))
        multiplier = _positive(decimal_of(obj.get(mult_key), what, allow_empty=True))
        if step is None or minimum is None:
            raise BadResponseError(f"The answer for {what} has no usable price step or size.")
        return MarketRules(product=product, market=name, price_step=step, size_step=Decimal(1),
                           min_size=minimum, min_value=Decimal(0),
                           multiplier=multiplier or Decimal(1), quote=quote, tradable=True)

    # ------------------------------------------------------------------ one order

    def place_order(self, product: Product, market: str, *, buy: bool, size: Decimal,
                    price: Decimal, tif: str, order_text: str,
                    request_timeout: float | None = None) -> OrderState:
        """Place one limit order (``size`` base amount for spot, contracts otherwise)."""
        check_order_text(order_text)
        if tif not in ("gtc", "poc", "ioc"):
            raise InvalidInputError(f"{tif!r} is not a time in force this client sends.")
        if not (size > 0 and price > 0):
            raise InvalidInputError("An order needs a positive size and price.")
        path, body, key = self._order_request(product, market)
        if product is Product.SPOT:
            body.update(side="buy" if buy else "sell", amount=_dec(size), price=_dec(price),
                        type="limit", time_in_force=tif, text=order_text)
        else:
            signed = size if buy else -size
            body.update(size=int(signed) if product is Product.OPTIONS else _dec(signed),
                        price=_dec(price), tif=tif, text=order_text)
        data = self._request("POST", path, body=body, signed=True, timeout=request_timeout)
        return _order_state(expect(data, dict, "the new order"), key, "the new order")

    def get_order(self, product: Product, market: str, order_id: str,
                  request_timeout: float | None = None) -> OrderState:
        path, params, key = self._one_order(product, market, order_id)
        data = self._request("GET", path, params=params, signed=True, timeout=request_timeout)
        return _order_state(expect(data, dict, "the order"), key, "the order")

    def cancel_order(self, product: Product, market: str, order_id: str,
                     request_timeout: float | None = None) -> OrderState | None:
        """Cancel one order; None when Gate has no open order by that id (already ended)."""
        path, params, key = self._one_order(product, market, order_id)
        try:
            data = self._request("DELETE", path, params=params, signed=True,
                                 timeout=request_timeout)
        except BadParameterError as exc:
            if exc.label == "ORDER_NOT_FOUND" or exc.status == 404:
                return None
            raise
        return _order_state(expect(data, dict, "the cancelled order"), key, "the cancel")

    def orders_with_text(self, product: Product, market: str, order_text: str,
                         request_timeout: float | None = None) -> list[OrderState]:
        """The open orders on ``market`` whose text is ``order_text``: how an order whose
        placing had no answer is found again."""
        check_order_text(order_text)
        path, _body, key = self._order_request(product, market)
        params = ([("currency_pair", market), ("status", "open"), ("limit", "100")]
                  if product is Product.SPOT
                  else [("status", "open"), ("contract", market), ("limit", "100")])
        data = self._request("GET", path, params=params, signed=True, timeout=request_timeout)
        found = [_order_state(expect(o, dict, "open orders"), key, "open orders")
                 for o in expect(data, list, "open orders")]
        return [o for o in found if o.text == order_text and o.is_open]

    def _order_request(self, product: Product, market: str
                       ) -> tuple[str, dict[str, object], str]:
        if product is Product.SPOT:
            check_name("spot pair", market, is_pair, "BTC_USDT")
            return "/spot/orders", {"currency_pair": market}, "currency_pair"
        if product is Product.OPTIONS:
            check_name("option contract", market, is_contract, "BTC_USDT-20241001-46000-C")
            return "/options/orders", {"contract": market}, "contract"
        settle = check_settle(product.settle or "")
        check_name("futures contract", market, lambda n: is_futures_contract(settle, n),
                   "BTC_USDT")
        return f"/futures/{settle}/orders", {"contract": market}, "contract"

    def _one_order(self, product: Product, market: str, order_id: str
                   ) -> tuple[str, list[tuple[str, str]], str]:
        if not (order_id.isascii() and order_id.isdigit() and len(order_id) <= 24):
            raise InvalidInputError(f"{order_id!r:.30} is not an order id.")
        path, _body, key = self._order_request(product, market)
        params = [("currency_pair", market)] if product is Product.SPOT else []
        return f"{path}/{order_id}", params, key

    # ------------------------------------------------------------------ price-triggered

    def place_price_order(self, product: Product, market: str, *, trigger_price: Decimal,
                          trigger_below: bool, buy: bool, size: Decimal, price: Decimal,
                          order_text: str, request_timeout: float | None = None) -> str:
        """Place one price-triggered limit order; its id. It fires when the price reaches
        ``trigger_price`` from above (``trigger_below``) or below."""
        check_order_text(order_text)
        path = self._price_orders_path(product, market)
        if product is Product.SPOT:
            body: dict[str, object] = {
                "market": market,
                "trigger": {"price": _dec(trigger_price), "rule": "<=" if trigger_below else ">=",
                            "expiration": 86400},
                "put": {"type": "limit", "side": "buy" if buy else "sell", "price": _dec(price),
                        "amount": _dec(size), "account": "normal", "time_in_force": "gtc",
                        "text": order_text}}
        else:
            body = {
                "initial": {"contract": market, "size": _dec(size if buy else -size),
                            "price": _dec(price), "tif": "gtc", "text": order_text},
                "trigger": {"strategy_type": 0, "price_type": 0, "price": _dec(trigger_price),
                            "rule": 2 if trigger_below else 1, "expiration": 86400}}
        data = expect(self._request("POST", path, body=body, signed=True,
                                    timeout=request_timeout), dict, "the new price order")
        return text(data, "id", "the new price order")

    def price_orders(self, product: Product, market: str | None = None,
                     request_timeout: float | None = None) -> list[PriceOrderState]:
        """Open price-triggered orders of a product, or of one market of it."""
        path = self._price_orders_path(product, market)
        key = "market" if product is Product.SPOT else "contract"
        params = [("status", "open"), ("limit", str(PRICE_ORDER_PAGE))]
        if market:
            params.append((key, market))
        data = self._request("GET", path, params=params, signed=True, timeout=request_timeout)
        return [_price_order_state(product, expect(item, dict, "price orders"))
                for item in expect(data, list, "price orders")]

    def get_price_order(self, product: Product, order_id: str,
                        request_timeout: float | None = None) -> PriceOrderState:
        path = self._one_price_order(product, order_id)
        return _price_order_state(product, expect(
            self._request("GET", path, signed=True, timeout=request_timeout), dict,
            "the price order"))

    def cancel_price_order(self, product: Product, order_id: str,
                           request_timeout: float | None = None) -> bool:
        """Cancel one price-triggered order; False when Gate has no open one by that id."""
        path = self._one_price_order(product, order_id)
        try:
            self._request("DELETE", path, signed=True, timeout=request_timeout)
        except BadParameterError as exc:
            if exc.label == "ORDER_NOT_FOUND" or exc.status == 404:
                return False
            raise
        return True

    def _price_orders_path(self, product: Product, market: str | None) -> str:
        if product is Product.SPOT:
            check_name("spot pair", market, is_pair, "BTC_USDT")
            return "/spot/price_orders"
        if product is Product.OPTIONS:
            raise InvalidInputError("Gate has no price-triggered orders for options.")
        settle = check_settle(product.settle or "")
        check_name("futures contract", market, lambda n: is_futures_contract(settle, n),
                   "BTC_USDT")
        return f"/futures/{settle}/price_orders"

    def _one_price_order(self, product: Product, order_id: str) -> str:
        if not (order_id.isascii() and order_id.isdigit() and len(order_id) <= 24):
            raise InvalidInputError(f"{order_id!r:.30} is not an order id.")
        return f"{self._price_orders_path(product, None)}/{order_id}"


def _dec(value: Decimal) -> str:
    """A decimal as Gate writes it: plain, no exponent, no trailing zeros."""
    text_form = format(value.normalize(), "f")
    return "0" if text_form in ("-0", "") else text_form
