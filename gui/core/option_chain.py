"""An underlying's option contracts laid out as a chain: one section per expiry, nearest first,
and in each section one row per strike, ascending, with that strike's call and put side by side.

Gate lists an option's call and put as two contracts whose names differ only in the last letter
(``BTC_USDT-20261204-60000-C`` and ``…-P``); they are paired by that name, so a side Gate does not
list stays empty instead of being guessed. Kept free of Qt so that the grouping is tested alone
and stays quick for the hundreds of contracts of a large underlying.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from gui.core.client import OptionContract
from gui.core.targets import is_contract


@dataclass(frozen=True)
class ChainRow:
    """One strike of one expiry: its call and its put, either missing when Gate lists none."""

    expiration_time: int  # Unix seconds
    strike: str  # as Gate writes it
    call: OptionContract | None
    put: OptionContract | None

    def side(self, is_call: bool) -> OptionContract | None:
        return self.call if is_call else self.put


@dataclass(frozen=True)
class ChainExpiry:
    """One expiry's rows, by strike ascending."""

    expiration_time: int  # Unix seconds
    rows: tuple[ChainRow, ...]


def strike_value(text: str) -> Decimal | None:
    """A strike as a number, or None when it is not one (Gate's text is kept for showing)."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _pair_key(contract: OptionContract) -> str:
    # The call and the put of one strike share the name up to "-C"/"-P"; a name of another
    # shape pairs with nothing.
    if is_contract(contract.name):
        return contract.name[:-2]
    return f"{contract.name}\0{'C' if contract.is_call else 'P'}"


def _strike_order(row: ChainRow) -> tuple[int, Decimal, str]:
    value = strike_value(row.strike)
    # A strike that is not a number goes last rather than in a made-up place.
    return (1, Decimal(0), row.strike) if value is None else (0, value, row.strike)


def build_chain(contracts: Iterable[OptionContract]) -> list[ChainExpiry]:
    """Group ``contracts`` into expiries (nearest first) of strike rows (ascending).

    A second contract on a side already taken (Gate listing one name twice) is dropped.
    """
    sides: dict[tuple[int, str], list[OptionContract | None]] = {}
    strikes: dict[tuple[int, str], str] = {}
    for contract in contracts:
        key = (contract.expiration_time, _pair_key(contract))
        pair = sides.setdefault(key, [None, None])
        slot = 0 if contract.is_call else 1
        if pair[slot] is None:
            pair[slot] = contract
            strikes.setdefault(key, contract.strike)
    by_expiry: dict[int, list[ChainRow]] = {}
    for key, (call, put) in sides.items():
        by_expiry.setdefault(key[0], []).append(
            ChainRow(expiration_time=key[0], strike=strikes[key], call=call, put=put))
    return [ChainExpiry(expiry, tuple(sorted(rows, key=_strike_order)))
            for expiry, rows in sorted(by_expiry.items())]


class StrikeBoundError(ValueError):
    """Typed text is not a strike; the message says what to type."""


def parse_strike_bound(text: str) -> Decimal | None:
    """What a trader types as a strike bound: ``95000``, ``95,000`` or ``95k``; empty is None.

    Raises :class:`StrikeBoundError` with a message to show in place.
    """
    typed = text.strip()
    if not typed:
        return None
    squeezed = typed.replace(",", "").replace("_", "").replace(" ", "").lower()
    scale = Decimal(1)
    if squeezed.endswith("k"):
        squeezed, scale = squeezed[:-1], Decimal(1000)
    value = strike_value(squeezed) if squeezed and squeezed[0].isdigit() else None
    if value is None or value < 0:
        raise StrikeBoundError(f"“{typed}” is not a strike: type a number such as 95000 or 95k.")
    return value * scale


def row_matches(row: ChainRow, expiry: int | None, low: Decimal | None,
                high: Decimal | None) -> bool:
    """Whether the filters (an expiry, strike bounds; None for no bound) keep ``row`` shown.

    A strike that is not a number is kept unless a strike bound is set.
    """
    if expiry is not None and row.expiration_time != expiry:
        return False
    if low is None and high is None:
        return True
    value = strike_value(row.strike)
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)
