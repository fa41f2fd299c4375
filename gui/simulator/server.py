"""The simulator's HTTP side: Gate's APIv4 on loopback, its faults, and the control API.

``Simulator`` is the one object tests and ``--demo`` use: it owns an :class:`Exchange`, a
``ThreadingHTTPServer`` speaking HTTP/1.1 keep-alive (``requests.Session`` and the SDK's urllib3
pool reuse connections), the key table and the fault rules.

A request under ``/api/v4`` goes through, in order: the request log, faults (latency first, then
the first matching non-latency rule), routing, authentication, permissions, the rate limit, the
endpoint. The control API under ``/_sim`` is never faulted, logged or rate limited.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import secrets
import selectors
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from gui.core.targets import TargetError, parse_target
from gui.simulator.demo import build_markets, seed_demo_orders
from gui.simulator.exchange import (
    MAX_TIMEOUT_S,
    MIN_TIMEOUT_S,
    OPTIONS_BALANCE,
    SIM_USER_ID,
    SPOT_BALANCES,
    Exchange,
    Firing,
    RateWindow,
    RequestRecord,
    decimal_text,
    option_scopes,
    spot_scopes,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v4"
CONTROL_PREFIX = "/_sim"
# Gate's gateway rejects a Timestamp further than this from its clock.
TIMESTAMP_WINDOW_S = 60.0
MAX_BODY_BYTES = 1 << 20
STOP_JOIN_S = 0.8
PERMISSIONS = ("rw", "r", "none")


class Fault(StrEnum):
    """The kinds of fault ``Simulator.add_fault`` accepts (plain strings work too)."""

    LATENCY = "latency"
    STATUS = "status"
    HTML = "html"
    EMPTY = "empty"
    DROP = "drop"
    HANG = "hang"


_DEFAULT_FAULT_STATUS = {Fault.STATUS: 503, Fault.HTML: 502, Fault.EMPTY: 502}
_LABEL_FOR_STATUS = {
    400: "BAD_REQUEST",
    401: "INVALID_CREDENTIALS",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL",
    503: "SERVER_ERROR",
}

# What nginx in front of Gate answers when the upstream fails; clients must not choke on it.
_NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def fitting_label(status: int) -> str:
    if status in _LABEL_FOR_STATUS:
        return _LABEL_FOR_STATUS[status]
    return "SERVER_ERROR" if status >= 500 else "BAD_REQUEST"


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------


@dataclass
class FaultRule:
    id: int
    kind: Fault
    count: int | None  # requests still to affect; None = until cleared
    path: str | None
    scope: str | None
    status: int | None
    label: str | None
    latency_ms: int
    hang_s: float
    hits: int = 0
    # Set when the rule is cleared or the simulator stops: hung requests wait on it.
    released: threading.Event = field(default_factory=threading.Event, repr=False,
                                      compare=False)

    def matches(self, path: str, scope: str | None) -> bool:
        return ((self.path is None or self.path == path)
                and (self.scope is None or self.scope == scope))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": str(self.kind), "count": self.count, "path": self.path,
                "scope": self.scope, "status": self.status, "label": self.label,
                "latency_ms": self.latency_ms, "hang_s": self.hang_s, "hits": self.hits}


class FaultBook:
    """The fault rules, in the order they were added (lowest id first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = 0
        self._active: dict[int, FaultRule] = {}
        # Used-up rules stay here so that clearing one still releases the requests it hangs.
        self._retired: dict[int, FaultRule] = {}

    def add(self, kind: str, *, count: int | None = None, path: str | None = None,
            scope: str | None = None, status: int | None = None, label: str | None = None,
            latency_ms: int = 0, hang_s: float = 3600.0) -> int:
        try:
            fault_kind = Fault(kind)
        except ValueError:
            raise ValueError(f"unknown fault kind {kind!r}; use one of "
                             f"{', '.join(k.value for k in Fault)}") from None
        if count is not None and (not _is_int(count) or count < 1):
            raise ValueError(f"count must be a positive integer or None, not {count!r}")
        if path is not None:
            if not isinstance(path, str) or not path.startswith("/"):
                raise ValueError(f"path must look like '/spot/countdown_cancel_all', not {path!r}")
            # Accept the full path too: the rule matches on the path below the prefix.
            if path.startswith(API_PREFIX + "/"):
                path = path[len(API_PREFIX):]
        if scope is not None:
            try:
                scope = parse_target(scope).text
            except (TargetError, AttributeError) as exc:
                raise ValueError(f"scope: {exc}") from None
        if status is not None and (not _is_int(status) or not 100 <= status <= 599):
            raise ValueError(f"status must be an HTTP status code, not {status!r}")
        if label is not None and not isinstance(label, str):
            raise ValueError(f"label must be a string, not {label!r}")
        if not _is_int(latency_ms) or latency_ms < 0:
            raise ValueError(f"latency_ms must be a non-negative integer, not {latency_ms!r}")
        if (not isinstance(hang_s, int | float) or isinstance(hang_s, bool)
                or not math.isfinite(hang_s) or hang_s <= 0):
            raise ValueError(f"hang_s must be a positive number of seconds, not {hang_s!r}")
        if status is None and fault_kind in _DEFAULT_FAULT_STATUS:
            status = _DEFAULT_FAULT_STATUS[fault_kind]
        with self._lock:
            self._ids += 1
            self._active[self._ids] = FaultRule(
                self._ids, fault_kind, count, path, scope, status, label, latency_ms,
                float(hang_s))
            return self._ids

    def clear(self, fault_id: int | None = None) -> int:
        """Remove one rule (or all) and release the requests it hangs; return how many."""
        with self._lock:
            if fault_id is None:
                rules = [*self._active.values(), *self._retired.values()]
                cleared = len(self._active)
                self._active.clear()
                self._retired.clear()
            else:
                rule = self._active.pop(fault_id, None) or self._retired.pop(fault_id, None)
                rules = [] if rule is None else [rule]
                cleared = len(rules)
        for rule in rules:
            rule.released.set()
        return cleared

    def release_all(self) -> None:
        with self._lock:
            rules = [*self._active.values(), *self._retired.values()]
        for rule in rules:
            rule.released.set()

    def pick(self, path: str, scope: str | None) -> tuple[int, FaultRule | None]:
        """The total latency and the one non-latency rule this request meets, using them up."""
        latency_ms = 0
        chosen: FaultRule | None = None
        with self._lock:
            for rule in sorted(self._active.values(), key=lambda r: r.id):
                if not rule.matches(path, scope):
                    continue
                if rule.kind is Fault.LATENCY:
                    latency_ms += rule.latency_ms
                elif chosen is None:
                    chosen = rule
                else:
                    continue
                rule.hits += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._retired[rule.id] = self._active.pop(rule.id)
        return latency_ms, chosen

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in sorted(self._active.values(), key=lambda r: r.id)]


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


