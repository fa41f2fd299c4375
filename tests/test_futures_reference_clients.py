"""The official SDK and ccxt against the simulator's futures: if they disagree, the simulator is
wrong (or, where Gate documents nothing, its documented choice is one they cannot use)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gate_api
import pytest
from gate_api.exceptions import GateApiException

from gui.simulator import Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET


@pytest.fixture
def futures_api(sim: Simulator) -> Iterator[gate_api.FuturesApi]:
    client = gate_api.ApiClient(gate_api.Configuration(host=sim.base_url, key=TEST_KEY,
                                                       secret=TEST_SECRET))
    yield gate_api.FuturesApi(client)
    client.rest_client.pool_manager.clear()
    client.close()


@pytest.fixture
def gate_ccxt(sim: Simulator) -> Iterator[Any]:
    ccxt = pytest.importorskip("ccxt")
    exchange = ccxt.gate({"apiKey": TEST_KEY, "secret": TEST_SECRET, "timeout": 5000})
    exchange.urls["api"] = {
        access: dict.fromkeys(exchange.urls["api"][access], sim.base_url)
        for access in ("public", "private")}
    yield exchange
    session = getattr(exchange, "session", None)
    if session is not None:
        session.close()


def test_the_sdk_lists_contracts_of_each_settle(futures_api: gate_api.FuturesApi) -> None:
    usdt = futures_api.list_futures_contracts("usdt")
    btc = futures_api.list_futures_contracts("btc")
    assert "BTC_USDT" in {c.name for c in usdt} and "BTC_USD" in {c.name for c in btc}
    delisting = {c.name for c in usdt if c.in_delisting}
    assert delisting == {"LUNC_USDT", "FTT_USDT"}
    [one] = [c for c in usdt if c.name == "BTC_USDT"]
    assert one.type == "direct" and one.quanto_multiplier == "0.0001"


def test_the_sdk_places_lists_arms_and_cancels(sim: Simulator,
                                               futures_api: gate_api.FuturesApi) -> None:
    placed = futures_api.create_futures_order(
        "usdt", gate_api.FuturesOrder(contract="BTC_USDT", size="-2", price="110000",
                                      tif="gtc"))
    assert placed.status == "open" and str(placed.size) == "-2"
    futures_api.create_futures_order(
        "btc", gate_api.FuturesOrder(contract="BTC_USD", size="5", price="90000"))
    listed = futures_api.list_futures_orders("usdt", "open")
    assert [o.id for o in listed] == [placed.id]

    armed = futures_api.countdown_cancel_all_futures(
        "usdt", gate_api.CountdownCancelAllFuturesTask(timeout=30, contract="BTC_USDT"))
    assert sim.countdowns() == {"futures:usdt:BTC_USDT": armed.trigger_time}
    whole = futures_api.countdown_cancel_all_futures(
        "btc", gate_api.CountdownCancelAllFuturesTask(timeout=30))
    assert sim.countdowns()["futures:btc:all"] == whole.trigger_time
    futures_api.countdown_cancel_all_futures(
        "usdt", gate_api.CountdownCancelAllFuturesTask(timeout=0, contract="BTC_USDT"))
    assert set(sim.countdowns()) == {"futures:btc:all"}

    cancelled = futures_api.cancel_futures_orders("usdt", contract="BTC_USDT")
    assert [o.id for o in cancelled] == [placed.id]
    assert [o["contract"] for o in sim.open_orders("futures")] == ["BTC_USD"]


def test_the_sdk_reads_gates_refusals(futures_api: gate_api.FuturesApi) -> None:
    with pytest.raises(GateApiException) as info:
        futures_api.countdown_cancel_all_futures(
            "usdt", gate_api.CountdownCancelAllFuturesTask(timeout=3))
    assert info.value.label == "INVALID_PARAM_VALUE"


def test_the_sdk_sees_user_not_found_for_a_settle_never_opened() -> None:
    with Simulator(keys={TEST_KEY: TEST_SECRET}, futures_accounts=("usdt",)) as sim:
        client = gate_api.ApiClient(gate_api.Configuration(host=sim.base_url, key=TEST_KEY,
                                                           secret=TEST_SECRET))
        try:
            with pytest.raises(GateApiException) as info:
                gate_api.FuturesApi(client).countdown_cancel_all_futures(
                    "btc", gate_api.CountdownCancelAllFuturesTask(timeout=30))
            assert info.value.label == "USER_NOT_FOUND"
        finally:
            client.rest_client.pool_manager.clear()
            client.close()


def test_ccxt_arms_the_futures_countdown_with_its_own_signer(sim: Simulator,
                                                             gate_ccxt: Any) -> None:
    answer = gate_ccxt.private_futures_post_settle_countdown_cancel_all(
        {"settle": "usdt", "timeout": 30, "contract": "BTC_USDT"})
    assert sim.countdowns() == {"futures:usdt:BTC_USDT": int(answer["triggerTime"])}
    gate_ccxt.private_futures_post_settle_countdown_cancel_all({"settle": "btc", "timeout": 30})
    assert "futures:btc:all" in sim.countdowns()


def test_ccxt_lists_and_cancels_futures_orders(sim: Simulator, gate_ccxt: Any) -> None:
    sim.place_order("futures:usdt", "ETH_USDT", price="3000")
    listed = gate_ccxt.private_futures_get_settle_orders(
        {"settle": "usdt", "status": "open", "limit": 100})
    assert [o["contract"] for o in listed] == ["ETH_USDT"]
    cancelled = gate_ccxt.private_futures_delete_settle_orders(
        {"settle": "usdt", "contract": "ETH_USDT"})
    assert [o["finish_as"] for o in cancelled] == ["cancelled"]
    assert sim.open_orders("futures") == []
