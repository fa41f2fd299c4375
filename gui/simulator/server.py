"""The simulator: a Gate-compatible exchange on loopback, assembled from its stages.

``Simulator`` is the one object tests and ``--demo`` use: it owns an :class:`Exchange`, the HTTP
server (:mod:`gui.simulator.http`, which also says what a request goes through), the key table
(:mod:`gui.simulator.auth`), the fault rules (:mod:`gui.simulator.faults`) and Gate's endpoints
(:mod:`gui.simulator.api`), and starts and stops them together.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any

from gui.simulator.api import API_PREFIX, CONTROL_PREFIX, Api
from gui.simulator.auth import PERMISSIONS, KeyGrant
from gui.simulator.demo import build_markets, seed_demo_orders
from gui.simulator.exchange import Exchange, Firing, RequestRecord, option_scopes, spot_scopes
from gui.simulator.faults import FaultBook
from gui.simulator.futures import SETTLES, futures_scopes
from gui.simulator.http import SimHTTPServer
from gui.simulator.trading import FiringBehaviour

STOP_JOIN_S = 0.8


class Simulator:
    """A Gate-compatible exchange on loopback. Use as a context manager or start()/stop()."""

    def __init__(self, *, keys: dict[str, str] | None = None,
                 read_only_keys: dict[str, str] | None = None, demo: bool = False,
                 host: str = "127.0.0.1", port: int = 0,
                 futures_accounts: tuple[str, ...] = SETTLES) -> None:
        self.host = host
        self.port = port
        # Markets always exist; their expiries are computed from now.
        self.exchange = Exchange(build_markets(time.time()))
        self.set_futures_accounts(futures_accounts)
        self.api = Api(self.exchange)
        self.faults = FaultBook()
        self.stopping = threading.Event()
        self._keys_lock = threading.Lock()
        self._keys: dict[str, KeyGrant] = {}
        for key, secret in (keys or {}).items():
            self.add_key(key, secret)
        for key, secret in (read_only_keys or {}).items():
            self.add_key(key, secret, spot="r", options="r", futures="r")
        if demo:
            seed_demo_orders(self.exchange)
        self._httpd: SimHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._httpd is not None or self.stopping.is_set():
            raise RuntimeError("a Simulator starts once")
        self._httpd = SimHTTPServer((self.host, self.port), self)
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

    def add_key(self, key: str, secret: str, *, spot: str = "rw", options: str = "rw",
                futures: str = "rw") -> None:
        if not key or not secret:
            raise ValueError("key and secret must not be empty")
        for product, permission in (("spot", spot), ("options", options), ("futures", futures)):
            if permission not in PERMISSIONS:
                raise ValueError(f"{product} permission must be one of {PERMISSIONS}, "
                                 f"not {permission!r}")
        with self._keys_lock:
            self._keys[key] = KeyGrant(secret, spot, options, futures)

    def set_futures_accounts(self, settles: tuple[str, ...] | list[str] | set[str]) -> None:
        """Which settle currencies' futures accounts exist; the others answer USER_NOT_FOUND."""
        unknown = set(settles) - set(SETTLES)
        if unknown:
            raise ValueError(f"settle must be one of {SETTLES}, not {sorted(unknown)}")
        self.exchange.set_futures_accounts(set(settles))

    def fail_bulk_cancels(self, count: int = 1) -> None:
        """The next ``count`` spot or futures bulk cancels fail in part: every second order
        stays open, answered ``succeeded: false`` with ``CANCEL_FAIL``."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a non-negative integer, not {count!r}")
        self.exchange.fail_bulk_cancels(count)

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
                            "options": self.open_orders("options"),
                            "futures": self.open_orders("futures")},
            "request_counts": self.exchange.request_counts(),
            "faults": self.faults.to_json(),
        }

    def countdowns(self) -> dict[str, int]:
        return self.exchange.countdowns()

    def firings(self) -> list[Firing]:
        return self.exchange.firings()

    def open_orders(self, product: str | None = None) -> list[dict[str, Any]]:
        if product not in (None, "spot", "options", "futures"):
            raise ValueError(f"product must be 'spot', 'options', 'futures' or None, "
                             f"not {product!r}")
        return self.exchange.open_orders(product)

    def place_order(self, product: str, market: str, *, side: str = "buy", amount: str = "1",
                    price: str = "1") -> dict[str, Any]:
        """Seed an open order directly, bypassing HTTP. ``market`` is a pair or a contract.

        For options and futures (``futures:usdt``, ``futures:btc``), ``amount`` is the number of
        contracts and ``side`` sets the sign of size.
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
        settle = product.removeprefix("futures:") if product.startswith("futures:") else None
        if settle is not None and settle in SETTLES:
            if market not in self.exchange.markets.futures.get(settle, {}):
                raise ValueError(f"unknown {settle} futures contract {market!r}")
            if amount_value != amount_value.to_integral_value():
                raise ValueError("a futures order's amount is a whole number of contracts")
            signed = amount_value if side == "buy" else -amount_value
            order = self.exchange.place_futures_order(settle, market, signed, price_value)
            return {**order, "product": product, "scopes": list(futures_scopes(settle, market))}
        raise ValueError(f"product must be 'spot', 'options', 'futures:usdt' or 'futures:btc', "
                         f"not {product!r}")

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """The requests under /api/v4 so far, oldest first; ``path`` is below the prefix."""
        if path is not None and path.startswith(API_PREFIX + "/"):
            path = path[len(API_PREFIX):]
        return self.exchange.requests(path)

    # -- faults and clock ----------------------------------------------------------------------

    def add_fault(self, kind: str, *, count: int | None = None, path: str | None = None,
                  scope: str | None = None, status: int | None = None, label: str | None = None,
                  latency_ms: int = 0, hang_s: float = 3600.0, body: str = "",
                  rate_bps: float = 4.0) -> int:
        return self.faults.add(kind, count=count, path=path, scope=scope, status=status,
                               label=label, latency_ms=latency_ms, hang_s=hang_s, body=body,
                               rate_bps=rate_bps)

    def clear_faults(self, fault_id: int | None = None) -> None:
        self.faults.clear(fault_id)

    def set_clock_skew(self, seconds: float) -> None:
        self.exchange.set_clock_skew(seconds)

    def set_countdown_firing(self, *, cancels_orders: bool = True, late_ms: int = 0,
                             cancels_price_orders: bool = False) -> None:
        """How countdowns fire from now on: a fault that fires without cancelling, fires
        ``late_ms`` after ``triggerTime``, or also cancels price-triggered orders. The
        defaults are the simulator's normal behaviour."""
        if late_ms < 0:
            raise ValueError("late_ms must not be negative")
        self.exchange.set_firing(FiringBehaviour(cancels_orders=cancels_orders, late_ms=late_ms,
                                                 cancels_price_orders=cancels_price_orders))

    def open_price_orders(self) -> int:
        """How many price-triggered orders (spot and futures) are open."""
        return self.exchange.price_orders.open_count()

    def server_time(self) -> float:
        return self.exchange.server_time()
