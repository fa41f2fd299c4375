"""Which open orders belong to a protected scope, read from the exchange in one pass per product;
and cancelling a scope's open orders now.

NOTE: no Qt here. The window calls :func:`fetch_open_orders` through ``in_thread``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from gui.core.client import CancelResult, GateClient, OpenOrder
from gui.core.errors import GateError
from gui.core.targets import Product, ScopeKind, Target

ORDERS_REQUEST_TIMEOUT_S = 5.0


def fetch_open_orders(client: GateClient, targets: Sequence[Target],
                      timeout: float = ORDERS_REQUEST_TIMEOUT_S
                      ) -> dict[Target, list[OpenOrder] | GateError]:
    """The open orders of each target's scope; blocking (run it with ``in_thread``).

    One request per product (each futures settle is its own), split locally: asking per scope
    would cost one request per armed target on every refresh, and 200 option targets would
    exceed Gate's 200 per 10 s.
    """
    listers: dict[Product, Callable[[], list[OpenOrder]]] = {
        Product.SPOT: lambda: client.spot_open_orders(request_timeout=timeout),
        Product.OPTIONS: lambda: client.option_open_orders(request_timeout=timeout),
        Product.FUTURES_USDT: lambda: client.futures_open_orders("usdt", request_timeout=timeout),
        Product.FUTURES_BTC: lambda: client.futures_open_orders("btc", request_timeout=timeout),
    }
    result: dict[Target, list[OpenOrder] | GateError] = {}
    for product, list_orders in listers.items():
        chosen = [t for t in targets if t.product is product]
        if not chosen:
            continue
        try:
            orders = list_orders()
        except GateError as exc:
            result.update(dict.fromkeys(chosen, exc))
            continue
        for target in chosen:
            result[target] = [o for o in orders if in_scope(target, o.market)]
    return result


def open_orders(client: GateClient, target: Target,
                timeout: float = ORDERS_REQUEST_TIMEOUT_S) -> list[OpenOrder]:
    """The open orders a countdown on ``target`` would cancel; blocking. Raises what the
    exchange answered (a :class:`GateError`)."""
    found = fetch_open_orders(client, [target], timeout)[target]
    if isinstance(found, GateError):
        raise found
    return found


def in_scope(target: Target, market: str) -> bool:
    """Whether an order on ``market`` (a pair or a contract) is in ``target``'s scope."""
    if target.is_all or market == target.name:
        return True
    # An underlying covers its contracts, named UNDERLYING-YYYYMMDD-STRIKE-C|P.
    return target.kind is ScopeKind.UNDERLYING and market.startswith(target.name + "-")


class _Cancels(Protocol):
    def cancel_now(self, target: Target, *, request_timeout: float | None = None
                   ) -> list[CancelResult]: ...


async def cancel_scopes(client: _Cancels, executor: concurrent.futures.Executor | None,
                        targets: Iterable[Target], request_timeout: float,
                        said: Callable[..., None]) -> dict[Target, list[CancelResult] | GateError]:
    """Cancel the scopes' open orders now, all at once (countdowns are left as they are); each
    outcome is also handed to ``said(scope, message, **fields)`` for the journal."""
    loop = asyncio.get_running_loop()

    async def one(target: Target) -> tuple[Target, list[CancelResult] | GateError]:
        try:
            results = await loop.run_in_executor(
                executor, lambda: client.cancel_now(target, request_timeout=request_timeout))
        except GateError as exc:
            said(target, f"{target}: cancel now failed: {exc}", target=str(target),
                 outcome="failed", error=type(exc).__name__)
            return target, exc
        done = sum(1 for r in results if r.succeeded)
        said(target, f"{target}: cancelled {done} of {len(results)} open orders now",
             target=str(target), outcome="ok", cancelled=done, failed=len(results) - done)
        return target, results

    return dict(await asyncio.gather(*(one(t) for t in dict.fromkeys(targets))))
