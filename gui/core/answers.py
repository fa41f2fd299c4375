"""Typed answers both the client and its futures endpoints return, and the checks of their shape.

Every check raises :class:`BadResponseError` (retryable: a proxy may have answered) or, for the
caller's own input, :class:`InvalidInputError`, so a malformed answer is never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gui.core.errors import BadResponseError, InvalidInputError
from gui.core.targets import Product


@dataclass(frozen=True)
class OpenOrder:
    product: Product
    id: str
    market: str  # currency pair or contract
    side: str
    amount: str
    price: str
    left: str


@dataclass(frozen=True)
class CancelResult:
    id: str
    market: str
    succeeded: bool
    label: str = ""
    message: str = ""


def check_name(kind: str, value: str | None, valid: Callable[[str], bool], example: str) -> None:
    if value is not None and not valid(value):
        raise InvalidInputError(f"{value!r:.60} is not a {kind} in Gate's form, like {example}.")


def expect(data: object, kind: type, what: str) -> Any:
    if not isinstance(data, kind):
        raise BadResponseError(f"The answer for {what} has the wrong shape.")
    return data


def text(item: Mapping[str, Any], key: str, what: str) -> str:
    value = item.get(key)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise BadResponseError(f"The answer for {what} lacks a usable {key!r}.")


def cancel_results(data: object, market_key: str) -> list[CancelResult]:
    """The per-order outcomes of a cancel-all answer."""
    results = []
    for item in expect(data, list, "the cancel"):
        obj = expect(item, dict, "the cancel")
        succeeded = obj.get("succeeded")
        if succeeded is None:
            # Older answers list the cancelled orders themselves.
            succeeded = obj.get("status") in ("cancelled", "finished", None)
        results.append(CancelResult(
            id=text(obj, "id", "the cancel"),
            market=str(obj.get(market_key, "")),
            succeeded=bool(succeeded),
            label=str(obj.get("label", "") or ""),
            message=str(obj.get("message", "") or ""),
        ))
    return results
