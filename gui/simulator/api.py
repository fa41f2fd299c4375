"""The routing and endpoint stages: Gate's APIv4 over one :class:`Exchange`.

:func:`find_route` maps a method and a path below ``/api/v4`` to its :class:`Route`; once the
request has passed authentication, permissions and the rate limit, the route's :class:`Api`
method validates it and returns the JSON to answer, or raises :class:`ApiError` in Gate's error
shape. The request object and the validation helpers the other stages use live here too.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from gui.simulator import tickers
from gui.simulator.exchange import (
    MAX_TIMEOUT_S,
    MIN_TIMEOUT_S,
    OPTIONS_BALANCE,
    SIM_USER_ID,
    SPOT_BALANCES,
    Exchange,
    decimal_text,
)
from gui.simulator.futures import FUTURES_LIST_LIMIT, SETTLES
from gui.simulator.trading import (
    Book,
    Refused,
    check_post_only,
    futures_price_scopes,
    spot_price_scopes,
)

API_PREFIX = "/api/v4"
CONTROL_PREFIX = "/_sim"


# ---------------------------------------------------------------------------------------------
# Errors, requests, validation helpers
# ---------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An answer in Gate's error shape: ``{"label": ..., "message": ...}``."""

    def __init__(self, status: int, label: str, message: str) -> None:
        super().__init__(f"{status} {label}: {message}")
        self.status = status
        self.label = label
        self.message = message


def bad_value(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAM_VALUE", message)


def _missing(name: str) -> ApiError:
    return ApiError(400, "MISSING_REQUIRED_PARAM", f"missing required parameter: {name}")


def is_int(value: object) -> bool:
    # bool is an int subclass in Python, but true/false is not a number of seconds.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class ApiRequest:
    method: str
    raw_path: str  # as received, with the /api/v4 prefix: what the signature covers
    path: str  # below the prefix
    raw_query: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]  # lower-case names
    client_ip: str
    params: dict[str, str] = field(default_factory=dict)  # from the path template

    def json_object(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body.decode("utf-8")) if self.body.strip() else None
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise ApiError(400, "INVALID_REQUEST_BODY", "request body must be a JSON object")
        return data

    def optional_query(self, name: str) -> str | None:
        value = self.query.get(name)
        return value if value else None

    def required_query(self, name: str) -> str:
        value = self.query.get(name)
        if not value:
            raise _missing(name)
        return value


def _optional_name(body: dict[str, Any], name: str) -> str | None:
    """A scope field of a body: absent, null and "" all mean "not given"."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_value(f"{name} must be a string")
    return value


def _required_name(body: dict[str, Any], name: str, label: str | None = None) -> str:
    """A name field a body must give (``label``: how the error names it)."""
    value = _optional_name(body, name)
    if value is None:
        raise _missing(label or name)
    return value


def _positive_decimal(body: dict[str, Any], name: str) -> Decimal:
    if body.get(name) is None:
        raise _missing(name)
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad_value(f"{name} must be a decimal string")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise bad_value(f"{name} is not a decimal: {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise bad_value(f"{name} must be positive: {value!r}")
    return number


def _order_text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if text is None or text == "":
        return "apiv4"
    # Gate's rule for a custom order id: "t-" and at most 28 characters after it.
    if not isinstance(text, str) or not text.startswith("t-") or len(text) > 30:
        raise bad_value("text must start with 't-' and be at most 30 characters")
    return text


def _page(req: ApiRequest, *, default_limit: int = 100) -> tuple[int, int]:
    """(offset, limit) from Gate's page/offset and limit parameters."""
    try:
        limit = int(req.query.get("limit") or default_limit)
        if "offset" in req.query:
            offset = int(req.query["offset"] or 0)
        else:
            offset = (int(req.query.get("page") or 1) - 1) * limit
    except ValueError:
        raise bad_value("limit, page and offset must be integers") from None
    if not 1 <= limit <= 1000 or offset < 0:
        raise bad_value("limit must be 1-1000, page and offset not negative")
    return offset, limit


