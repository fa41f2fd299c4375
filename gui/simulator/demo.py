"""Market data of the simulated exchange, and the open orders ``--demo`` starts with.

The markets always exist (with or without ``demo``): about thirty spot pairs, a few of them not
fully tradable, and option underlyings with contracts that expire on the next Fridays at 08:00 UTC,
as Gate's weekly options do, with strikes around the index price and Black-Scholes mark prices,
and perpetual futures: a USDT-settled contract for each USDT spot pair (two of them delisting or
delisted) and a few BTC-settled ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from gui.simulator.exchange import Exchange, Markets, OptionContract, SpotPair, Underlying
from gui.simulator.futures import FuturesContract

# Published on purpose: the demo runs on loopback against a simulated account, nothing real.
DEMO_KEY = "demo-key-0000"
DEMO_SECRET = "demo-secret-0000"  # noqa: S105

EXPIRY_HOUR_UTC = 8
EXPIRY_COUNT = 4
STRIKES_EACH_SIDE = 6


@dataclass(frozen=True)
class _PairSpec:
    base: str
    quote: str
    price: str
    precision: int
    amount_precision: int
    trade_status: str = "tradable"


_PAIRS: tuple[_PairSpec, ...] = (
    _PairSpec("BTC", "USDT", "97000", 1, 6),
    _PairSpec("ETH", "USDT", "3400", 2, 4),
    _PairSpec("SOL", "USDT", "190", 2, 3),
    _PairSpec("BNB", "USDT", "680", 2, 3),
    _PairSpec("XRP", "USDT", "2.3", 4, 2),
    _PairSpec("DOGE", "USDT", "0.32", 5, 2),
    _PairSpec("ADA", "USDT", "0.9", 4, 2),
    _PairSpec("TRX", "USDT", "0.25", 5, 2),
    _PairSpec("AVAX", "USDT", "35", 3, 2),
    _PairSpec("LINK", "USDT", "20", 3, 2),
    _PairSpec("DOT", "USDT", "6.5", 3, 2),
    _PairSpec("LTC", "USDT", "100", 2, 4),
    _PairSpec("BCH", "USDT", "450", 2, 4),
    _PairSpec("TON", "USDT", "5.2", 3, 2),
    _PairSpec("NEAR", "USDT", "5", 3, 2),
    _PairSpec("UNI", "USDT", "12", 3, 2),
    _PairSpec("ATOM", "USDT", "6.8", 3, 2),
    _PairSpec("ETC", "USDT", "26", 3, 2),
    _PairSpec("XLM", "USDT", "0.4", 5, 2),
    _PairSpec("FIL", "USDT", "5", 3, 2),
    _PairSpec("APT", "USDT", "9", 3, 2),
    _PairSpec("ARB", "USDT", "0.7", 4, 2),
    _PairSpec("OP", "USDT", "1.9", 4, 2),
    _PairSpec("SUI", "USDT", "3.8", 4, 2),
    _PairSpec("PEPE", "USDT", "0.000018", 10, 0),
    _PairSpec("SHIB", "USDT", "0.000022", 9, 0),
    _PairSpec("GT", "USDT", "21", 3, 2),
    _PairSpec("ETH", "BTC", "0.035", 5, 4),
    _PairSpec("SOL", "BTC", "0.00195", 7, 3),
    # Not every listed pair trades both ways: the app's pair list must show that.
    _PairSpec("LUNC", "USDT", "0.00009", 9, 0, "untradable"),
    _PairSpec("FTT", "USDT", "2.1", 4, 2, "untradable"),
    _PairSpec("BSV", "USDT", "55", 2, 3, "sellable"),
    _PairSpec("ZRX", "USDT", "0.45", 4, 2, "buyable"),
)


@dataclass(frozen=True)
class _UnderlyingSpec:
    name: str
    index_price: str
    strike_step: int
    volatility: float
    multiplier: str
    price_round: str


# Contracts leaving the market: they still list, and the picker marks them.
_FUTURES_STATUS = {"LUNC_USDT": "delisting", "FTT_USDT": "delisted"}
_BTC_SETTLED = (("BTC_USD", "97000", "0.1"), ("ETH_USD", "3400", "0.05"),
                ("SOL_USD", "190", "0.01"))


def _futures_multiplier(price: Decimal) -> str:
    """One contract's size in the base currency, in the spirit of Gate's quanto_multiplier."""
    if price >= 10_000:
        return "0.0001"
    if price >= 1_000:
        return "0.01"
    if price >= 10:
        return "1"
    return "10" if price >= Decimal("0.1") else "10000"


def build_futures(pairs: dict[str, SpotPair]) -> dict[str, dict[str, FuturesContract]]:
    usdt = {
        pair.id: FuturesContract(
            name=pair.id, settle="usdt", mark_price=pair.price,
            multiplier=_futures_multiplier(pair.price),
            price_round=format(Decimal(1).scaleb(-pair.precision), "f"),
            status=_FUTURES_STATUS.get(pair.id, "trading"))
        for pair in pairs.values() if pair.quote == "USDT"
    }
    btc = {name: FuturesContract(name=name, settle="btc", mark_price=Decimal(price),
                                 multiplier="1", price_round=step)
           for name, price, step in _BTC_SETTLED}
    return {"usdt": usdt, "btc": btc}


_UNDERLYINGS: tuple[_UnderlyingSpec, ...] = (
    _UnderlyingSpec("BTC_USDT", "97000", 2000, 0.50, "0.01", "0.1"),
    _UnderlyingSpec("ETH_USDT", "3400", 100, 0.65, "0.1", "0.1"),
    _UnderlyingSpec("SOL_USDT", "190", 5, 0.80, "1", "0.01"),
)


def next_fridays(now_s: float, count: int = EXPIRY_COUNT) -> list[datetime]:
    """The next ``count`` Fridays at 08:00 UTC strictly after ``now_s``."""
    now = datetime.fromtimestamp(now_s, tz=UTC)
    candidate = now.replace(hour=EXPIRY_HOUR_UTC, minute=0, second=0, microsecond=0)
    candidate += timedelta(days=(4 - candidate.weekday()) % 7)  # Monday is 0, Friday 4
    if candidate <= now:
        candidate += timedelta(days=7)
    return [candidate + timedelta(weeks=i) for i in range(count)]


def _quantize(value: float, step: str) -> Decimal:
    tick = Decimal(step)
    rounded = (Decimal(repr(value)) / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick
    return max(rounded, tick)  # Gate never quotes an option at zero


def _black_scholes(index: float, strike: float, years: float, vol: float, is_call: bool) -> float:
    # Interest rate zero: close enough for a simulator, and mark prices only need to look real.
    if years <= 0:
        return max(0.0, index - strike) if is_call else max(0.0, strike - index)
    spread = vol * math.sqrt(years)
    d1 = (math.log(index / strike) + spread * spread / 2) / spread
    d2 = d1 - spread

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    if is_call:
        return index * cdf(d1) - strike * cdf(d2)
    return strike * cdf(-d2) - index * cdf(-d1)


def build_markets(now_s: float) -> Markets:
    """Every market, with expiries and prices computed from ``now_s``."""
    pairs: dict[str, SpotPair] = {}
    for spec in _PAIRS:
        pair_id = f"{spec.base}_{spec.quote}"
        min_base = "0" if spec.amount_precision == 0 else f"0.{'0' * (spec.amount_precision - 1)}1"
        pairs[pair_id] = SpotPair(
            id=pair_id, base=spec.base, quote=spec.quote, price=Decimal(spec.price),
            precision=spec.precision, amount_precision=spec.amount_precision,
            trade_status=spec.trade_status, min_base_amount=min_base,
            min_quote_amount="3" if spec.quote == "USDT" else "0.0001")

    underlyings: dict[str, Underlying] = {}
    contracts: dict[str, OptionContract] = {}
    expiries = next_fridays(now_s)
    orderbook_ids = iter(range(4_000_001, 5_000_000))
    for uspec in _UNDERLYINGS:
        index = Decimal(uspec.index_price)
        underlyings[uspec.name] = Underlying(uspec.name, index)
        centre = round(float(index) / uspec.strike_step) * uspec.strike_step
        strikes = [centre + k * uspec.strike_step
                   for k in range(-STRIKES_EACH_SIDE, STRIKES_EACH_SIDE + 1)
                   if centre + k * uspec.strike_step > 0]
        for expiry in expiries:
            expiry_s = int(expiry.timestamp())
            # The last Friday of a month is Gate's monthly expiry; the others are weeklies.
            tag = "MONTH" if (expiry + timedelta(weeks=1)).month != expiry.month else "WEEK"
            years = max(0.0, (expiry_s - now_s) / (365 * 86400))
            for strike in strikes:
                for is_call in (True, False):
                    name = (f"{uspec.name}-{expiry:%Y%m%d}-{strike}-"
                            f"{'C' if is_call else 'P'}")
                    mark = _black_scholes(float(index), strike, years, uspec.volatility, is_call)
                    contracts[name] = OptionContract(
                        name=name, underlying=uspec.name, tag=tag,
                        create_time=expiry_s - 35 * 86400, expiration_time=expiry_s,
                        strike=Decimal(strike), is_call=is_call, multiplier=uspec.multiplier,
                        index_price=index, mark_price=_quantize(mark, uspec.price_round),
                        price_round=uspec.price_round, orderbook_id=next(orderbook_ids))
    return Markets(pairs, underlyings, contracts, build_futures(pairs))


def _near_contract(markets: Markets, underlying: str, expiry_rank: int, strikes_out: int,
                   is_call: bool) -> OptionContract:
    """A contract ``strikes_out`` strikes out of the money on the ``expiry_rank``-th expiry."""
    candidates = [c for c in markets.contracts_of(underlying) if c.is_call == is_call]
    expiry = sorted({c.expiration_time for c in candidates})[expiry_rank]
    index = markets.underlyings[underlying].index_price
    ordered = sorted((c for c in candidates if c.expiration_time == expiry),
                     key=lambda c: c.strike, reverse=not is_call)
    # First the strike at or beyond the index on the out-of-the-money side, then further out.
    beyond = [c for c in ordered if (c.strike >= index if is_call else c.strike <= index)]
    return beyond[min(strikes_out, len(beyond) - 1)]


def seed_demo_orders(exchange: Exchange) -> None:
    """Resting orders a manual trader might have: a few spot pairs, a few option contracts, a
    few perpetual futures of both settle currencies."""
    for pair, side, amount, price in (
        ("BTC_USDT", "buy", "0.01", "90000"),
        ("BTC_USDT", "sell", "0.01", "105000"),
        ("ETH_USDT", "buy", "0.5", "3000"),
        ("SOL_USDT", "sell", "5", "220"),
        ("DOGE_USDT", "buy", "1000", "0.25"),
    ):
        exchange.place_spot_order(pair, side, Decimal(amount), Decimal(price), text="web")

    markets = exchange.markets
    for underlying, expiry_rank, strikes_out, is_call, size, discount in (
        ("BTC_USDT", 0, 1, True, 1, "0.8"),
        ("BTC_USDT", 0, 1, False, -1, "1.2"),
        ("BTC_USDT", 1, 2, True, 2, "0.85"),
        ("ETH_USDT", 0, 0, True, 3, "0.9"),
        ("SOL_USDT", 1, 1, False, -5, "1.1"),
    ):
        contract = _near_contract(markets, underlying, expiry_rank, strikes_out, is_call)
        tick = Decimal(contract.price_round)
        limit_price = max(tick, (contract.mark_price * Decimal(discount) / tick).quantize(
            Decimal(1)) * tick)
        exchange.place_option_order(contract.name, size, limit_price, text="web")

    for settle, name, contracts, price in (
        ("usdt", "BTC_USDT", "10", "90000"),
        ("usdt", "BTC_USDT", "-10", "105000"),
        ("usdt", "ETH_USDT", "5", "3000"),
        ("usdt", "SOL_USDT", "-20", "220"),
        ("btc", "BTC_USD", "100", "90000"),
    ):
        exchange.place_futures_order(settle, name, Decimal(contracts), Decimal(price),
                                     text="web")
