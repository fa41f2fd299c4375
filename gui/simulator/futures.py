"""Perpetual futures for the simulated exchange: contracts per settle currency, orders, scopes.

Gate keeps one futures account per settle currency (``usdt``, ``btc``); each has its own
contracts, orders and countdowns. Sizes are decimal strings (Gate's answer since v4.106 when
``X-Gate-Size-Decimal: 1`` is sent, which every current client does); a negative size sells.

Documented choices where Gate documents nothing:

- ``DELETE /futures/{settle}/orders`` without ``contract`` cancels every open order of that
  settle (the SDK makes ``contract`` optional; Gate's v4.105 docs call it required).
- A countdown without ``contract`` covers every contract of that settle, never the other settle.
- A settle whose account was never opened answers ``USER_NOT_FOUND`` (HTTP 400) on every
  private endpoint of that settle, the countdown included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gui.simulator.numbers import decimal_text

SETTLES = ("usdt", "btc")
# Gate's largest page of a futures list.
FUTURES_LIST_LIMIT = 100


def futures_scopes(settle: str, contract: str) -> tuple[str, ...]:
    """Every countdown scope that covers a futures order on ``contract`` of ``settle``."""
    return (f"futures:{settle}:{contract}", f"futures:{settle}:all")


@dataclass(frozen=True)
class FuturesContract:
    name: str
    settle: str
    mark_price: Decimal
    multiplier: str  # quanto_multiplier
    price_round: str
    status: str = "trading"  # trading | delisting | delisted | prelaunch | circuit_breaker

    @property
    def accepts_orders(self) -> bool:
        return self.status == "trading"

    def to_json(self) -> dict[str, Any]:
        mark = decimal_text(self.mark_price)
        return {
            "name": self.name,
            "type": "direct" if self.settle == "usdt" else "inverse",
            "quanto_multiplier": self.multiplier,
            "leverage_min": "1",
            "leverage_max": "100",
            "maintenance_rate": "0.005",
            "mark_type": "index",
            "mark_price": mark,
            "index_price": mark,
            "last_price": mark,
            "maker_fee_rate": "-0.0001",
            "taker_fee_rate": "0.00075",
            "order_price_round": self.price_round,
            "mark_price_round": self.price_round,
            "funding_rate": "0.0001",
            "funding_interval": 28800,
            "order_size_min": "1",
            "order_size_max": "1000000",
            "order_price_deviate": "0.5",
            "enable_decimal": False,
            "in_delisting": self.status in ("delisting", "delisted"),
            "status": self.status,
            "orders_limit": 100,
            "trade_size": "0",
            "position_size": "0",
            "orderbook_id": 0,
            "create_time": 1_600_000_000.0,
            "delisting_time": 0,
        }


@dataclass
class FuturesOrder:
    id: int
    settle: str
    contract: str
    size: Decimal  # negative = sell
    price: Decimal
    tif: str
    text: str
    reduce_only: bool
    create_ms: int
    status: str = "open"  # open | finished
    finish_as: str | None = None
    finish_ms: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def side(self) -> str:
        return "sell" if self.size < 0 else "buy"

    def to_json(self) -> dict[str, Any]:
        size = decimal_text(self.size)
        data: dict[str, Any] = {
            "id": self.id,
            "user": 10_000_001,
            "create_time": self.create_ms / 1000,
            "status": self.status,
            "contract": self.contract,
            "size": size,
            "iceberg": "0",
            "price": decimal_text(self.price),
            "close": False,
            "is_close": False,
            "reduce_only": self.reduce_only,
            "is_reduce_only": self.reduce_only,
            "is_liq": False,
            "tif": self.tif,
            "left": size if self.is_open or self.finish_as == "cancelled" else "0",
            "fill_price": "0",
            "text": self.text,
            "tkfr": "0.00075",
            "mkfr": "-0.0001",
            "refu": 0,
            "stp_act": "-",
            "stp_id": 0,
            "amend_text": "-",
        }
        # The SDK's enum for finish_as has no value for an open order: it simply has none.
        if self.finish_ms is not None:
            data["finish_time"] = self.finish_ms / 1000
        if self.finish_as is not None:
            data["finish_as"] = self.finish_as
        return data