def _countdown_timeout(body: dict[str, Any]) -> int:
    if body.get("timeout") is None:
        raise _missing("timeout")
    timeout = body["timeout"]
    if not is_int(timeout):
        raise bad_value("timeout must be an integer number of seconds")
    if timeout != 0 and not MIN_TIMEOUT_S <= timeout <= MAX_TIMEOUT_S:
        raise bad_value(f"timeout must be 0 or between {MIN_TIMEOUT_S} and {MAX_TIMEOUT_S}")
    return int(timeout)


_FUTURES_PATH = re.compile(r"^/futures/(usdt|btc)(/.*)$")


# The size fields of Gate's futures answers (orders, contracts).
_SIZE_FIELDS = frozenset({"size", "left", "iceberg", "order_size_min", "order_size_max",
                          "trade_size", "position_size"})


def _integer_sizes(data: Any) -> Any:
    """``data`` with every whole-number size string as a JSON integer."""
    if isinstance(data, list):
        return [_integer_sizes(item) for item in data]
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name in _SIZE_FIELDS & out.keys():
        value = out[name]
        if isinstance(value, str):
            with contextlib.suppress(InvalidOperation):
                number = Decimal(value)
                if number.is_finite() and number == number.to_integral_value():
                    out[name] = int(number)
    return out


def _sized(handler: Callable[[Api, ApiRequest], Any]) -> Callable[[Api, ApiRequest], Any]:
    """A futures endpoint that writes sizes as Gate does: decimal strings for a client that
    sends ``X-Gate-Size-Decimal: 1`` (the SDK and ccxt do), integers, the form before v4.106,
    for one that does not (a documented choice: Gate's docs say only that the header asks for
    decimal sizes)."""

    def answer(api: Api, req: ApiRequest) -> Any:
        data = handler(api, req)
        return data if req.headers.get("x-gate-size-decimal") == "1" else _integer_sizes(data)

    return answer


def _futures_size(body: dict[str, Any]) -> Decimal:
    """A futures size: a decimal string (an integer from older clients), non-zero, whole
    contracts (the simulated contracts do not enable decimal sizes); negative sells."""
    if body.get("size") is None:
        raise _missing("size")
    value = body["size"]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise bad_value("size must be a string of a whole number of contracts")
    try:
        size = Decimal(str(value).strip())
    except InvalidOperation:
        raise bad_value(f"size is not a number: {value!r}") from None
    if not size.is_finite() or size == 0 or size != size.to_integral_value():
        raise bad_value("size must be a non-zero whole number of contracts (negative to sell)")
    return size


def describe_request(method: str, path: str, query: dict[str, str],
                     body: bytes) -> tuple[str | None, int | None]:
    """(scope, timeout) of a countdown or cancel-all request, for the log and fault matching.

    Lenient on purpose: it runs before validation, and a malformed request just has no scope.
    """
    futures = _FUTURES_PATH.match(path)
    if futures is not None:
        settle, rest = futures.group(1), futures.group(2)
        if method == "DELETE" and rest == "/orders":
            name = query.get("contract")
            return f"futures:{settle}:{name or 'all'}", None
        if method != "POST" or rest != "/countdown_cancel_all":
            return None, None
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None, None
        if not isinstance(data, dict):
            return None, None
        name, raw_timeout = data.get("contract"), data.get("timeout")
        timeout = raw_timeout if is_int(raw_timeout) else None
        if name is None or name == "":
            return f"futures:{settle}:all", timeout
        return (f"futures:{settle}:{name}" if isinstance(name, str) else None), timeout
    if method == "POST" and path in ("/spot/countdown_cancel_all",
                                     "/options/countdown_cancel_all"):
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None, None
        if not isinstance(data, dict):
            return None, None
        raw_timeout = data.get("timeout")
        timeout = raw_timeout if is_int(raw_timeout) else None
        if path.startswith("/spot/"):
            names = [data.get("currency_pair")]
            product = "spot"
        else:
            names = [data.get("contract"), data.get("underlying")]
            product = "options"
    elif method == "DELETE" and path == "/spot/orders":
        names, product, timeout = [query.get("currency_pair")], "spot", None
    elif method == "DELETE" and path == "/options/orders":
        names, product, timeout = [query.get("contract"), query.get("underlying")], "options", None
    else:
        return None, None
    for name in names:  # the contract wins over the underlying
        if name is None or name == "":
            continue
        return (f"{product}:{name}" if isinstance(name, str) else None), timeout
    return f"{product}:all", timeout


# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------


class Api:
    """Gate's endpoints over one :class:`Exchange`. Each returns the JSON to answer."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.markets = exchange.markets

    # -- public --------------------------------------------------------------------------------

    def spot_time(self, req: ApiRequest) -> Any:
        return {"server_time": self.exchange.server_time_ms()}

    def currency_pairs(self, req: ApiRequest) -> Any:
        return [p.to_json() for p in self.markets.spot_pairs.values()]

    def currency_pair(self, req: ApiRequest) -> Any:
        return self.markets.spot_pairs[self._pair(req.params["pair"])].to_json()

    def underlyings(self, req: ApiRequest) -> Any:
        return [u.to_json() for u in self.markets.underlyings.values()]

    def contracts(self, req: ApiRequest) -> Any:
        underlying = self._underlying(req.required_query("underlying"))
        expiration = req.optional_query("expiration")
        found = self.markets.contracts_of(underlying)
        if expiration is not None:
            try:
                wanted = int(expiration)
            except ValueError:
                raise bad_value("expiration must be a Unix time in seconds") from None
            found = [c for c in found if c.expiration_time == wanted]
        return [c.to_json() for c in found]

    def contract(self, req: ApiRequest) -> Any:
        contract = self.markets.contracts.get(req.params["contract"])
        if contract is None:
            raise ApiError(404, "NOT_FOUND", f"contract {req.params['contract']} not found")
        return contract.to_json()

    def expirations(self, req: ApiRequest) -> Any:
        underlying = self._underlying(req.required_query("underlying"))
        return sorted({c.expiration_time for c in self.markets.contracts_of(underlying)})

    # -- accounts ------------------------------------------------------------------------------

    def spot_accounts(self, req: ApiRequest) -> Any:
        locked = self.exchange.spot_locked()
        wanted = req.optional_query("currency")
        accounts = []
        for currency in sorted(set(SPOT_BALANCES) | set(locked)):
            if wanted is not None and currency != wanted:
                continue
            held = locked.get(currency, Decimal(0))
            total = SPOT_BALANCES.get(currency, Decimal(0))
            accounts.append({"currency": currency, "available": decimal_text(total - held),
                             "locked": decimal_text(held), "update_id": 1})
        return accounts

    def options_accounts(self, req: ApiRequest) -> Any:
        bid, ask = self.exchange.option_order_margin()
        order_margin = bid + ask
        return {
            "user": SIM_USER_ID, "total": decimal_text(OPTIONS_BALANCE),
            "position_value": "0", "equity": decimal_text(OPTIONS_BALANCE),
            "short_enabled": True, "mmp_enabled": False, "liq_triggered": False,
            "margin_mode": 0, "unrealised_pnl": "0", "init_margin": "0", "maint_margin": "0",
            "order_margin": decimal_text(order_margin), "ask_order_margin": decimal_text(ask),
            "bid_order_margin": decimal_text(bid),
            "available": decimal_text(OPTIONS_BALANCE - order_margin), "point": "0",
            "currency": "USDT", "orders_limit": 50, "position_notional_limit": 1_000_000,
        }

    # -- spot orders ---------------------------------------------------------------------------

    def spot_create_order(self, req: ApiRequest) -> Any:
        body = req.json_object()
        raw_pair = _required_name(body, "currency_pair")
        pair = self._pair(raw_pair)
        side = body.get("side")
        if side is None:
            raise _missing("side")
        if side not in ("buy", "sell"):
            raise bad_value("side must be buy or sell")
        order_type = body.get("type") or "limit"
        if order_type != "limit":
            # Nothing trades on the simulator, so a market order has nothing to fill against.
            raise bad_value("only limit orders are supported")
        tif = body.get("time_in_force") or "gtc"
        if tif not in ("gtc", "ioc", "poc", "fok"):
            raise bad_value("time_in_force must be gtc, ioc, poc or fok")
        amount = _positive_decimal(body, "amount")
        price = _positive_decimal(body, "price")
        text = _order_text(body)
        market = self.markets.spot_pairs[pair]
        if not market.allows(side):
            raise ApiError(400, "INVALID_CURRENCY_PAIR",
                           f"{pair} is {market.trade_status}: no {side} orders")
        if tif == "poc":
            self._post_only(tickers.spot_book(self.markets, pair), side == "buy", price)
        return self.exchange.place_spot_order(pair, side, amount, price, order_type=order_type,
                                              time_in_force=tif, text=text)

    def spot_open_orders(self, req: ApiRequest) -> Any:
        # Gate pages each pair's orders separately (limit at most 100); every pair with open
        # orders is listed, with its total.
        offset, limit = _page(req)
        if limit > 100:
            raise bad_value("limit must be 1-100")
        by_pair: dict[str, list[dict[str, Any]]] = {}
        for order in self.exchange.spot_orders():
            by_pair.setdefault(order["currency_pair"], []).append(order)
        return [{"currency_pair": pair, "total": len(orders),
                 "orders": orders[offset:offset + limit]}
                for pair, orders in sorted(by_pair.items())]

    def spot_list_orders(self, req: ApiRequest) -> Any:
        pair = self._pair(req.required_query("currency_pair"))
        status = req.required_query("status")
        if status not in ("open", "finished"):
            raise bad_value("status must be open or finished")
        side = self._spot_side(req.optional_query("side"))
        offset, limit = _page(req)
        if status == "open" and limit > 100:
            raise bad_value("limit must be 1-100 when status is open")
        orders = self.exchange.spot_orders(pair=pair, side=side, open_only=status == "open")
        orders.sort(key=lambda o: int(o["id"]), reverse=True)  # newest first, like Gate
        return orders[offset:offset + limit]

    def spot_cancel_orders(self, req: ApiRequest) -> Any:
        raw_pair = req.optional_query("currency_pair")
        pair = None if raw_pair is None else self._pair(raw_pair)
        side = self._spot_side(req.optional_query("side"))
        return self.exchange.cancel_spot_orders(pair=pair, side=side)

    def spot_get_order(self, req: ApiRequest) -> Any:
        pair = self._pair(req.required_query("currency_pair"))
        order = self.exchange.spot_order(req.params["order_id"])
        if order is None or order["currency_pair"] != pair:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return order

    def spot_cancel_order(self, req: ApiRequest) -> Any:
        pair = self._pair(req.required_query("currency_pair"))
        order = self.exchange.cancel_spot_order(req.params["order_id"], pair)
        if order is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return order

    # -- option orders -------------------------------------------------------------------------

    def options_create_order(self, req: ApiRequest) -> Any:
        body = req.json_object()
        name = _required_name(body, "contract")
        contract = self._contract(name)
        size = body.get("size")
        if size is None:
            raise _missing("size")
        if not is_int(size) or size == 0:
            raise bad_value("size must be a non-zero integer (negative to sell)")
        price = _positive_decimal(body, "price")
        tif = body.get("tif") or "gtc"
        if tif not in ("gtc", "ioc", "poc"):
            raise bad_value("tif must be gtc, ioc or poc")
        if tif == "poc":
            self._post_only(tickers.option_book(self.markets, contract), size > 0, price)
        return self.exchange.place_option_order(contract, int(size), price, tif=tif,
                                                text=_order_text(body))

    def options_list_orders(self, req: ApiRequest) -> Any:
        status = req.required_query("status")
        if status not in ("open", "finished"):
            raise bad_value("status must be open or finished")
        offset, limit = _page(req)
        orders = self.exchange.option_orders(
            underlying=req.optional_query("underlying"), contract=req.optional_query("contract"),
            open_only=status == "open")
        orders.sort(key=lambda o: int(o["id"]), reverse=True)
        return orders[offset:offset + limit]

    def options_cancel_orders(self, req: ApiRequest) -> Any:
        scope = self.options_scope(req.optional_query("contract"),
                                   req.optional_query("underlying"))
        side = req.optional_query("side")
        if side not in (None, "ask", "bid"):
            raise bad_value("side must be ask or bid")
        name = scope.partition(":")[2]
        if name == "all":
            return self.exchange.cancel_option_orders(side=side)
        if name in self.markets.contracts:
            return self.exchange.cancel_option_orders(contract=name, side=side)
        return self.exchange.cancel_option_orders(underlying=name, side=side)

    def options_get_order(self, req: ApiRequest) -> Any:
        order = self.exchange.option_order(self._option_id(req.params["order_id"]))
        if order is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return order

    def options_cancel_order(self, req: ApiRequest) -> Any:
        order = self.exchange.cancel_option_order(self._option_id(req.params["order_id"]))
        if order is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return order

    # -- countdowns ----------------------------------------------------------------------------

    def spot_countdown(self, req: ApiRequest) -> Any:
        body = req.json_object()
        timeout = _countdown_timeout(body)
        pair = _optional_name(body, "currency_pair")
        scope = "spot:all" if pair is None else f"spot:{self._pair(pair)}"
        return {"triggerTime": str(self.exchange.set_countdown(scope, timeout))}

    def options_countdown(self, req: ApiRequest) -> Any:
        body = req.json_object()
        timeout = _countdown_timeout(body)
        scope = self.options_scope(_optional_name(body, "contract"),
                                   _optional_name(body, "underlying"))
        return {"triggerTime": str(self.exchange.set_countdown(scope, timeout))}

    def options_scope(self, contract: str | None, underlying: str | None) -> str:
        """The options scope a contract/underlying pair names: the contract wins."""
        if underlying is not None:
            self._underlying(underlying)
        if contract is not None:
            self._contract(contract)
            if (underlying is not None
                    and self.markets.contracts[contract].underlying != underlying):
                raise bad_value(f"contract {contract} does not belong to {underlying}")
            return f"options:{contract}"
        return "options:all" if underlying is None else f"options:{underlying}"

    # -- futures -------------------------------------------------------------------------------

    def futures_contracts(self, req: ApiRequest) -> Any:
        settle = self._settle(req)
        offset, limit = _page(req, default_limit=1000)
        listed = list(self.markets.futures.get(settle, {}).values())
        if "limit" not in req.query and "offset" not in req.query:
            return [c.to_json() for c in listed]  # no paging asked: every contract, as Gate
        return [c.to_json() for c in listed[offset:offset + limit]]

    def futures_contract(self, req: ApiRequest) -> Any:
        settle = self._settle(req)
        contract = self.markets.futures.get(settle, {}).get(req.params["contract"])
        if contract is None:
            raise ApiError(400, "CONTRACT_NOT_FOUND", "Contract not found")
        return contract.to_json()

    def futures_accounts(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        currency = settle.upper()
        total = "50000" if settle == "usdt" else "1.5"
        return {"user": SIM_USER_ID, "currency": currency, "total": total,
                "unrealised_pnl": "0", "position_margin": "0", "order_margin": "0",
                "available": total, "point": "0", "in_dual_mode": False,
                "enable_credit": False, "position_initial_margin": "0",
                "maintenance_margin": "0", "bonus": "0", "margin_mode": 0}

    def futures_create_order(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        body = req.json_object()
        name = _required_name(body, "contract")
        contract = self._futures_contract(settle, name)
        if not self.markets.futures[settle][contract].accepts_orders:
            raise ApiError(400, "CONTRACT_IN_DELISTING",
                           f"contract {contract} is delisting: no new orders")
        size = _futures_size(body)
        price = _positive_decimal(body, "price")
        tif = body.get("tif") or "gtc"
        if tif not in ("gtc", "ioc", "poc", "fok"):
            raise bad_value("tif must be gtc, ioc, poc or fok")
        reduce_only = body.get("reduce_only", False)
        if not isinstance(reduce_only, bool):
            raise bad_value("reduce_only must be true or false")
        if tif == "poc":
            self._post_only(tickers.futures_book(self.markets, settle, contract), size > 0, price)
        return self.exchange.place_futures_order(settle, contract, size, price, tif=tif,
                                                 text=_order_text(body),
                                                 reduce_only=reduce_only)

    def futures_list_orders(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        status = req.required_query("status")
        if status not in ("open", "finished"):
            raise bad_value("status must be open or finished")
        raw_contract = req.optional_query("contract")
        contract = None if raw_contract is None else self._futures_contract(settle, raw_contract)
        offset, limit = _page(req)
        if limit > FUTURES_LIST_LIMIT:
            raise bad_value(f"limit must be 1-{FUTURES_LIST_LIMIT}")
        orders = self.exchange.futures_orders(settle, contract=contract,
                                              open_only=status == "open")
        orders.sort(key=lambda o: int(o["id"]), reverse=True)
        return orders[offset:offset + limit]

    def futures_cancel_orders(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        raw_contract = req.optional_query("contract")
        contract = None if raw_contract is None else self._futures_contract(settle, raw_contract)
        side = req.optional_query("side")
        if side not in (None, "ask", "bid"):
            raise bad_value("side must be ask or bid")
        return self.exchange.cancel_futures_orders(
            settle, contract=contract, side=None if side is None else
            ("sell" if side == "ask" else "buy"))

    def futures_get_order(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        order = self.exchange.futures_order(settle, self._option_id(req.params["order_id"]))
        if order is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return order

    def futures_cancel_order(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        order = self.exchange.cancel_futures_order(settle,
                                                   self._option_id(req.params["order_id"]))
        if order is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return order

    def futures_countdown(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        body = req.json_object()
        timeout = _countdown_timeout(body)
        name = _optional_name(body, "contract")
        scope = (f"futures:{settle}:all" if name is None
                 else f"futures:{settle}:{self._futures_contract(settle, name)}")
        return {"triggerTime": str(self.exchange.set_countdown(scope, timeout))}

    def _settle(self, req: ApiRequest) -> str:
        settle = req.params["settle"]
        if settle not in SETTLES:
            raise bad_value(f"settle must be one of {', '.join(SETTLES)}")
        return settle

    def _futures_account(self, req: ApiRequest) -> str:
        settle = self._settle(req)
        if not self.exchange.has_futures_account(settle):
            raise ApiError(400, "USER_NOT_FOUND", "User has no futures account")
        return settle

    def _futures_contract(self, settle: str, name: str) -> str:
        if name not in self.markets.futures.get(settle, {}):
            raise ApiError(400, "CONTRACT_NOT_FOUND", f"Contract {name} not found")
        return name

    # -- tickers, post-only, price-triggered orders (see trading.py) --------------------------

    @staticmethod
    def _post_only(the_book: Book, buys: bool, price: Decimal) -> None:
        try:
            check_post_only(the_book, buys, price)
        except Refused as exc:
            raise ApiError(400, exc.label, exc.message) from None

    def spot_tickers(self, req: ApiRequest) -> Any:
        wanted = req.optional_query("currency_pair")
        pairs = [self._pair(wanted)] if wanted is not None else list(self.markets.spot_pairs)
        return [tickers.spot_ticker(self.markets, pair) for pair in pairs]

    def options_tickers(self, req: ApiRequest) -> Any:
        underlying = self._underlying(req.required_query("underlying"))
        return [tickers.option_ticker(self.markets, c.name)
                for c in self.markets.contracts_of(underlying)]

    def futures_tickers(self, req: ApiRequest) -> Any:
        settle = self._settle(req)
        wanted = req.optional_query("contract")
        names = ([self._futures_contract(settle, wanted)] if wanted is not None
                 else list(self.markets.futures.get(settle, {})))
        return [tickers.futures_ticker(self.markets, settle, name) for name in names]

    def spot_create_price_order(self, req: ApiRequest) -> Any:
        body = req.json_object()
        raw_market = _required_name(body, "market")
        market = self._pair(raw_market)
        trigger, put = body.get("trigger"), body.get("put")
        if not isinstance(trigger, dict) or not isinstance(put, dict):
            raise bad_value("trigger and put must be objects")
        if trigger.get("rule") not in (">=", "<="):
            raise bad_value("trigger.rule must be >= or <=")
        if put.get("side") not in ("buy", "sell"):
            raise bad_value("put.side must be buy or sell")
        for part, name in ((trigger, "price"), (put, "price"), (put, "amount")):
            _positive_decimal(part, name)
        order = self.exchange.price_orders.place(
            spot_price_scopes(market), {"market": market, "trigger": trigger, "put": put},
            int(self.exchange.server_time()), futures=False)
        return {"id": order.id}

    def spot_list_price_orders(self, req: ApiRequest) -> Any:
        status = req.required_query("status")
        if status not in ("open", "finished"):
            raise bad_value("status must be open or finished")
        raw_market = req.optional_query("market")
        market = None if raw_market is None else f"spot:{self._pair(raw_market)}"
        return self.exchange.price_orders.listed("spot:all", open_only=status == "open",
                                                 market_scope=market)

    def spot_get_price_order(self, req: ApiRequest) -> Any:
        found = self.exchange.price_orders.get("spot:all", self._option_id(req.params["order_id"]))
        if found is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return found

    def spot_cancel_price_order(self, req: ApiRequest) -> Any:
        found = self.exchange.price_orders.cancel(
            "spot:all", self._option_id(req.params["order_id"]), int(self.exchange.server_time()))
        if found is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return found

    def futures_create_price_order(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        body = req.json_object()
        initial, trigger = body.get("initial"), body.get("trigger")
        if not isinstance(initial, dict) or not isinstance(trigger, dict):
            raise bad_value("initial and trigger must be objects")
        name = _required_name(initial, "contract", "initial.contract")
        contract = self._futures_contract(settle, name)
        _futures_size(initial)
        _positive_decimal(trigger, "price")
        if trigger.get("rule") not in (1, 2):
            raise bad_value("trigger.rule must be 1 (>=) or 2 (<=)")
        order = self.exchange.price_orders.place(
            futures_price_scopes(settle, contract), {"initial": initial, "trigger": trigger},
            int(self.exchange.server_time()), futures=True)
        return {"id": order.id}

    def futures_list_price_orders(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        status = req.required_query("status")
        if status not in ("open", "finished"):
            raise bad_value("status must be open or finished")
        raw = req.optional_query("contract")
        market = None if raw is None else f"futures:{settle}:{self._futures_contract(settle, raw)}"
        return self.exchange.price_orders.listed(f"futures:{settle}:all",
                                                 open_only=status == "open", market_scope=market)

    def futures_get_price_order(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        found = self.exchange.price_orders.get(f"futures:{settle}:all",
                                               self._option_id(req.params["order_id"]))
        if found is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return found

    def futures_cancel_price_order(self, req: ApiRequest) -> Any:
        settle = self._futures_account(req)
        found = self.exchange.price_orders.cancel(
            f"futures:{settle}:all", self._option_id(req.params["order_id"]),
            int(self.exchange.server_time()))
        if found is None:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return found

    # -- checks --------------------------------------------------------------------------------

    def _pair(self, pair: str) -> str:
        if pair not in self.markets.spot_pairs:
            raise ApiError(400, "INVALID_CURRENCY_PAIR", f"invalid currency pair: {pair}")
        return pair

    def _underlying(self, name: str) -> str:
        if name not in self.markets.underlyings:
            raise bad_value(f"unknown underlying: {name}")
        return name

    def _contract(self, name: str) -> str:
        if name not in self.markets.contracts:
            raise bad_value(f"unknown contract: {name}")
        return name

    @staticmethod
    def _spot_side(side: str | None) -> str | None:
        if side not in (None, "buy", "sell"):
            raise bad_value("side must be buy or sell")
        return side

    @staticmethod
    def _option_id(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise bad_value(f"order id must be an integer: {text}") from None


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # "/spot/orders/{order_id}": also the rate-limit endpoint
    pattern: re.Pattern[str]
    handler: Callable[[Api, ApiRequest], Any]
    private: bool

    @property
    def product(self) -> str:
        return self.template.split("/")[1]


def _route(method: str, template: str, handler: Callable[[Api, ApiRequest], Any],
           *, private: bool) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, template, re.compile(f"^{regex}$"), handler, private)


ROUTES: tuple[Route, ...] = (
    _route("GET", "/spot/time", Api.spot_time, private=False),
    _route("GET", "/spot/currency_pairs", Api.currency_pairs, private=False),
    _route("GET", "/spot/currency_pairs/{pair}", Api.currency_pair, private=False),
    _route("GET", "/options/underlyings", Api.underlyings, private=False),
    _route("GET", "/options/contracts", Api.contracts, private=False),
    _route("GET", "/options/contracts/{contract}", Api.contract, private=False),
    _route("GET", "/options/expirations", Api.expirations, private=False),
    _route("GET", "/spot/accounts", Api.spot_accounts, private=True),
    _route("GET", "/options/accounts", Api.options_accounts, private=True),
    _route("POST", "/spot/orders", Api.spot_create_order, private=True),
    _route("GET", "/spot/orders", Api.spot_list_orders, private=True),
    _route("DELETE", "/spot/orders", Api.spot_cancel_orders, private=True),
    _route("GET", "/spot/open_orders", Api.spot_open_orders, private=True),
    _route("GET", "/spot/orders/{order_id}", Api.spot_get_order, private=True),
    _route("DELETE", "/spot/orders/{order_id}", Api.spot_cancel_order, private=True),
    _route("POST", "/options/orders", Api.options_create_order, private=True),
    _route("GET", "/options/orders", Api.options_list_orders, private=True),
    _route("DELETE", "/options/orders", Api.options_cancel_orders, private=True),
    _route("GET", "/options/orders/{order_id}", Api.options_get_order, private=True),
    _route("DELETE", "/options/orders/{order_id}", Api.options_cancel_order, private=True),
    _route("POST", "/spot/countdown_cancel_all", Api.spot_countdown, private=True),
    _route("POST", "/options/countdown_cancel_all", Api.options_countdown, private=True),
    _route("GET", "/futures/{settle}/contracts", _sized(Api.futures_contracts), private=False),
    _route("GET", "/futures/{settle}/contracts/{contract}", _sized(Api.futures_contract),
           private=False),
    _route("GET", "/futures/{settle}/accounts", Api.futures_accounts, private=True),
    _route("POST", "/futures/{settle}/orders", _sized(Api.futures_create_order), private=True),
    _route("GET", "/futures/{settle}/orders", _sized(Api.futures_list_orders), private=True),
    _route("DELETE", "/futures/{settle}/orders", _sized(Api.futures_cancel_orders),
           private=True),
    _route("GET", "/futures/{settle}/orders/{order_id}", _sized(Api.futures_get_order),
           private=True),
    _route("DELETE", "/futures/{settle}/orders/{order_id}", _sized(Api.futures_cancel_order),
           private=True),
    _route("POST", "/futures/{settle}/countdown_cancel_all", Api.futures_countdown,
           private=True),
    _route("GET", "/spot/tickers", Api.spot_tickers, private=False),
    _route("GET", "/options/tickers", Api.options_tickers, private=False),
    _route("GET", "/futures/{settle}/tickers", Api.futures_tickers, private=False),
    _route("POST", "/spot/price_orders", Api.spot_create_price_order, private=True),
    _route("GET", "/spot/price_orders", Api.spot_list_price_orders, private=True),
    _route("GET", "/spot/price_orders/{order_id}", Api.spot_get_price_order, private=True),
    _route("DELETE", "/spot/price_orders/{order_id}", Api.spot_cancel_price_order,
           private=True),
    _route("POST", "/futures/{settle}/price_orders", _sized(Api.futures_create_price_order),
           private=True),
    _route("GET", "/futures/{settle}/price_orders", _sized(Api.futures_list_price_orders),
           private=True),
    _route("GET", "/futures/{settle}/price_orders/{order_id}",
           _sized(Api.futures_get_price_order), private=True),
    _route("DELETE", "/futures/{settle}/price_orders/{order_id}",
           _sized(Api.futures_cancel_price_order), private=True),
)


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if route.method != method:
            continue
        match = route.pattern.match(path)
        if match:
            return route, match.groupdict()
    return None