def _bad_value(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAM_VALUE", message)


def _missing(name: str) -> ApiError:
    return ApiError(400, "MISSING_REQUIRED_PARAM", f"missing required parameter: {name}")


def _is_int(value: object) -> bool:
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
        raise _bad_value(f"{name} must be a string")
    return value


def _positive_decimal(body: dict[str, Any], name: str) -> Decimal:
    if body.get(name) is None:
        raise _missing(name)
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad_value(f"{name} must be a decimal string")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _bad_value(f"{name} is not a decimal: {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise _bad_value(f"{name} must be positive: {value!r}")
    return number


def _order_text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if text is None or text == "":
        return "apiv4"
    # Gate's rule for a custom order id: "t-" and at most 28 characters after it.
    if not isinstance(text, str) or not text.startswith("t-") or len(text) > 30:
        raise _bad_value("text must start with 't-' and be at most 30 characters")
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
        raise _bad_value("limit, page and offset must be integers") from None
    if not 1 <= limit <= 1000 or offset < 0:
        raise _bad_value("limit must be 1-1000, page and offset not negative")
    return offset, limit


def _countdown_timeout(body: dict[str, Any]) -> int:
    if body.get("timeout") is None:
        raise _missing("timeout")
    timeout = body["timeout"]
    if not _is_int(timeout):
        raise _bad_value("timeout must be an integer number of seconds")
    if timeout != 0 and not MIN_TIMEOUT_S <= timeout <= MAX_TIMEOUT_S:
        raise _bad_value(f"timeout must be 0 or between {MIN_TIMEOUT_S} and {MAX_TIMEOUT_S}")
    return int(timeout)


def describe_request(method: str, path: str, query: dict[str, str],
                     body: bytes) -> tuple[str | None, int | None]:
    """(scope, timeout) of a countdown or cancel-all request, for the log and fault matching.

    Lenient on purpose: it runs before validation, and a malformed request just has no scope.
    """
    if method == "POST" and path in ("/spot/countdown_cancel_all",
                                     "/options/countdown_cancel_all"):
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None, None
        if not isinstance(data, dict):
            return None, None
        raw_timeout = data.get("timeout")
        timeout = raw_timeout if _is_int(raw_timeout) else None
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
# Keys and authentication
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyGrant:
    secret: str
    spot: str  # rw | r | none
    options: str

    def permission(self, product: str) -> str:
        return self.spot if product == "spot" else self.options


def signature(secret: str, method: str, path: str, query: str, body: bytes,
              timestamp: str) -> str:
    """Gate's APIv4 signature, written here again so the simulator checks the app's signer."""
    payload = "\n".join((method, path, query, hashlib.sha512(body).hexdigest(), timestamp))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()


def authenticate(req: ApiRequest, keys: dict[str, KeyGrant], server_now_s: float) -> str:
    """Check KEY, Timestamp and SIGN as Gate does; return the key."""
    key = req.headers.get("key")
    timestamp = req.headers.get("timestamp")
    sign = req.headers.get("sign")
    if not key or not timestamp or not sign:
        missing = [n for n, v in (("KEY", key), ("Timestamp", timestamp), ("SIGN", sign)) if not v]
        raise ApiError(401, "MISSING_REQUIRED_HEADER",
                       f"missing required header: {', '.join(missing)}")
    grant = keys.get(key)
    if grant is None:
        raise ApiError(401, "INVALID_KEY", "invalid key provided")
    try:
        stamp = float(timestamp)
    except ValueError:
        stamp = math.nan
    if not math.isfinite(stamp):
        raise _bad_value(f"Timestamp is not a number of seconds: {timestamp!r}")
    if abs(stamp - server_now_s) > TIMESTAMP_WINDOW_S:
        raise ApiError(401, "REQUEST_EXPIRED",
                       "gap between request Timestamp and server time exceeds 60")
    # The SDK signs the query decoded while urllib3 sends it encoded: either form is genuine.
    queries = dict.fromkeys((req.raw_query, unquote(req.raw_query), unquote_plus(req.raw_query)))
    received = sign.strip().lower()
    for query in queries:
        expected = signature(grant.secret, req.method, req.raw_path, query, req.body, timestamp)
        if hmac.compare_digest(expected, received):
            return key
    raise ApiError(401, "INVALID_SIGNATURE", "Signature mismatch")


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
                raise _bad_value("expiration must be a Unix time in seconds") from None
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
        raw_pair = _optional_name(body, "currency_pair")
        if raw_pair is None:
            raise _missing("currency_pair")
        pair = self._pair(raw_pair)
        side = body.get("side")
        if side is None:
            raise _missing("side")
        if side not in ("buy", "sell"):
            raise _bad_value("side must be buy or sell")
        order_type = body.get("type") or "limit"
        if order_type != "limit":
            # Nothing trades on the simulator, so a market order has nothing to fill against.
            raise _bad_value("only limit orders are supported")
        tif = body.get("time_in_force") or "gtc"
        if tif not in ("gtc", "ioc", "poc", "fok"):
            raise _bad_value("time_in_force must be gtc, ioc, poc or fok")
        amount = _positive_decimal(body, "amount")
        price = _positive_decimal(body, "price")
        text = _order_text(body)
        market = self.markets.spot_pairs[pair]
        if not market.allows(side):
            raise ApiError(400, "INVALID_CURRENCY_PAIR",
                           f"{pair} is {market.trade_status}: no {side} orders")
        return self.exchange.place_spot_order(pair, side, amount, price, order_type=order_type,
                                              time_in_force=tif, text=text)

    def spot_open_orders(self, req: ApiRequest) -> Any:
        # Gate pages each pair's orders separately (limit at most 100); every pair with open
        # orders is listed, with its total.
        offset, limit = _page(req)
        if limit > 100:
            raise _bad_value("limit must be 1-100")
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
            raise _bad_value("status must be open or finished")
        side = self._spot_side(req.optional_query("side"))
        offset, limit = _page(req)
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
        name = _optional_name(body, "contract")
        if name is None:
            raise _missing("contract")
        contract = self._contract(name)
        size = body.get("size")
        if size is None:
            raise _missing("size")
        if not _is_int(size) or size == 0:
            raise _bad_value("size must be a non-zero integer (negative to sell)")
        price = _positive_decimal(body, "price")
        tif = body.get("tif") or "gtc"
        if tif not in ("gtc", "ioc", "poc"):
            raise _bad_value("tif must be gtc, ioc or poc")
        return self.exchange.place_option_order(contract, int(size), price, tif=tif,
                                                text=_order_text(body))

    def options_list_orders(self, req: ApiRequest) -> Any:
        status = req.required_query("status")
        if status not in ("open", "finished"):
            raise _bad_value("status must be open or finished")
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
            raise _bad_value("side must be ask or bid")
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
                raise _bad_value(f"contract {contract} does not belong to {underlying}")
            return f"options:{contract}"
        return "options:all" if underlying is None else f"options:{underlying}"

    # -- checks --------------------------------------------------------------------------------

    def _pair(self, pair: str) -> str:
        if pair not in self.markets.spot_pairs:
            raise ApiError(400, "INVALID_CURRENCY_PAIR", f"invalid currency pair: {pair}")
        return pair

    def _underlying(self, name: str) -> str:
        if name not in self.markets.underlyings:
            raise _bad_value(f"unknown underlying: {name}")
        return name

    def _contract(self, name: str) -> str:
        if name not in self.markets.contracts:
            raise _bad_value(f"unknown contract: {name}")
        return name

    @staticmethod
    def _spot_side(side: str | None) -> str | None:
        if side not in (None, "buy", "sell"):
            raise _bad_value("side must be buy or sell")
        return side

    @staticmethod
    def _option_id(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise _bad_value(f"order id must be an integer: {text}") from None


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
)


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if route.method != method:
            continue
        match = route.pattern.match(path)
        if match:
            return route, match.groupdict()
    return None


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%")[0]).is_loopback
    except ValueError:
        return False


class _SimHTTPServer(ThreadingHTTPServer):
    # Handler threads are tracked and released by Simulator.stop(); server_close must not
    # wait for keep-alive connections that clients leave open.
    block_on_close = False
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.handler_threads: set[threading.Thread] = set()
        self.tracking_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        # stop_serving writes here to wake the accept loop, which otherwise sleeps until a
        # connection comes (serve_forever polls, waking the simulator 20 times a second).
        self._wake_reader, self._wake_writer = socket.socketpair()

    def serve_until_stopped(self) -> None:
        """Accept connections, each served on a thread of its own, until :meth:`stop_serving`."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is self._wake_reader for key, _ in ready):
                    return
                self._accept_one()

    def _accept_one(self) -> None:
        # What serve_forever does for each connection (socketserver's _handle_request_noblock).
        try:
            request, client_address = self.get_request()
        except OSError:
            return
        try:
            self.process_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
            self.shutdown_request(request)

    def stop_serving(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve_one, args=(request, client_address),
                                  name="simulator-http", daemon=True)
        with self.tracking_lock:
            self.handler_threads.add(thread)
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.tracking_lock:
                self.handler_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish mid-answer are normal here (timeouts, faults); keep stderr quiet.
        log.debug("simulator: error serving %s", client_address, exc_info=True)

    def kick_connections(self) -> None:
        """Wake every handler blocked on a keep-alive connection, so it ends at once."""
        with self.tracking_lock:
            connections = list(self.connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    server: _SimHTTPServer
    # An idle keep-alive connection is closed after this; stop() closes them at once anyway.
    timeout = 120

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; with Nagle on, the body waits for the client's
        # delayed ACK (~40 ms a request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.tracking_lock:
            self.server.connections.add(self.connection)
        if self.server.simulator.stopping.is_set():
            # Accepted just before stop() kicked the others: end it the same way.
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.tracking_lock:
                self.server.connections.discard(self.connection)

    def version_string(self) -> str:
        # Gate answers from behind nginx; no Python version in the Server header.
        return self.server_version

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        # The stdlib answers malformed requests with an HTML page; Gate's errors are JSON.
        reason = self.responses.get(code, ("Error",))[0]
        self.close_connection = True
        self.send_response(code, message)
        self.send_header("Connection", "close")
        body = json.dumps({"label": "NOT_FOUND" if code == 501 else fitting_label(code),
                           "message": message or reason}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: %s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    # -- plumbing ------------------------------------------------------------------------------

    def _handle(self) -> None:
        try:
            self._dispatch()
        except ConnectionError:  # the client left (timeout, reset): nobody to answer
            self.close_connection = True

    def _dispatch(self) -> None:
        sim = self.server.simulator
        in_time_us = int(sim.server_time() * 1_000_000)
        mono = time.monotonic()
        split = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        if split.path == CONTROL_PREFIX or split.path.startswith(CONTROL_PREFIX + "/"):
            self._control(split.path, body)
        elif split.path.startswith(API_PREFIX + "/"):
            self._api(split.path, split.query, body, in_time_us, mono)
        else:
            self._send_json(404, {"label": "NOT_FOUND", "message": f"{split.path} not found"},
                            self._gate_headers(in_time_us))

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._send_json(411, {"label": "BAD_REQUEST", "message": "send a Content-Length"})
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send_json(400, {"label": "BAD_REQUEST", "message": "bad Content-Length"})
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str | None,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any,
                   headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _gate_headers(self, in_time_us: int) -> dict[str, str]:
        headers = {"X-Gate-Trace-ID": secrets.token_hex(16), "X-In-Time": str(in_time_us)}
        request_id = self.headers.get("X-Client-Request-Id")
        if request_id:
            headers["X-Client-Request-Id"] = request_id
        return headers

    def _drop(self) -> None:
        """Close with a TCP reset and no answer, like a middlebox that gives up."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            # rfile holds a reference to the socket; the reset goes out when it is released.
            self.rfile.close()
        except OSError:
            pass

    # -- the API -------------------------------------------------------------------------------

    def _api(self, raw_path: str, raw_query: str, body: bytes, in_time_us: int,
             mono: float) -> None:
        sim = self.server.simulator
        path = raw_path[len(API_PREFIX):]
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        scope, timeout = describe_request(self.command, path, query, body)
        record = RequestRecord(self.command, path, scope, timeout, in_time_us // 1000, mono)
        sim.exchange.log_request(record)

        latency_ms, rule = sim.faults.pick(path, scope)
        if latency_ms and sim.stopping.wait(latency_ms / 1000):
            self._drop()
            return
        gate_headers = self._gate_headers(in_time_us)
        if rule is not None:
            self._apply_fault(rule, record, gate_headers, path)
            return

        req = ApiRequest(
            method=self.command, raw_path=raw_path, path=path, raw_query=raw_query, query=query,
            body=body, headers={k.lower(): v for k, v in self.headers.items()},
            client_ip=str(self.client_address[0]))
        status, payload, window = self._process(req)
        gate_headers.update(_rate_headers(window))
        gate_headers["X-Out-Time"] = str(int(sim.server_time() * 1_000_000))
        sim.exchange.set_request_status(record, status)
        self._send_json(status, payload, gate_headers)

    def _process(self, req: ApiRequest) -> tuple[int, Any, RateWindow]:
        sim = self.server.simulator
        found = find_route(req.method, req.path)
        identity = f"ip:{req.client_ip}"
        endpoint = f"{req.method} {req.path if found is None else found[0].template}"
        try:
            if found is None:
                raise ApiError(404, "NOT_FOUND", f"{req.method} {req.path} not found")
            route, req.params = found
            if route.private:
                key = authenticate(req, sim.key_grants(), sim.server_time())
                identity = f"key:{key}"
                permission = sim.key_grants()[key].permission(route.product)
                if permission == "none":
                    raise ApiError(403, "FORBIDDEN",
                                   f"this key has no permission for {route.product}")
                if permission == "r" and req.method != "GET":
                    raise ApiError(403, "READ_ONLY",
                                   f"this key is read-only for {route.product}")
            window = sim.exchange.take_rate(identity, endpoint, count=True)
            if not window.allowed:
                return 429, {"label": "TOO_MANY_REQUESTS",
                             "message": "Request Rate limit Exceeded"}, window
            return 200, route.handler(sim.api, req), window
        except ApiError as exc:
            error = exc
        except Exception:
            log.exception("simulator: %s %s failed", req.method, req.path)
            error = ApiError(500, "INTERNAL", "internal error")
        window = sim.exchange.take_rate(identity, endpoint, count=False)
        return error.status, {"label": error.label, "message": error.message}, window

    def _apply_fault(self, rule: FaultRule, record: RequestRecord, gate_headers: dict[str, str],
                     path: str) -> None:
        sim = self.server.simulator
        status = rule.status or 502
        if rule.kind is Fault.DROP:
            self._drop()
        elif rule.kind is Fault.HANG:
            # Released by clearing the rule or stopping the simulator; then close, no answer.
            rule.released.wait(rule.hang_s)
            self.close_connection = True
        elif rule.kind is Fault.STATUS:
            sim.exchange.set_request_status(record, status)
            gate_headers["X-Out-Time"] = str(int(sim.server_time() * 1_000_000))
            self._send_json(status, {"label": rule.label or fitting_label(status),
                                     "message": f"simulated fault {rule.id} on {path}"},
                            gate_headers)
        elif rule.kind is Fault.HTML:
            # A proxy's page, not Gate's: none of Gate's headers.
            sim.exchange.set_request_status(record, status)
            reason = self.responses.get(status, ("Error",))[0]
            page = _NGINX_PAGE.format(status=status, reason=reason).encode()
            self._send(status, page, "text/html")
        else:  # Fault.EMPTY
            sim.exchange.set_request_status(record, status)
            self._send(status, b"", None)

    # -- the control API -----------------------------------------------------------------------

    def _control(self, path: str, body: bytes) -> None:
        if not _is_loopback(str(self.client_address[0])):
            self._send_json(403, {"label": "FORBIDDEN", "message": "control API is loopback only"})
            return
        sim = self.server.simulator
        route = f"{self.command} {path.removeprefix(CONTROL_PREFIX) or '/'}"
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            data = None
        try:
            if route == "GET /state":
                self._send_json(200, sim.state())
            elif route == "GET /faults":
                self._send_json(200, sim.faults.to_json())
            elif route == "POST /faults":
                if not isinstance(data, dict):
                    raise ValueError("body must be a JSON object")
                unknown = set(data) - {"kind", "count", "path", "scope", "status", "label",
                                       "latency_ms", "hang_s"}
                if unknown:
                    raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
                if "kind" not in data:
                    raise ValueError("kind is required")
                options = {k: v for k, v in data.items() if k != "kind" and v is not None}
                self._send_json(200, {"id": sim.add_fault(data["kind"], **options)})
            elif route == "DELETE /faults":
                self._send_json(200, {"cleared": sim.faults.clear()})
            elif route.startswith("DELETE /faults/"):
                fault_id = int(route.removeprefix("DELETE /faults/"))
                cleared = sim.faults.clear(fault_id)
                if not cleared:
                    self._send_json(404, {"label": "NOT_FOUND",
                                          "message": f"no fault {fault_id}"})
                else:
                    self._send_json(200, {"cleared": cleared})
            elif route == "POST /clock":
                skew = data.get("skew_s") if isinstance(data, dict) else None
                if isinstance(skew, bool) or not isinstance(skew, int | float):
                    raise ValueError("skew_s must be a number of seconds")
                sim.set_clock_skew(float(skew))
                self._send_json(200, {"clock_skew_s": float(skew),
                                      "server_time_ms": sim.exchange.server_time_ms()})
            elif route == "POST /orders":
                if not isinstance(data, dict):
                    raise ValueError("body must be a JSON object")
                self._send_json(200, sim.place_order(
                    str(data.get("product", "")), str(data.get("market", "")),
                    side=str(data.get("side", "buy")), amount=str(data.get("amount", "1")),
                    price=str(data.get("price", "1"))))
            else:
                self._send_json(404, {"label": "NOT_FOUND", "message": f"{route} not found"})
        except (ValueError, TypeError) as exc:
            self._send_json(400, {"label": "INVALID_PARAM_VALUE", "message": str(exc)})


def _rate_headers(window: RateWindow) -> dict[str, str]:
    return {
        "X-Gate-RateLimit-Requests-Remain": str(window.remaining),
        "X-Gate-RateLimit-Limit": str(window.limit),
        "X-Gate-RateLimit-Reset-Timestamp": str(window.reset_ms),
    }


# ---------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------


class Simulator:
    """A Gate-compatible exchange on loopback. Use as a context manager or start()/stop()."""

    def __init__(self, *, keys: dict[str, str] | None = None,
                 read_only_keys: dict[str, str] | None = None, demo: bool = False,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        # Markets always exist; their expiries are computed from now.
        self.exchange = Exchange(build_markets(time.time()))
        self.api = Api(self.exchange)
        self.faults = FaultBook()
        self.stopping = threading.Event()
        self._keys_lock = threading.Lock()
        self._keys: dict[str, KeyGrant] = {}
        for key, secret in (keys or {}).items():
            self.add_key(key, secret)
        for key, secret in (read_only_keys or {}).items():
            self.add_key(key, secret, spot="r", options="r")
        if demo:
            seed_demo_orders(self.exchange)
        self._httpd: _SimHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._httpd is not None or self.stopping.is_set():
            raise RuntimeError("a Simulator starts once")
        self._httpd = _SimHTTPServer((self.host, self.port), self)
        self.exchange.start()
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_until_stopped, name="simulator-accept", daemon=True)
        self._serve_thread.start()

    def stop(self) -> None:
        """Stop serving, releasing hung and delayed requests; quick even with clients attached."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.faults.release_all()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.stop_serving()
            if self._serve_thread is not None:
                self._serve_thread.join(timeout=1.0)
            httpd.server_close()
            httpd.kick_connections()
            deadline = time.monotonic() + STOP_JOIN_S
            with httpd.tracking_lock:
                threads = list(httpd.handler_threads)
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._serve_thread is not None:
            self._serve_thread.join(timeout=1.0)
        self.exchange.stop()

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def bound_port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the Simulator is not running: call start() first")
        return int(self._httpd.server_address[1])

    @property
    def _root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.bound_port}"

    @property
    def base_url(self) -> str:
        return self._root_url + API_PREFIX

    @property
    def control_url(self) -> str:
        return self._root_url + CONTROL_PREFIX

    # -- keys ----------------------------------------------------------------------------------

    def add_key(self, key: str, secret: str, *, spot: str = "rw", options: str = "rw") -> None:
        if not key or not secret:
            raise ValueError("key and secret must not be empty")
        for product, permission in (("spot", spot), ("options", options)):
            if permission not in PERMISSIONS:
                raise ValueError(f"{product} permission must be one of {PERMISSIONS}, "
                                 f"not {permission!r}")
        with self._keys_lock:
            self._keys[key] = KeyGrant(secret, spot, options)

    def key_grants(self) -> dict[str, KeyGrant]:
        with self._keys_lock:
            return dict(self._keys)

    # -- state ---------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "server_time_ms": self.exchange.server_time_ms(),
            "clock_skew_s": self.exchange.clock_skew_s,
            "countdowns": self.countdowns(),
            "firings": [dataclasses.asdict(f) for f in self.firings()],
            "open_orders": {"spot": self.open_orders("spot"),
                            "options": self.open_orders("options")},
            "request_counts": self.exchange.request_counts(),
            "faults": self.faults.to_json(),
        }

    def countdowns(self) -> dict[str, int]:
        return self.exchange.countdowns()

    def firings(self) -> list[Firing]:
        return self.exchange.firings()

    def open_orders(self, product: str | None = None) -> list[dict[str, Any]]:
        if product not in (None, "spot", "options"):
            raise ValueError(f"product must be 'spot', 'options' or None, not {product!r}")
        return self.exchange.open_orders(product)

    def place_order(self, product: str, market: str, *, side: str = "buy", amount: str = "1",
                    price: str = "1") -> dict[str, Any]:
        """Seed an open order directly, bypassing HTTP. ``market`` is a pair or a contract.

        For options, ``amount`` is the number of contracts and ``side`` sets the sign of size.
        """
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', not {side!r}")
        try:
            amount_value, price_value = Decimal(amount), Decimal(price)
        except InvalidOperation:
            raise ValueError(f"amount and price must be decimals: {amount!r}, {price!r}") from None
        if not (amount_value > 0 and price_value > 0):
            raise ValueError("amount and price must be positive")
        if product == "spot":
            if market not in self.exchange.markets.spot_pairs:
                raise ValueError(f"unknown spot pair {market!r}")
            order = self.exchange.place_spot_order(market, side, amount_value, price_value)
            return {**order, "product": "spot", "scopes": list(spot_scopes(market))}
        if product == "options":
            contract = self.exchange.markets.contracts.get(market)
            if contract is None:
                raise ValueError(f"unknown option contract {market!r}")
            if amount_value != amount_value.to_integral_value():
                raise ValueError("an option order's amount is a whole number of contracts")
            size = int(amount_value) * (1 if side == "buy" else -1)
            order = self.exchange.place_option_order(market, size, price_value)
            return {**order, "product": "options", "underlying": contract.underlying,
                    "scopes": list(option_scopes(market, contract.underlying))}
        raise ValueError(f"product must be 'spot' or 'options', not {product!r}")

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """The requests under /api/v4 so far, oldest first; ``path`` is below the prefix."""
        if path is not None and path.startswith(API_PREFIX + "/"):
            path = path[len(API_PREFIX):]
        return self.exchange.requests(path)

    # -- faults and clock ----------------------------------------------------------------------

    def add_fault(self, kind: str, *, count: int | None = None, path: str | None = None,
                  scope: str | None = None, status: int | None = None, label: str | None = None,
                  latency_ms: int = 0, hang_s: float = 3600.0) -> int:
        return self.faults.add(kind, count=count, path=path, scope=scope, status=status,
                               label=label, latency_ms=latency_ms, hang_s=hang_s)

    def clear_faults(self, fault_id: int | None = None) -> None:
        self.faults.clear(fault_id)

    def set_clock_skew(self, seconds: float) -> None:
        self.exchange.set_clock_skew(seconds)

    def server_time(self) -> float:
        return self.exchange.server_time()
