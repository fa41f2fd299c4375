"""Tickers of the simulated markets: a fixed book around each price (see ``trading.book``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gui.simulator.exchange import Markets
from gui.simulator.numbers import decimal_text
from gui.simulator.trading import Book, book


def spot_book(markets: Markets, pair: str) -> Book:
    market = markets.spot_pairs[pair]
    return book(market.price, Decimal(1).scaleb(-market.precision))


def option_book(markets: Markets, contract: str) -> Book:
    market = markets.contracts[contract]
    return book(market.mark_price, Decimal(market.price_round))


def futures_book(markets: Markets, settle: str, contract: str) -> Book:
    market = markets.futures[settle][contract]
    return book(market.mark_price, Decimal(market.price_round))


def spot_ticker(markets: Markets, pair: str) -> dict[str, Any]:
    """``GET /spot/tickers`` for one pair."""
    b = spot_book(markets, pair)
    last = decimal_text(b.last)
    return {"currency_pair": pair, "last": last, "lowest_ask": decimal_text(b.ask),
            "highest_bid": decimal_text(b.bid), "change_percentage": "0", "base_volume": "0",
            "quote_volume": "0", "high_24h": last, "low_24h": last}


def option_ticker(markets: Markets, contract: str) -> dict[str, Any]:
    """``GET /options/tickers`` for one contract."""
    b = option_book(markets, contract)
    market = markets.contracts[contract]
    return {"name": contract, "last_price": decimal_text(b.last),
            "mark_price": decimal_text(market.mark_price),
            "index_price": decimal_text(market.index_price),
            "bid1_price": decimal_text(b.bid), "bid1_size": 10,
            "ask1_price": decimal_text(b.ask), "ask1_size": -10,
            "position_size": 0, "mark_iv": "0.5"}


def futures_ticker(markets: Markets, settle: str, contract: str) -> dict[str, Any]:
    """``GET /futures/{settle}/tickers`` for one contract."""
    b = futures_book(markets, settle, contract)
    mark = decimal_text(markets.futures[settle][contract].mark_price)
    return {"contract": contract, "last": decimal_text(b.last),
            "lowest_ask": decimal_text(b.ask), "highest_bid": decimal_text(b.bid),
            "mark_price": mark, "index_price": mark, "change_percentage": "0",
            "volume_24h": "0", "funding_rate": "0.0001"}
