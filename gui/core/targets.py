"""Targets: one product and one scope that a countdown protects.

The one text form used everywhere (command line, settings, journal, simulator state):

    spot:BTC_USDT                       one spot pair
    spot:all                            every spot market
    options:BTC_USDT                    one option underlying
    options:BTC_USDT-20241001-46000-C   one option contract
    options:all                         every option order
    futures:usdt:BTC_USDT               one USDT-settled perpetual contract
    futures:usdt:all                    every USDT-settled perpetual order
    futures:btc:BTC_USD                 one BTC-settled perpetual contract
    futures:btc:all                     every BTC-settled perpetual order

Each settle currency is its own futures account at Gate with its own countdown, so the settle is
part of the product: ``futures:usdt:all`` covers ``futures:usdt:BTC_USDT`` and nothing of
``futures:btc:…``. Gate names USDT-settled contracts ``X_USDT`` and BTC-settled ones ``X_USD``;
a name of the other settle is refused here, because Gate's answer to a countdown on a contract
that settle does not have is undocumented and the orders meant would stay unprotected.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

# Gate's names: currencies are upper-case letters and digits; a pair is BASE_QUOTE.
_CURRENCY = r"[A-Z0-9]{1,20}"
PAIR_RE = re.compile(rf"^{_CURRENCY}_{_CURRENCY}$")
# An option contract: UNDERLYING-YYYYMMDD-STRIKE-C|P, strike a positive decimal.
CONTRACT_RE = re.compile(rf"^({_CURRENCY}_{_CURRENCY})-(\d{{8}})-(\d+(?:\.\d+)?)-([CP])$")

FORMS_HELP = (
    "use one of: spot:BTC_USDT (a pair), spot:all, options:BTC_USDT (an underlying), "
    "options:BTC_USDT-20241001-46000-C (a contract), options:all, "
    "futures:usdt:BTC_USDT, futures:usdt:all, futures:btc:BTC_USD, futures:btc:all"
)
# The settle currencies with a perpetual futures countdown (delivery futures have none), and the
# quote every contract name of that settle ends with.
SETTLES = ("usdt", "btc")
_SETTLE_QUOTE = {"usdt": "USDT", "btc": "USD"}


class TargetError(ValueError):
    """A target's text is not in one of the accepted forms."""


class Product(Enum):
    SPOT = "spot"
    OPTIONS = "options"
    FUTURES_USDT = "futures:usdt"
    FUTURES_BTC = "futures:btc"

    @property
    def settle(self) -> str | None:
        """The futures settle currency (``usdt``, ``btc``), None for spot and options."""
        return self.value.partition(":")[2] or None

    @property
    def is_futures(self) -> bool:
        return self.settle is not None


FUTURES_PRODUCTS = {"usdt": Product.FUTURES_USDT, "btc": Product.FUTURES_BTC}


class ScopeKind(Enum):
    ALL = "all"
    PAIR = "pair"
    UNDERLYING = "underlying"
    CONTRACT = "contract"


def is_pair(name: str) -> bool:
    return bool(PAIR_RE.match(name))


def is_contract(name: str) -> bool:
    return bool(CONTRACT_RE.match(name))


def is_futures_contract(settle: str, name: str) -> bool:
    """Whether ``name`` is a perpetual contract name of that settle: ``X_USDT`` or ``X_USD``."""
    quote = _SETTLE_QUOTE.get(settle)
    return quote is not None and is_pair(name) and name.rpartition("_")[2] == quote


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
            (Product.FUTURES_USDT, ScopeKind.ALL): self.name == "",
            (Product.FUTURES_USDT, ScopeKind.CONTRACT): is_futures_contract("usdt", self.name),
            (Product.FUTURES_BTC, ScopeKind.ALL): self.name == "",
            (Product.FUTURES_BTC, ScopeKind.CONTRACT): is_futures_contract("btc", self.name),
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
        if self.product.settle is not None:
            settle = self.product.settle.upper()
            return (f"every {settle} futures order" if self.is_all
                    else f"{self.name} {settle} futures orders")
        if self.is_all:
            return "every option order"
        if self.kind is ScopeKind.UNDERLYING:
            return f"every {self.name} option order"
        return f"{self.name} option orders"

    @property
    def cancelled(self) -> str:
        """What a firing on this scope cancelled, for "the exchange cancelled …": futures say
        plainly that their positions stay open (the countdown cancels orders only)."""
        words = self.describe()
        return f"{words} (positions stay open)" if self.settle is not None else words

    def countdown_params(self) -> dict[str, str]:
        """The scope fields of the countdown/cancel request body for this target."""
        if self.is_all:
            return {}
        if self.product is Product.SPOT:
            return {"currency_pair": self.name}
        if self.kind is ScopeKind.UNDERLYING:
            return {"underlying": self.name}
        return {"contract": self.name}

    @property
    def settle(self) -> str | None:
        return self.product.settle


def spot(pair: str | None = None) -> Target:
    return Target(Product.SPOT, ScopeKind.ALL) if pair is None else Target(
        Product.SPOT, ScopeKind.PAIR, pair)


def options(name: str | None = None) -> Target:
    if name is None:
        return Target(Product.OPTIONS, ScopeKind.ALL)
    if is_contract(name):
        return Target(Product.OPTIONS, ScopeKind.CONTRACT, name)
    return Target(Product.OPTIONS, ScopeKind.UNDERLYING, name)


def futures(settle: str, contract: str | None = None) -> Target:
    product = FUTURES_PRODUCTS.get(settle)
    if product is None:
        raise TargetError(f"{settle!r} is not a futures settle currency: use usdt or btc")
    if contract is None:
        return Target(product, ScopeKind.ALL)
    return Target(product, ScopeKind.CONTRACT, contract)


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
    if product_text == "futures":
        return _parse_futures(text, scope)
    raise TargetError(f"{text!r}: unknown product {product_text!r}; {FORMS_HELP}")


def _parse_futures(text: str, rest: str) -> Target:
    settle, sep, scope = rest.partition(":")
    settle, scope = settle.strip().lower(), scope.strip()
    if not sep or settle not in SETTLES or not scope:
        raise TargetError(f"{text!r}: futures targets name the settle currency first, "
                          f"usdt or btc; {FORMS_HELP}")
    if scope.lower() == "all":
        return futures(settle)
    scope = scope.upper()
    if not is_futures_contract(settle, scope):
        raise TargetError(
            f"{text!r}: {scope!r} is not a {settle.upper()}-settled perpetual contract like "
            f"{'BTC_USDT' if settle == 'usdt' else 'BTC_USD'}; {FORMS_HELP}")
    return futures(settle, scope)


def parse_contract(name: str) -> tuple[str, str, str, bool]:
    """Split a contract name into (underlying, expiry YYYYMMDD, strike, is_call)."""
    m = CONTRACT_RE.match(name)
    if not m:
        raise TargetError(f"{name!r} is not an option contract like BTC_USDT-20241001-46000-C")
    return m.group(1), m.group(2), m.group(3), m.group(4) == "C"


def covering_target(target: Target, chosen: Collection[Target]) -> Target | None:
    """The broader chosen target that already covers ``target``, if any. Pass a set when
    asking for many targets of a long list: each question is then one look-up, not a scan."""
    if target.is_all:
        return None
    if target.product is Product.SPOT:
        return spot() if spot() in chosen else None
    if target.product.settle is not None:
        whole = futures(target.product.settle)
        return whole if whole in chosen else None
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
