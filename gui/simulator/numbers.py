"""How the simulated exchange writes numbers, as Gate does."""

from __future__ import annotations

from decimal import Decimal


def decimal_text(value: Decimal) -> str:
    """Gate's way of writing a decimal: plain, no trailing zeros (``"0.001"``, ``"100"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text
