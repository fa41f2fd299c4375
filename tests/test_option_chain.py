"""The option chain's grouping, strike bounds and wording, without Qt."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gui.core.client import OptionContract
from gui.core.option_chain import (
    StrikeBoundError,
    build_chain,
    parse_strike_bound,
    row_matches,
)
from gui.words import contract_words, expiry_label, time_to_expiry

DEC4 = int(datetime(2026, 12, 4, 8, tzinfo=UTC).timestamp())
DEC11 = int(datetime(2026, 12, 11, 8, tzinfo=UTC).timestamp())


def contract(expiry: int, strike: str, is_call: bool, underlying: str = "BTC_USDT",
             name: str | None = None) -> OptionContract:
    day = datetime.fromtimestamp(expiry, tz=UTC)
    if name is None:
        name = f"{underlying}-{day:%Y%m%d}-{strike}-{'C' if is_call else 'P'}"
    return OptionContract(name=name, underlying=underlying, expiration_time=expiry,
                          is_call=is_call, strike=strike)


def test_calls_and_puts_pair_by_strike_nearest_expiry_first_strikes_by_number() -> None:
    listed = [contract(DEC11, "60000", True), contract(DEC4, "100000", False),
              contract(DEC4, "9000", True), contract(DEC4, "100000", True),
              contract(DEC4, "9000", False), contract(DEC11, "60000", False)]
    chain = build_chain(listed)
    assert [e.expiration_time for e in chain] == [DEC4, DEC11]
    first = chain[0].rows
    # 9000 before 100000: by value, not by text.
    assert [r.strike for r in first] == ["9000", "100000"]
    for row in (*first, *chain[1].rows):
        assert row.call is not None and row.put is not None
        assert row.call.is_call and not row.put.is_call
        assert row.call.name[:-2] == row.put.name[:-2]
        assert row.call.expiration_time == row.put.expiration_time == row.expiration_time


def test_a_side_gate_does_not_list_stays_empty_and_nothing_is_paired_by_guess() -> None:
    chain = build_chain([contract(DEC4, "60000", True), contract(DEC4, "62000", False),
                         contract(DEC4, "60000", True)])  # listed twice: kept once
    [expiry] = chain
    assert [(r.strike, r.call is not None, r.put is not None) for r in expiry.rows] == [
        ("60000", True, False), ("62000", False, True)]
    # A name not in Gate's contract form pairs with nothing, and is still shown.
    odd = build_chain([contract(DEC4, "1", True, name="ODD"),
                       contract(DEC4, "1", False, name="ODD")])
    assert [(r.call is not None, r.put is not None) for r in odd[0].rows] == [
        (True, False), (False, True)]
    assert build_chain([]) == []


@pytest.mark.parametrize(("typed", "value"), [("95000", Decimal(95000)),
                                              (" 95,000 ", Decimal(95000)),
                                              ("95k", Decimal(95000)), ("2.5K", Decimal(2500)),
                                              ("0.5", Decimal("0.5")), ("", None), ("  ", None)])
def test_strike_bounds_as_a_trader_types_them(typed: str, value: Decimal | None) -> None:
    assert parse_strike_bound(typed) == value


@pytest.mark.parametrize("typed", ["abc", "k", "-5", "nan", "1e400x", "inf", "9 5 0 0 0 x"])
def test_a_bound_that_is_not_a_strike_says_what_to_type(typed: str) -> None:
    with pytest.raises(StrikeBoundError, match="is not a strike: type a number such as 95000"):
        parse_strike_bound(typed)


def test_rows_kept_by_expiry_and_strike_range() -> None:
    rows = build_chain([contract(DEC4, "90000", True), contract(DEC4, "100000", True),
                        contract(DEC11, "90000", True)])
    near, later = rows[0].rows, rows[1].rows
    assert row_matches(near[0], None, None, None)
    assert not row_matches(later[0], DEC4, None, None)
    assert row_matches(near[1], DEC4, Decimal(95000), None)
    assert not row_matches(near[0], None, Decimal(95000), None)
    assert not row_matches(near[1], None, None, Decimal(99999))
    assert row_matches(near[1], None, Decimal(100000), Decimal(100000))  # bounds included


def test_time_to_expiry_in_hours_then_calendar_days() -> None:
    assert time_to_expiry(DEC4, DEC4 + 1) == "expired"
    assert time_to_expiry(DEC4, DEC4 - 600) == "under 1 h"
    assert time_to_expiry(DEC4, DEC4 - 18 * 3600 - 5) == "18 h"
    assert time_to_expiry(DEC4, DEC4 - 25 * 3600) == "1 day"  # Thursday 07:00 for Friday
    assert time_to_expiry(DEC4, DEC4 - 47 * 3600) == "2 days"  # Wednesday 09:00
    assert expiry_label(DEC11, DEC4) == "11 Dec 2026 (7 days)"


def test_a_contract_in_words_for_a_screen_reader() -> None:
    assert contract_words("BTC_USDT-20261204-60000-C") == (
        "BTC_USDT-20261204-60000-C, call, strike 60000, expires 4 Dec 2026")
    assert contract_words("ETH_USDT-20261211-3400-P") == (
        "ETH_USDT-20261211-3400-P, put, strike 3400, expires 11 Dec 2026")
    assert contract_words("ODD") == "ODD"
