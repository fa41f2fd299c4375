"""Futures targets: the text form, the covering rule per settle currency, the request fields."""

from __future__ import annotations

import pytest

from gui.core.orders import in_scope
from gui.core.targets import (
    FORMS_HELP,
    Product,
    ScopeKind,
    TargetError,
    covering_target,
    futures,
    parse_target,
    spot,
)


@pytest.mark.parametrize(("text", "product", "kind", "name"), [
    ("futures:usdt:BTC_USDT", Product.FUTURES_USDT, ScopeKind.CONTRACT, "BTC_USDT"),
    ("futures:usdt:all", Product.FUTURES_USDT, ScopeKind.ALL, ""),
    ("futures:btc:BTC_USD", Product.FUTURES_BTC, ScopeKind.CONTRACT, "BTC_USD"),
    ("futures:btc:all", Product.FUTURES_BTC, ScopeKind.ALL, ""),
    (" FUTURES:USDT:eth_usdt ", Product.FUTURES_USDT, ScopeKind.CONTRACT, "ETH_USDT"),
    ("futures:BTC:ALL", Product.FUTURES_BTC, ScopeKind.ALL, ""),
])
def test_futures_targets_parse_and_print_in_the_one_form(
        text: str, product: Product, kind: ScopeKind, name: str) -> None:
    target = parse_target(text)
    assert (target.product, target.kind, target.name) == (product, kind, name)
    assert parse_target(str(target)) == target
    assert str(target) == f"{product.value}:{name or 'all'}"


@pytest.mark.parametrize(("text", "words"), [
    ("futures:BTC_USDT", "settle currency first"),
    ("futures:all", "settle currency first"),
    ("futures:usd:BTC_USDT", "settle currency first"),
    ("futures:delivery:BTC_USDT", "settle currency first"),
    ("futures:usdt:", "settle currency first"),
    ("futures:usdt:BTC_USD", "USDT-settled perpetual contract like BTC_USDT"),
    ("futures:btc:BTC_USDT", "BTC-settled perpetual contract like BTC_USD"),
    ("futures:usdt:BTC-USDT", "USDT-settled"),
    ("futures:usdt:BTC_USDT&contract=ETH_USDT", "USDT-settled"),
    ("futures:usdt:all:BTC_USDT", "USDT-settled"),
])
def test_a_bad_futures_target_is_refused_with_the_accepted_forms(text: str, words: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    assert words in str(info.value)
    assert FORMS_HELP in str(info.value)


def test_a_settle_covers_its_own_contracts_only() -> None:
    usdt_all, btc_all = futures("usdt"), futures("btc")
    btc_usdt, btc_usd = futures("usdt", "BTC_USDT"), futures("btc", "BTC_USD")
    chosen = [usdt_all, spot()]
    assert covering_target(btc_usdt, chosen) == usdt_all
    assert covering_target(btc_usd, chosen) is None
    assert covering_target(btc_usd, [btc_all]) == btc_all
    assert covering_target(btc_usdt, [btc_all, spot()]) is None
    assert covering_target(usdt_all, [usdt_all]) is None
    assert covering_target(spot("BTC_USDT"), [usdt_all]) is None


def test_futures_countdown_fields_name_the_contract_or_nothing() -> None:
    assert futures("usdt", "BTC_USDT").countdown_params() == {"contract": "BTC_USDT"}
    assert futures("btc").countdown_params() == {}
    assert futures("usdt").settle == "usdt"
    assert futures("btc", "BTC_USD").settle == "btc"
    assert spot().settle is None


def test_a_futures_scope_holds_exactly_its_contract() -> None:
    assert in_scope(futures("usdt", "BTC_USDT"), "BTC_USDT")
    assert not in_scope(futures("usdt", "BTC_USDT"), "ETH_USDT")
    assert in_scope(futures("usdt"), "ETH_USDT")


def test_futures_scopes_are_described_with_their_settle() -> None:
    assert futures("usdt").describe() == "every USDT futures order"
    assert futures("btc", "BTC_USD").describe() == "BTC_USD BTC futures orders"


def test_a_futures_firing_says_the_positions_stay_open() -> None:
    from gui.core.errors import ServerError
    from gui.core.heartbeat import State
    from tests.test_engine_unit import Rig

    target = parse_target("futures:usdt:BTC_USDT")
    failing: list[bool] = []

    def behave(_target: object, timeout: int) -> object:
        return ServerError("busy", status=503) if timeout and failing else None

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([target], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(target).state is State.ARMED)  # type: ignore[union-attr]
        failing.append(True)
        await rig.until(lambda: rig.engine.status(target).state is State.FIRED)  # type: ignore[union-attr]

    rig = Rig(behave)
    rig.play(scenario)
    status = rig.engine.status(target)
    assert status is not None
    assert "cancelled BTC_USDT USDT futures orders (positions stay open)" in status.reason
