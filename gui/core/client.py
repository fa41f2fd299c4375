"""GateClient: Gate APIv4 over one pooled transport, with typed results and server time.

Blocking by design (the engine runs it in worker threads behind ``await``); every request has a
timeout, TLS verification is always on, and every failure is one of :mod:`gui.core.errors`.

Time: requests are signed with the exchange's clock. ``sync_clock`` measures
``server time - monotonic clock`` from ``GET /spot/time`` at the middle of the round trip, so a
deadline the exchange gives (``triggerTime``) can be placed on the monotonic clock, where a jump of
the wall clock cannot move it. The measurement is renewed when it is old, when the wall clock moved
against the monotonic one (clock set, machine asleep), and once on ``REQUEST_EXPIRED``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import DecodeError, HTTPError

from gui import __version__
from gui.core import errors
from gui.core.answers import CancelResult as CancelResult
from gui.core.answers import OpenOrder as OpenOrder
from gui.core.answers import cancel_results
from gui.core.answers import check_name as _check_name
from gui.core.answers import expect as _expect
from gui.core.answers import text as _text
from gui.core.clock import monotonic as clock_monotonic
from gui.core.errors import (
    BadResponseError,
    ClockError,
    GateError,
    InvalidInputError,
    NetworkError,
    PermissionDeniedError,
)
from gui.core.futures import FuturesEndpoints
from gui.core.signing import sign
from gui.core.targets import Product, ScopeKind, Target, is_contract, is_pair
from gui.core.trading import TradingEndpoints
from gui.core.transport import HttpTransport, Transport, network_failure, was_cut
from gui.core.urls import API_PREFIX, validate_base_url

log = logging.getLogger(__name__)

USER_AGENT = f"gate-killswitch/{__version__}"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT_S = 2**31 - 1
MIN_TIMEOUT_S = 5
# Renew the clock measurement this often even when nothing looks wrong.
CLOCK_MAX_AGE_S = 300.0
# Wall minus monotonic moving by more than this means the clock was set or the machine slept.
CLOCK_DRIFT_LIMIT_S = 1.0
# An answer body larger than this is not something Gate sends to these endpoints.
MAX_BODY_BYTES = 8 * 1024 * 1024
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{128}")
# Open orders are read a page at a time: Gate's largest pages (spot: per pair), and a bound on
# how many pages one listing reads, far past what a person trades by hand.
SPOT_ORDER_PAGE = 100
OPTION_ORDER_PAGE = 1000
MAX_ORDER_PAGES = 20
# Gate's times are int64 milliseconds; anything at or past this is not a time.
MAX_TIME_MS = 2**63
# How far a triggerTime may sit from "taken + timeout" beyond the clock's own uncertainty:
# Gate's processing, and the drift of our clock measurement between renewals.
PLAUSIBLE_SLACK_S = 5.0


@dataclass(frozen=True)
class ClockSync:
    """One measurement of the exchange's clock against ours."""

    server_minus_mono: float  # server Unix seconds = monotonic seconds + this
    wall_minus_mono: float  # at measurement: a change later means the wall clock moved
    rtt: float  # round trip of the measuring request, seconds
    measured_mono: float

    @property
    def uncertainty(self) -> float:
        """How far off the mapping can be: half the round trip."""
        return self.rtt / 2

    def server_time(self, mono: float) -> float:
        return mono + self.server_minus_mono

    def to_mono(self, server_seconds: float) -> float:
        return server_seconds - self.server_minus_mono


@dataclass(frozen=True)
class CountdownAck:
    """The exchange's acknowledgement of one countdown request."""

    target: Target
    timeout: int
    trigger_time_ms: int  # exchange clock; 0 for a ``timeout`` 0 (its answer means nothing)
    sent_mono: float
    received_mono: float
    clock: ClockSync

    @property
    def latency(self) -> float:
        return self.received_mono - self.sent_mono

    @property
    def deadline_mono(self) -> float:
        """``triggerTime`` on this machine's monotonic clock."""
        return self.clock.to_mono(self.trigger_time_ms / 1000.0)

    @property
    def uncertainty(self) -> float:
        return self.clock.uncertainty


@dataclass(frozen=True)
class CurrencyPair:
    id: str
    base: str
    quote: str
    trade_status: str

    @property
    def tradable(self) -> bool:
        return self.trade_status != "untradable"


