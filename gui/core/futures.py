"""Gate's perpetual futures endpoints, one account per settle currency (``usdt``, ``btc``).

:class:`FuturesEndpoints` is part of :class:`gui.core.client.GateClient`; it lives here to keep
the futures conventions together:

- Every path names the settle: ``/futures/{settle}/…``. Each settle is its own account; a
  settle the user never opened answers ``USER_NOT_FOUND`` (:class:`NoFuturesAccountError`).
- Sizes are decimal strings since APIv4 v4.106 (the client sends ``X-Gate-Size-Decimal: 1``, as
  the official SDK does); older answers carry integers. Both are read; a negative size sells.
- The countdown (``POST /futures/{settle}/countdown_cancel_all``) cancels open **orders**; it
  never closes a position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from gui.core.answers import CancelResult, OpenOrder, cancel_results, check_name, expect, text
from gui.core.errors import BadParameterError, InvalidInputError
from gui.core.targets import FUTURES_PRODUCTS, SETTLES, is_futures_contract

# Gate's largest page of futures orders is 100; a bound on pages read, far past manual trading.
FUTURES_ORDER_PAGE = 100
MAX_FUTURES_ORDER_PAGES = 20
# Gate's statuses of a contract that is leaving the market; orders on it may still rest.
DELISTING_STATUSES = frozenset({"delisting", "delisted"})


@dataclass(frozen=True)
class FuturesContract:
    name: str
    settle: str
    type: str  # "direct" (USDT-margined) or "inverse" (BTC-margined)
    status: str  # trading | delisting | delisted | prelaunch | circuit_breaker ("" if not said)
    in_delisting: bool
    multiplier: str  # quanto_multiplier: the underlying amount of one contract

    @property
    def delisting(self) -> bool:
        return self.in_delisting or self.status in DELISTING_STATUSES


def check_settle(settle: str) -> str:
    if settle not in SETTLES:
        raise InvalidInputError(
            f"{settle!r:.20} is not a futures settle currency: use usdt or btc.")
    return settle


def futures_side(size: object) -> str:
    """``buy`` or ``sell`` from a futures size (a decimal string or a number; negative sells)."""
    if isinstance(size, bool):
        return ""
    try:
        value = Decimal(str(size).strip())
    except InvalidOperation:
        return ""
    if not value.is_finite():
        return ""
    return "sell" if value < 0 else "buy"


class FuturesEndpoints:
    """The futures half of the client; needs the client's signed ``_request``."""

    if TYPE_CHECKING:
        def _request(self, method: str, path: str, *,
                     params: Sequence[tuple[str, str]] = (),
                     body: Mapping[str, object] | None = None, signed: bool = False,
                     timeout: float | None = None, _clock_retry: bool = True) -> Any: ...

    def futures_contracts(self, settle: str, timeout: float | None = None
                          ) -> list[FuturesContract]:
        """Every perpetual contract of a settle currency (``GET /futures/{settle}/contracts``)."""
        check_settle(settle)
        what = f"{settle.upper()} futures contracts"
        data = expect(self._request("GET", f"/futures/{settle}/contracts", timeout=timeout),
                      list, what)
        contracts = []
        for item in data:
            obj = expect(item, dict, what)
            contracts.append(FuturesContract(
                name=text(obj, "name", what), settle=settle, type=str(obj.get("type", "")),
                status=str(obj.get("status", "") or ""),
                in_delisting=obj.get("in_delisting") is True,
                multiplier=str(obj.get("quanto_multiplier", "") or "")))
        return contracts

    def futures_countdown_path(self, settle: str) -> str:
        return f"/futures/{check_settle(settle)}/countdown_cancel_all"

    def futures_open_orders(self, settle: str, *, contract: str | None = None,
                            request_timeout: float | None = None) -> list[OpenOrder]:
        """Open orders of one settle (``GET /futures/{settle}/orders?status=open``), paged."""
        check_settle(settle)
        check_name(f"{settle.upper()} futures contract", contract,
                   lambda n: is_futures_contract(settle, n), _example(settle))
        what = f"open {settle.upper()} futures orders"
        scope = [("contract", contract)] if contract else []
        found: dict[str, OpenOrder] = {}
        for page in range(MAX_FUTURES_ORDER_PAGES):
            params = [("status", "open"), *scope, ("limit", str(FUTURES_ORDER_PAGE)),
                      ("offset", str(page * FUTURES_ORDER_PAGE))]
            listed = expect(self._request("GET", f"/futures/{settle}/orders", params=params,
                                          signed=True, timeout=request_timeout), list, what)
            for item in listed:
                o = expect(item, dict, what)
                size = o.get("size", "")
                order = OpenOrder(
                    product=FUTURES_PRODUCTS[settle], id=text(o, "id", what),
                    market=str(o.get("contract", "")), side=futures_side(size),
                    amount=str(size), price=str(o.get("price", "")),
                    left=str(o.get("left", "")))
                found[order.id] = order  # an order that moved between pages counts once
            if len(listed) < FUTURES_ORDER_PAGE:
                break
        return list(found.values())

    def cancel_futures_orders(self, settle: str, contract: str | None = None, *,
                              request_timeout: float | None = None) -> list[CancelResult]:
        """Cancel a contract's open orders now, or every contract's of that settle.

        Gate's v4.105 docs require ``contract`` while the SDK makes it optional: when Gate
        refuses the request without one, each contract with open orders is cancelled in turn.
        """
        check_settle(settle)
        check_name(f"{settle.upper()} futures contract", contract,
                   lambda n: is_futures_contract(settle, n), _example(settle))
        path = f"/futures/{settle}/orders"
        if contract:
            return cancel_results(self._request("DELETE", path, params=[("contract", contract)],
                                                signed=True, timeout=request_timeout), "contract")
        try:
            return cancel_results(self._request("DELETE", path, signed=True,
                                                timeout=request_timeout), "contract")
        except BadParameterError as exc:
            if exc.label != "MISSING_REQUIRED_PARAM":
                raise
        results: list[CancelResult] = []
        contracts = {o.market for o in self.futures_open_orders(
            settle, request_timeout=request_timeout)}
        for name in sorted(contracts):
            results.extend(self.cancel_futures_orders(settle, name,
                                                      request_timeout=request_timeout))
        return results


def _example(settle: str) -> str:
    return "BTC_USDT" if settle == "usdt" else "BTC_USD"
