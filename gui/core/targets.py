"""Targets: one product and one scope that a countdown protects.

The one text form used everywhere (command line, settings, journal, simulator state):

    spot:BTC_USDT                       one spot pair
    spot:all                            every spot market
    options:BTC_USDT                    one option underlying
    options:BTC_USDT-20241001-46000-C   one option contract
    options:all                         every option order
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# Gate's names: currencies are upper-case letters and digits; a pair is BASE_QUOTE.
_CURRENCY = r"[A-Z0-9]{1,20}"
PAIR_RE = re.compile(rf"^{_CURRENCY}_{_CURRENCY}$")
# An option contract: UNDERLYING-YYYYMMDD-STRIKE-C|P, strike a positive decimal.
CONTRACT_RE = re.compile(rf"^({_CURRENCY}_{_CURRENCY})-(\d{{8}})-(\d+(?:\.\d+)?)-([CP])$")

FORMS_HELP = (
    "use one of: spot:BTC_USDT (a pair), spot:all, options:BTC_USDT (an underlying), "
    "options:BTC_USDT-20241001-46000-C (a contract), options:all"
)


class TargetError(ValueError):
    """A target's text is not in one of the accepted forms."""


class Product(Enum):
    SPOT = "spot"
    OPTIONS = "options"


class ScopeKind(Enum):
    ALL = "all"
    PAIR = "pair"
    UNDERLYING = "underlying"
    CONTRACT = "contract"


def is_pair(name: str) -> bool:
    return bool(PAIR_RE.match(name))


def is_contract(name: str) -> bool:
    return bool(CONTRACT_RE.match(name))


@dataclass(frozen=True, order=True)
class Target:
    """One product and scope; build with :func:`parse_target`, :func:`spot` or :func:`options`."""

    product: Product
    kind: ScopeKind
    name: str = ""  # pair, underlying or contract; "" for ALL

    def __post_init__(self) -> None:
        ok = {
            (Product.SPOT, ScopeKind.ALL): self.name == "",
            (Product.SPOT, ScopeKind.PAIR): is_pair(self.name),
            (Product.OPTIONS, ScopeKind.ALL): self.name == "",
            (Product.OPTIONS, ScopeKind.UNDERLYING): is_pair(self.name),
            (Product.OPTIONS, ScopeKind.CONTRACT): is_contract(self.name),
        }.get((self.product, self.kind), False)
        if not ok:
            raise TargetError(f"not a valid target: {self.product.value} {self.kind.value} "
                              f"{self.name!r}; {FORMS_HELP}")

    def __str__(self) -> str:
        return f"{self.product.value}:{self.name or 'all'}"

    @property
    def text(self) -> str:
        return str(self)

    @property
    def is_all(self) -> bool:
        return self.kind is ScopeKind.ALL

    def describe(self) -> str:
        """What the scope covers, for a person: 'BTC_USDT spot orders', 'every option order'.

        The one wording of a scope (``gui.words.describe_target`` adds a contract's strike and
        expiry in words)."""
        if self.product is Product.SPOT:
            return "every spot order" if self.is_all else f"{self.name} spot orders"
        if self.is_all:
            return "every option order"
        if self.kind is ScopeKind.UNDERLYING:
            return f"every {self.name} option order"
        return f"{self.name} option orders"

    def countdown_params(self) -> dict[str, str]:
        """The scope fields of the countdown/cancel request body for this target."""
        if self.is_all:
            return {}
        if self.product is Product.SPOT:
            return {"currency_pair": self.name}
        if self.kind is ScopeKind.UNDERLYING:
            return {"underlying": self.name}
        return {"contract": self.name}


def spot(pair: str | None = None) -> Target:
    return Target(Product.SPOT, ScopeKind.ALL) if pair is None else Target(
        Product.SPOT, ScopeKind.PAIR, pair)


def options(name: str | None = None) -> Target:
    if name is None:
        return Target(Product.OPTIONS, ScopeKind.ALL)
    if is_contract(name):
        return Target(Product.OPTIONS, ScopeKind.CONTRACT, name)
    return Target(Product.OPTIONS, ScopeKind.UNDERLYING, name)


def parse_target(text: str) -> Target:
    """Parse the one text form. Raises :class:`TargetError` with the accepted forms."""
    raw = text.strip()
    product_text, sep, scope = raw.partition(":")
    product_text = product_text.strip().lower()
    scope = scope.strip()
    if not sep or not scope:
        raise TargetError(f"{text!r} is not a target; {FORMS_HELP}")
    if scope.lower() == "all":
        scope = ""
    else:
        scope = scope.upper()
    if product_text == "spot":
        if scope and not is_pair(scope):
            raise TargetError(f"{text!r}: {scope!r} is not a spot pair like BTC_USDT; {FORMS_HELP}")
        return spot(scope or None)
    if product_text in ("options", "option"):
        if scope and not (is_pair(scope) or is_contract(scope)):
            raise TargetError(
                f"{text!r}: {scope!r} is neither an underlying like BTC_USDT nor a contract like "
                f"BTC_USDT-20241001-46000-C; {FORMS_HELP}")
        return options(scope or None)
    raise TargetError(f"{text!r}: unknown product {product_text!r}; {FORMS_HELP}")


def parse_contract(name: str) -> tuple[str, str, str, bool]:
    """Split a contract name into (underlying, expiry YYYYMMDD, strike, is_call)."""
    m = CONTRACT_RE.match(name)
    if not m:
        raise TargetError(f"{name!r} is not an option contract like BTC_USDT-20241001-46000-C")
    return m.group(1), m.group(2), m.group(3), m.group(4) == "C"


def covering_target(target: Target, chosen: list[Target]) -> Target | None:
    """The broader chosen target that already covers ``target``, if any."""
    if target.is_all:
        return None
    if target.product is Product.SPOT:
        return spot() if spot() in chosen else None
    if options() in chosen:
        return options()
    if target.kind is ScopeKind.CONTRACT:
        underlying = options(parse_contract(target.name)[0])
        if underlying in chosen:
            return underlying
    return None


def underlying_of(target: Target) -> str | None:
    """The underlying of an option target narrower than ``options:all``, else None."""
    if target.product is not Product.OPTIONS or target.is_all:
        return None
    if target.kind is ScopeKind.UNDERLYING:
        return target.name
    return parse_contract(target.name)[0] if is_contract(target.name) else None