@dataclass(frozen=True)
class Underlying:
    name: str
    index_price: str


@dataclass(frozen=True)
class OptionContract:
    name: str
    underlying: str
    expiration_time: int  # Unix seconds
    is_call: bool
    strike: str


@dataclass(frozen=True)
class RateInfo:
    remaining: int | None
    limit: int | None
    reset_at: float | None  # Unix seconds


READ_WRITE = "read-write"
READ_ONLY = "read-only"
NO_ACCESS = "none"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class KeyCheck:
    """What a key reaches, per product: read-write, read-only, none or unknown."""

    spot: str
    options: str
    details: dict[str, str] = field(default_factory=dict)
    futures_usdt: str = UNKNOWN
    futures_btc: str = UNKNOWN

    @property
    def levels(self) -> dict[Product, str]:
        return {Product.SPOT: self.spot, Product.OPTIONS: self.options,
                Product.FUTURES_USDT: self.futures_usdt, Product.FUTURES_BTC: self.futures_btc}

    @property
    def can_arm(self) -> dict[Product, bool]:
        return {product: level == READ_WRITE for product, level in self.levels.items()}


def check_timeout(timeout: object) -> int:
    """Gate's rule for ``timeout``: 0 (end the countdown) or 5 .. 2^31-1 whole seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise InvalidInputError(f"The countdown timeout must be whole seconds, not {timeout!r}.")
    if timeout != 0 and not MIN_TIMEOUT_S <= timeout <= MAX_TIMEOUT_S:
        raise InvalidInputError(
            f"The countdown timeout must be 0 (stop) or at least {MIN_TIMEOUT_S} seconds; "
            f"{timeout} is not allowed.")
    return timeout


def parse_trigger_time(value: object) -> int:
    """``triggerTime`` as Gate sends it: a string of digits (or an integer) of milliseconds."""
    if isinstance(value, bool):
        raise BadResponseError(f"triggerTime is not a number: {value!r}.")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        ms = int(value)
    else:
        raise BadResponseError(f"triggerTime is not a whole number of milliseconds: {value!r:.60}.")
    if not 0 < ms < MAX_TIME_MS:
        raise BadResponseError(f"triggerTime {str(ms)[:30]} is not a time.")
    return ms


def _finite_number(value: object) -> float | None:
    """A JSON number that is finite, else None (bools, NaN, inf, 400-digit integers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _settle_of(path: str) -> str | None:
    """``usdt`` for ``/futures/usdt/…``: the futures account a request was for."""
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "futures" else None


def _number_or_numeric_text(value: object) -> float | None:
    """A finite number, given as a JSON number or as text: Gate's "Time" fields may be either."""
    if isinstance(value, str) and 0 < len(value) <= 32:
        try:
            value = float(value)
        except ValueError:
            return None
    return _finite_number(value)


def check_plausible(ack_trigger_ms: int, timeout: int, sent_server: float,
                    received_server: float, uncertainty: float) -> None:
    """Refuse a ``triggerTime`` that is not ``timeout`` after the exchange took the beat.

    The exchange took it between sending and receiving (on its clock, as measured, give or
    take ``uncertainty``); a countdown that ends far from that moment plus ``timeout`` is a bad
    answer, never a firing nor a countdown to show (a triggerTime of 1970 would otherwise say
    "fired", one in the year 5000 "safe").
    """
    taken = ack_trigger_ms / 1000.0 - timeout
    slack = PLAUSIBLE_SLACK_S + uncertainty
    if not sent_server - slack <= taken <= received_server + slack:
        raise BadResponseError(
            f"The exchange's triggerTime {ack_trigger_ms} is not {timeout} s after it took the "
            f"beat (about {received_server + timeout:.0f} was expected); not taken as a "
            "countdown.")


class GateClient(FuturesEndpoints, TradingEndpoints):
    """A blocking Gate APIv4 client. Thread-safe: the engine calls it from several threads."""

    def __init__(
        self,
        base_url: str,
        key: str | None = None,
        secret: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: Transport | None = None,
        monotonic: Callable[[], float] = clock_monotonic,
        wall: Callable[[], float] = time.time,
        pool_size: int = 64,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        self._host = urlsplit(self.base_url).hostname or self.base_url
        self._key = key or None
        self._secret = secret or None
        if (self._key is None) != (self._secret is None):
            raise InvalidInputError("Give both the API key and the secret, or neither.")
        self.timeout = float(timeout)
        self._mono = monotonic
        self._wall = wall
        # Certificates are always checked and redirects never followed: see transport.py.
        self._transport = transport or HttpTransport(self.base_url, pool_size=pool_size)
        self._clock: ClockSync | None = None
        self._clock_lock = threading.Lock()
        self._rate: dict[str, RateInfo] = {}
        self._rate_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GateClient({self.base_url!r}, signed={self.has_key})"

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> GateClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ time

    @property
    def clock(self) -> ClockSync | None:
        return self._clock

    def sync_clock(self, timeout: float | None = None) -> ClockSync:
        """Measure the exchange's clock now (``GET /spot/time``)."""
        sent = self._mono()
        data = self._request("GET", "/spot/time", timeout=timeout)
        received = self._mono()
        wall = self._wall()
        obj = _expect(data, dict, "server time")
        server_ms = _finite_number(obj.get("server_time"))
        if server_ms is None or not 0 < server_ms < MAX_TIME_MS:
            raise BadResponseError("The server time answer has no usable server_time.")
        mid = (sent + received) / 2
        sync = ClockSync(
            server_minus_mono=server_ms / 1000.0 - mid,
            wall_minus_mono=wall - received,
            rtt=received - sent,
            measured_mono=received,
        )
        self._clock = sync
        return sync

    def clock_is_stale(self) -> bool:
        sync = self._clock
        if sync is None:
            return True
        now = self._mono()
        if now - sync.measured_mono > CLOCK_MAX_AGE_S:
            return True
        return abs((self._wall() - now) - sync.wall_minus_mono) > CLOCK_DRIFT_LIMIT_S

    def ensure_clock(self, timeout: float | None = None) -> ClockSync:
        """The current measurement, renewed first if it is missing or stale.

        Only one thread measures at a time; while one does, others keep signing with the
        previous measurement rather than queue behind a slow request.
        """
        current = self._clock
        if current is not None and not self.clock_is_stale():
            return current
        if current is not None:
            if not self._clock_lock.acquire(blocking=False):
                return current
        else:
            wait = self.timeout if timeout is None else timeout
            if not self._clock_lock.acquire(timeout=max(wait, 0.01)):
                raise NetworkError("Timed out waiting for the exchange's clock.")
        try:
            if self._clock is not current and self._clock is not None and not self.clock_is_stale():
                return self._clock
            return self.sync_clock(timeout)
        except GateError:
            if current is not None:
                log.warning("Could not renew the exchange clock measurement; keeping the last one.")
                return current
            raise
        finally:
            self._clock_lock.release()

    def server_now(self) -> float:
        """The exchange's time now, in Unix seconds, by the last measurement."""
        sync = self._clock
        if sync is None:
            return self._wall()
        return sync.server_time(self._mono())

    # ------------------------------------------------------------------ public data

    def server_time(self, timeout: float | None = None) -> float:
        """The exchange's clock, Unix seconds (measures the offset as a side effect)."""
        return self.sync_clock(timeout).server_time(self._mono())

    def spot_pairs(self, timeout: float | None = None) -> list[CurrencyPair]:
        data = _expect(self._request("GET", "/spot/currency_pairs", timeout=timeout), list,
                       "spot pairs")
        pairs = []
        for item in data:
            if not isinstance(item, dict):
                raise BadResponseError("The answer for spot pairs has the wrong shape.")
            pairs.append(CurrencyPair(
                id=_text(item, "id", "spot pairs"),
                base=str(item.get("base", "")),
                quote=str(item.get("quote", "")),
                trade_status=str(item.get("trade_status", "")),
            ))
        return pairs

    def option_underlyings(self, timeout: float | None = None) -> list[Underlying]:
        data = _expect(self._request("GET", "/options/underlyings", timeout=timeout), list,
                       "option underlyings")
        return [
            Underlying(name=_text(_expect(i, dict, "option underlyings"), "name",
                                  "option underlyings"),
                       index_price=str(i.get("index_price", "")))
            for i in data
        ]

    def option_contracts(self, underlying: str, timeout: float | None = None
                         ) -> list[OptionContract]:
        _check_name("option underlying", underlying, is_pair, "BTC_USDT")
        data = _expect(
            self._request("GET", "/options/contracts", params=[("underlying", underlying)],
                          timeout=timeout),
            list, "option contracts")
        contracts = []
        for item in data:
            obj = _expect(item, dict, "option contracts")
            name = _text(obj, "name", "option contracts")
            expiry = _number_or_numeric_text(obj.get("expiration_time"))
            if expiry is None or not 0 < expiry < MAX_TIME_MS:
                raise BadResponseError("An option contract has no usable expiration_time.")
            strike = obj.get("strike_price")
            if strike is None and is_contract(name):
                strike = name.split("-")[2]
            contracts.append(OptionContract(
                name=name,
                underlying=str(obj.get("underlying", underlying)),
                expiration_time=int(expiry),
                is_call=bool(obj.get("is_call", name.endswith("-C"))),
                strike=str(strike if strike is not None else ""),
            ))
        return contracts

    # ------------------------------------------------------------------ countdowns

    def countdown(self, target: Target, timeout: int, *,
                  request_timeout: float | None = None) -> CountdownAck:
        """Set (``timeout`` ≥ 5) or end (``timeout`` 0) the countdown of one scope."""
        check_timeout(timeout)
        if target.settle is not None:
            path = self.futures_countdown_path(target.settle)
        else:
            path = ("/spot/countdown_cancel_all" if target.product is Product.SPOT
                    else "/options/countdown_cancel_all")
        body: dict[str, object] = {"timeout": timeout, **target.countdown_params()}
        clock = self.ensure_clock(request_timeout)
        sent = self._mono()
        data = self._request("POST", path, body=body, signed=True, timeout=request_timeout,
                             empty_ok=timeout == 0)
        received = self._mono()
        measured = self._clock or clock
        if timeout == 0:
            # Gate documents nothing about this answer (204, an empty 200, {"triggerTime":
            # "0"}): the 2xx is the acknowledgement.
            trigger = 0
        else:
            obj = _expect(data, dict, "the countdown")
            trigger = parse_trigger_time(obj.get("triggerTime"))
            check_plausible(trigger, timeout, measured.server_time(sent),
                            measured.server_time(received), measured.uncertainty)
        return CountdownAck(target=target, timeout=timeout, trigger_time_ms=trigger,
                            sent_mono=sent, received_mono=received, clock=measured)

    def spot_countdown(self, timeout: int, currency_pair: str | None = None, *,
                       request_timeout: float | None = None) -> CountdownAck:
        _check_name("spot pair", currency_pair, is_pair, "BTC_USDT")
        target = Target(Product.SPOT, ScopeKind.PAIR, currency_pair) if currency_pair else \
            Target(Product.SPOT, ScopeKind.ALL)
        return self.countdown(target, timeout, request_timeout=request_timeout)

    def options_countdown(self, timeout: int, *, underlying: str | None = None,
                          contract: str | None = None,
                          request_timeout: float | None = None) -> CountdownAck:
        _check_name("option underlying", underlying, is_pair, "BTC_USDT")
        _check_name("option contract", contract, is_contract, "BTC_USDT-20241001-46000-C")
        if contract:
            target = Target(Product.OPTIONS, ScopeKind.CONTRACT, contract)
        elif underlying:
            target = Target(Product.OPTIONS, ScopeKind.UNDERLYING, underlying)
        else:
            target = Target(Product.OPTIONS, ScopeKind.ALL)
        return self.countdown(target, timeout, request_timeout=request_timeout)

    # ------------------------------------------------------------------ orders

    def cancel_now(self, target: Target, *, request_timeout: float | None = None
                   ) -> list[CancelResult]:
        """Cancel the scope's open orders now. It does not touch the countdown."""
        if target.product is Product.SPOT:
            return self.cancel_spot_orders(target.name or None, request_timeout=request_timeout)
        if target.settle is not None:
            return self.cancel_futures_orders(target.settle, target.name or None,
                                              request_timeout=request_timeout)
        params = target.countdown_params()
        return self.cancel_option_orders(underlying=params.get("underlying"),
                                         contract=params.get("contract"),
                                         request_timeout=request_timeout)

    def cancel_spot_orders(self, currency_pair: str | None = None, *,
                           request_timeout: float | None = None) -> list[CancelResult]:
        _check_name("spot pair", currency_pair, is_pair, "BTC_USDT")
        params = [("currency_pair", currency_pair)] if currency_pair else []
        data = self._request("DELETE", "/spot/orders", params=params, signed=True,
                             timeout=request_timeout)
        return self._cancel_results(data, "currency_pair")

    def cancel_option_orders(self, *, underlying: str | None = None, contract: str | None = None,
                             request_timeout: float | None = None) -> list[CancelResult]:
        _check_name("option underlying", underlying, is_pair, "BTC_USDT")
        _check_name("option contract", contract, is_contract, "BTC_USDT-20241001-46000-C")
        params = [(k, v) for k, v in (("underlying", underlying), ("contract", contract)) if v]
        data = self._request("DELETE", "/options/orders", params=params, signed=True,
                             timeout=request_timeout)
        return self._cancel_results(data, "contract")

    _cancel_results = staticmethod(cancel_results)

    def spot_open_orders(self, *, request_timeout: float | None = None) -> list[OpenOrder]:
        """Every open spot order: Gate pages each pair's orders, so pages are read until no
        pair fills one (at most ``MAX_ORDER_PAGES``)."""
        found: dict[tuple[str, str], OpenOrder] = {}
        for page in range(1, MAX_ORDER_PAGES + 1):
            params = [("page", str(page)), ("limit", str(SPOT_ORDER_PAGE))]
            data = self._request("GET", "/spot/open_orders", params=params, signed=True,
                                 timeout=request_timeout)
            more = False
            for group in _expect(data, list, "open spot orders"):
                obj = _expect(group, dict, "open spot orders")
                pair = str(obj.get("currency_pair", ""))
                listed = _expect(obj.get("orders", []), list, "open spot orders")
                more = more or len(listed) >= SPOT_ORDER_PAGE
                for order in listed:
                    o = _expect(order, dict, "open spot orders")
                    item = OpenOrder(
                        product=Product.SPOT, id=_text(o, "id", "open spot orders"),
                        market=str(o.get("currency_pair", pair)), side=str(o.get("side", "")),
                        amount=str(o.get("amount", "")), price=str(o.get("price", "")),
                        left=str(o.get("left", "")))
                    # Keyed by id: an order that moved between pages is counted once.
                    found[(item.market, item.id)] = item
            if not more:
                break
        return list(found.values())

    def option_open_orders(self, *, underlying: str | None = None, contract: str | None = None,
                           request_timeout: float | None = None) -> list[OpenOrder]:
        """Open option orders, read page by page (at most ``MAX_ORDER_PAGES``)."""
        _check_name("option underlying", underlying, is_pair, "BTC_USDT")
        _check_name("option contract", contract, is_contract, "BTC_USDT-20241001-46000-C")
        scope = [(k, v) for k, v in (("underlying", underlying), ("contract", contract)) if v]
        found: dict[str, OpenOrder] = {}
        for page in range(MAX_ORDER_PAGES):
            params = [("status", "open"), *scope, ("limit", str(OPTION_ORDER_PAGE)),
                      ("offset", str(page * OPTION_ORDER_PAGE))]
            data = self._request("GET", "/options/orders", params=params, signed=True,
                                 timeout=request_timeout)
            listed = _expect(data, list, "open option orders")
            for item in listed:
                o = _expect(item, dict, "open option orders")
                size = o.get("size", 0)
                side = "sell" if isinstance(size, (int, float)) and size < 0 else "buy"
                order = OpenOrder(
                    product=Product.OPTIONS, id=_text(o, "id", "open option orders"),
                    market=str(o.get("contract", "")), side=side, amount=str(size),
                    price=str(o.get("price", "")), left=str(o.get("left", "")))
                found[order.id] = order
            if len(listed) < OPTION_ORDER_PAGE:
                break
        return list(found.values())

    # ------------------------------------------------------------------ key check

    def check_key(self, timeout: float | None = None) -> KeyCheck:
        """What the key reaches per product.

        Read: ``GET /spot/accounts`` and ``GET /options/accounts``. Write: cancelling an order id
        that cannot exist (``0``), which changes nothing but is refused with ``READ_ONLY`` or
        ``FORBIDDEN`` when the key may not write. Authentication failures are raised: a key the
        exchange does not accept reaches nothing.
        """
        if not self.has_key:
            raise InvalidInputError("This profile has no API key to check.")
        details: dict[str, str] = {}
        spot = self._probe("spot", "/spot/accounts", "/spot/orders/0",
                           [("currency_pair", "BTC_USDT")], details, timeout)
        opts = self._probe("options", "/options/accounts", "/options/orders/0", [], details,
                           timeout)
        usdt, btc = (self._probe(f"futures {settle}", f"/futures/{settle}/accounts",
                                 f"/futures/{settle}/orders/0", [], details, timeout)
                     for settle in ("usdt", "btc"))
        return KeyCheck(spot=spot, options=opts, details=details, futures_usdt=usdt,
                        futures_btc=btc)

    def _probe(self, product: str, read_path: str, write_path: str,
               write_params: Sequence[tuple[str, str]], details: dict[str, str],
               timeout: float | None) -> str:
        try:
            self._request("GET", read_path, signed=True, timeout=timeout)
        except PermissionDeniedError as exc:
            details[product] = f"cannot read ({exc.label or exc.status})"
            return NO_ACCESS
        except errors.AuthenticationError:
            raise
        except errors.NoFuturesAccountError as exc:
            details[product] = exc.message
            return NO_ACCESS
        except GateError as exc:
            details[product] = f"could not check: {exc.message}"
            return UNKNOWN
        try:
            self._request("DELETE", write_path, params=write_params, signed=True,
                          timeout=timeout)
        except PermissionDeniedError as exc:
            details[product] = f"can read, cannot write ({exc.label or exc.status})"
            return READ_ONLY
        except errors.AuthenticationError:
            raise
        except GateError as exc:
            if exc.retryable:
                details[product] = f"can read; write not checked: {exc.message}"
                return UNKNOWN
            # ORDER_NOT_FOUND and the like: the write was allowed and found nothing to do.
        details[product] = "can read and write"
        return READ_WRITE

    # ------------------------------------------------------------------ rate information

    def rate_info(self, method: str, path: str) -> RateInfo | None:
        """The rate-limit headers of the last answer from that endpoint."""
        with self._rate_lock:
            return self._rate.get(f"{method} {path}")

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        body: Mapping[str, object] | None = None,
        signed: bool = False,
        timeout: float | None = None,
        empty_ok: bool = False,
        _clock_retry: bool = True,
    ) -> Any:
        if signed and not self.has_key:
            raise InvalidInputError("This request needs an API key; the profile has none.")
        # Names were validated to Gate's alphabet, so the query needs no encoding: the string
        # signed is exactly the string sent.
        query = "&".join(f"{k}={v}" for k, v in params)
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        # Decimal string sizes on the futures endpoints, as the official SDK asks on every request.
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json",
                   "X-Gate-Size-Decimal": "1"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if signed:
            assert self._key is not None and self._secret is not None
            self.ensure_clock(timeout)
            timestamp = str(int(self.server_now()))
            headers["KEY"] = self._key
            headers["Timestamp"] = timestamp
            headers["SIGN"] = sign(self._secret, method, f"{API_PREFIX}{path}", query, payload,
                                   timestamp)
        wait = self.timeout if timeout is None else max(float(timeout), 0.05)
        try:
            response = self._transport.send(method, url, payload or None, headers, wait)
        except NetworkError:
            raise
        except (HTTPError, OSError) as exc:
            # A pooled keep-alive socket from before a network change is dead, and so may be
            # its neighbours: the next attempt opens a fresh connection.
            self._transport.close()
            if was_cut():
                raise self._cut(wait) from None
            raise network_failure(exc, self._host, wait) from None
        except (ValueError, RuntimeError, UnicodeError):
            # What a malformed answer makes the HTTP layers raise (bad headers, bad encoding).
            raise BadResponseError("The answer could not be read (a proxy in between?).") from None
        if was_cut():
            # Cut while the headers dripped in: what was parsed of them means nothing.
            response.close()
            response.release_conn()
            raise self._cut(wait)
        try:
            return self._answer(method, path, response, wait, empty_ok=empty_ok)
        except ClockError:
            if not (signed and _clock_retry):
                raise
            log.info("The exchange said the request time was off; measuring its clock again.")
            self._clock = None
            self.sync_clock(timeout)
            return self._request(method, path, params=params, body=body, signed=signed,
                                 timeout=timeout, empty_ok=empty_ok, _clock_retry=False)

    def _cut(self, wait: float) -> NetworkError:
        return NetworkError(f"No complete answer from {self._host} within {wait:.1f} s (it "
                            "was still arriving, or not at all); cut off.", cause="timeout",
                            advice="Check the network connection; retrying on a fresh "
                                   "connection.")

    def _read_body(self, response: urllib3.BaseHTTPResponse, wait: float) -> bytes:
        complete = False
        try:
            chunks = []
            size = 0
            for chunk in response.stream(65536, decode_content=True):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise BadResponseError("The answer was far larger than the exchange sends.")
                chunks.append(chunk)
            if was_cut():
                raise self._cut(wait)
            complete = True
            return b"".join(chunks)
        except DecodeError:
            raise BadResponseError("The answer's body could not be decoded.") from None
        except (HTTPError, OSError):
            self._transport.close()
            if was_cut():
                raise self._cut(wait) from None
            raise NetworkError(f"The connection to {self._host} broke while the answer was "
                               "arriving.", cause="reset",
                               advice="Check the network connection; retrying on a fresh "
                                      "connection.") from None
        except (ValueError, RuntimeError, UnicodeError):
            raise BadResponseError("The answer's body could not be read.") from None
        finally:
            if not complete:
                # Unread bytes would poison the next request on this connection: drop it.
                response.close()
            response.release_conn()

    def _answer(self, method: str, path: str, response: urllib3.BaseHTTPResponse,
                wait: float, *, empty_ok: bool = False) -> Any:
        """The parsed answer; with ``empty_ok`` an empty 2xx (a 204) is None, not an error."""
        raw = self._read_body(response, wait)
        status = response.status
        trace = response.headers.get("X-Gate-Trace-ID", "")[:64]
        self._note_rate(method, path, response.headers)
        ctype = response.headers.get("Content-Type", "").lower()
        looks_html = "html" in ctype or raw.lstrip()[:1] == b"<"
        data: Any = None
        parsed = False
        if raw and not looks_html:
            try:
                data = json.loads(raw)
                parsed = True
            except (ValueError, RecursionError):
                parsed = False
        if 200 <= status < 300:
            if looks_html:
                raise BadResponseError(
                    f"An HTML page (status {status}) came back instead of the exchange's answer.",
                    status=status, trace_id=trace)
            if not raw.strip() and empty_ok:
                return None
            if not parsed:
                what = "an empty answer" if not raw else "an answer that is not JSON"
                raise BadResponseError(f"The exchange sent {what} (status {status}).",
                                       status=status, trace_id=trace)
            return data
        reset_at = self._reset_at(response.headers)
        if parsed and isinstance(data, dict) and isinstance(data.get("label"), str):
            message = data.get("message") or data.get("detail") or ""
            message = self._scrub(str(message))
            raise errors.error_for(status, data["label"][:64], message, trace_id=trace,
                                   reset_at=reset_at, settle=_settle_of(path))
        if status == 429:
            raise errors.RateLimitedError("Too many requests.", status=429, trace_id=trace,
                                          reset_at=reset_at)
        what = ("an HTML page" if looks_html else "an empty answer" if not raw
                else "an answer that is not the exchange's")
        raise BadResponseError(f"HTTP {status} with {what} (a proxy or gateway in between?).",
                               status=status, trace_id=trace)

    def _scrub(self, text: str) -> str:
        return _HEX_SIGNATURE.sub("***", errors.scrub(text, (self._key or "", self._secret or "")))

    @staticmethod
    def _reset_at(headers: Mapping[str, str]) -> float | None:
        raw = headers.get("X-Gate-RateLimit-Reset-Timestamp")
        try:
            value = float(raw) if raw else None
        except ValueError:
            return None
        if value is None or not math.isfinite(value) or not 0 < value < MAX_TIME_MS:
            return None
        return value / 1000.0 if value > 1e11 else value

    def _note_rate(self, method: str, path: str, headers: Mapping[str, str]) -> None:
        remain = headers.get("X-Gate-RateLimit-Requests-Remain")
        limit = headers.get("X-Gate-RateLimit-Limit")
        if remain is None and limit is None:
            return

        def as_int(v: str | None) -> int | None:
            try:
                return int(v) if v is not None else None
            except ValueError:
                return None

        info = RateInfo(as_int(remain), as_int(limit), self._reset_at(headers))
        with self._rate_lock:
            self._rate[f"{method} {path}"] = info
