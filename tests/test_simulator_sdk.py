"""The official gate-api SDK against the simulator: if they disagree, the simulator is wrong."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import gate_api
import pytest
import requests
from gate_api.exceptions import GateApiException

from gui.simulator import Simulator
from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET

CONTRACT_NAME = re.compile(r"^[A-Z0-9]+_[A-Z0-9]+-\d{8}-\d+(\.\d+)?-[CP]$")

ClientFactory = Callable[..., gate_api.ApiClient]


@pytest.fixture
def make_client(sim: Simulator) -> Iterator[ClientFactory]:
    """Build SDK clients for the ``sim`` fixture; close their connection pools afterwards."""
    clients: list[gate_api.ApiClient] = []

    def make(key: str = TEST_KEY, secret: str = TEST_SECRET) -> gate_api.ApiClient:
        client = gate_api.ApiClient(gate_api.Configuration(host=sim.base_url, key=key,
                                                           secret=secret))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.rest_client.pool_manager.clear()
        client.close()


@pytest.fixture
def spot(make_client: ClientFactory) -> gate_api.SpotApi:
    return gate_api.SpotApi(make_client())


@pytest.fixture
def options(make_client: ClientFactory) -> gate_api.OptionsApi:
    return gate_api.OptionsApi(make_client())


def first_contract(options: gate_api.OptionsApi, underlying: str = "BTC_USDT") -> str:
    return str(options.list_options_contracts(underlying)[0].name)


# -- public market data ---------------------------------------------------------------------------


def test_server_time_is_milliseconds_near_now(spot: gate_api.SpotApi) -> None:
    server_ms = spot.get_system_time().server_time
    assert abs(server_ms - time.time() * 1000) < 5000


def test_currency_pairs(spot: gate_api.SpotApi) -> None:
    pairs = {p.id: p for p in spot.list_currency_pairs()}
    assert len(pairs) >= 25
    assert {"BTC_USDT", "ETH_USDT", "SOL_USDT"} <= set(pairs)
    assert pairs["BTC_USDT"].trade_status == "tradable"
    assert pairs["BTC_USDT"].base == "BTC" and pairs["BTC_USDT"].quote == "USDT"
    statuses = {p.trade_status for p in pairs.values()}
    assert {"tradable", "untradable"} <= statuses
    eth = spot.get_currency_pair("ETH_USDT")
    assert eth.id == "ETH_USDT" and eth.precision > 0


def test_unknown_currency_pair(spot: gate_api.SpotApi) -> None:
    with pytest.raises(GateApiException) as caught:
        spot.get_currency_pair("NOPE_USDT")
    assert caught.value.label == "INVALID_CURRENCY_PAIR"


def test_underlyings_contracts_and_expirations(options: gate_api.OptionsApi) -> None:
    names = {u.name for u in options.list_options_underlyings()}
    assert {"BTC_USDT", "ETH_USDT"} <= names
    contracts = options.list_options_contracts("BTC_USDT")
    assert contracts
    now = time.time()
    for contract in contracts:
        assert CONTRACT_NAME.match(contract.name), contract.name
        assert contract.underlying == "BTC_USDT"
        expiry = datetime.fromtimestamp(contract.expiration_time, tz=UTC)
        # Gate's options expire on Fridays at 08:00 UTC.
        assert (expiry.weekday(), expiry.hour, expiry.minute) == (4, 8, 0)
        assert contract.expiration_time > now
        assert contract.name.endswith("-C") == contract.is_call
    assert {c.is_call for c in contracts} == {True, False}
    expirations = options.list_options_expirations("BTC_USDT")
    assert expirations == sorted({int(c.expiration_time) for c in contracts})
    one = options.get_options_contract(contracts[0].name)
    assert one.name == contracts[0].name and one.mark_price


def test_contracts_need_an_underlying(sim: Simulator) -> None:
    with requests.get(f"{sim.base_url}/options/contracts", timeout=5) as answer:
        assert answer.status_code == 400
        assert answer.json()["label"] == "MISSING_REQUIRED_PARAM"


# -- countdowns ----------------------------------------------------------------------------------


def test_spot_countdown_arm_and_disarm(sim: Simulator, spot: gate_api.SpotApi) -> None:
    before_ms = time.time() * 1000
    armed = spot.countdown_cancel_all_spot(
        gate_api.CountdownCancelAllSpotTask(timeout=30, currency_pair="BTC_USDT"))
    assert abs(armed.trigger_time - (before_ms + 30_000)) < 2000
    everything = spot.countdown_cancel_all_spot(gate_api.CountdownCancelAllSpotTask(timeout=60))
    assert sim.countdowns() == {"spot:BTC_USDT": armed.trigger_time,
                                "spot:all": everything.trigger_time}

    disarmed = spot.countdown_cancel_all_spot(
        gate_api.CountdownCancelAllSpotTask(timeout=0, currency_pair="BTC_USDT"))
    assert disarmed.trigger_time == 0
    assert sim.countdowns() == {"spot:all": everything.trigger_time}
    spot.countdown_cancel_all_spot(gate_api.CountdownCancelAllSpotTask(timeout=0))
    assert sim.countdowns() == {}


def test_options_countdown_scopes(sim: Simulator, options: gate_api.OptionsApi) -> None:
    contract = first_contract(options)
    task = gate_api.CountdownCancelAllOptionsTask
    by_underlying = options.countdown_cancel_all_options(task(timeout=30, underlying="ETH_USDT"))
    by_contract = options.countdown_cancel_all_options(task(timeout=40, contract=contract))
    everything = options.countdown_cancel_all_options(task(timeout=50))
    assert sim.countdowns() == {
        "options:ETH_USDT": by_underlying.trigger_time,
        f"options:{contract}": by_contract.trigger_time,
        "options:all": everything.trigger_time,
    }
    # Both given: the contract is the scope.
    options.countdown_cancel_all_options(task(timeout=0, contract=contract, underlying="BTC_USDT"))
    assert f"options:{contract}" not in sim.countdowns()
    assert set(sim.countdowns()) == {"options:ETH_USDT", "options:all"}


@pytest.mark.parametrize(("task", "label"), [
    (gate_api.CountdownCancelAllSpotTask(timeout=3), "INVALID_PARAM_VALUE"),
    (gate_api.CountdownCancelAllSpotTask(timeout=-5), "INVALID_PARAM_VALUE"),
    (gate_api.CountdownCancelAllSpotTask(timeout=30, currency_pair="NOPE_USDT"),
     "INVALID_CURRENCY_PAIR"),
])
def test_spot_countdown_rejects(spot: gate_api.SpotApi, task: object, label: str) -> None:
    with pytest.raises(GateApiException) as caught:
        spot.countdown_cancel_all_spot(task)
    assert caught.value.status == 400 and caught.value.label == label


def test_options_countdown_rejects(options: gate_api.OptionsApi) -> None:
    task = gate_api.CountdownCancelAllOptionsTask
    contract = first_contract(options, "BTC_USDT")
    for bad in (task(timeout=30, underlying="NOPE_USDT"),
                task(timeout=30, contract="BTC_USDT-20000101-1-C"),
                task(timeout=30, contract=contract, underlying="ETH_USDT")):
        with pytest.raises(GateApiException) as caught:
            options.countdown_cancel_all_options(bad)
        assert caught.value.label == "INVALID_PARAM_VALUE"


# -- orders --------------------------------------------------------------------------------------


def test_spot_orders_place_list_cancel(sim: Simulator, spot: gate_api.SpotApi) -> None:
    placed = spot.create_order(gate_api.Order(
        currency_pair="BTC_USDT", side="buy", amount="0.001", price="50000", text="t-mine"))
    assert placed.id and placed.status == "open" and placed.left == "0.001"
    assert placed.text == "t-mine"
    eth = spot.create_order(gate_api.Order(currency_pair="ETH_USDT", side="sell", amount="1",
                                           price="5000"))
    spot.create_order(gate_api.Order(currency_pair="BTC_USDT", side="sell", amount="0.002",
                                     price="150000"))

    grouped = {g.currency_pair: g for g in spot.list_all_open_orders()}
    assert grouped["BTC_USDT"].total == 2 and grouped["ETH_USDT"].total == 1
    assert {o.id for o in spot.list_orders("BTC_USDT", "open")} >= {placed.id}
    assert len(sim.open_orders("spot")) == 3

    cancelled = spot.cancel_order(placed.id, "BTC_USDT")
    assert cancelled.status == "cancelled" and cancelled.finish_as == "cancelled"
    assert [o.id for o in spot.list_orders("BTC_USDT", "finished")] == [placed.id]

    only_eth = spot.cancel_orders(currency_pair="ETH_USDT")
    assert [(o.id, o.succeeded, o.status) for o in only_eth] == [(eth.id, True, "cancelled")]
    rest = spot.cancel_orders()
    assert [o.currency_pair for o in rest] == ["BTC_USDT"]
    assert spot.list_all_open_orders() == []
    with pytest.raises(GateApiException) as caught:
        spot.cancel_order(placed.id, "BTC_USDT")
    assert caught.value.label == "ORDER_NOT_FOUND"


def test_spot_order_rejects(spot: gate_api.SpotApi) -> None:
    for order, label in (
        (gate_api.Order(currency_pair="NOPE_USDT", side="buy", amount="1", price="1"),
         "INVALID_CURRENCY_PAIR"),
        (gate_api.Order(currency_pair="BTC_USDT", side="buy", amount="-1", price="1"),
         "INVALID_PARAM_VALUE"),
        (gate_api.Order(currency_pair="BTC_USDT", side="buy", amount="1", price="abc"),
         "INVALID_PARAM_VALUE"),
    ):
        with pytest.raises(GateApiException) as caught:
            spot.create_order(order)
        assert caught.value.label == label


def test_option_orders_place_list_cancel(sim: Simulator, options: gate_api.OptionsApi) -> None:
    btc_contract = first_contract(options, "BTC_USDT")
    eth_contract = first_contract(options, "ETH_USDT")
    bid = options.create_options_order(gate_api.OptionsOrder(contract=btc_contract, size=2,
                                                             price="100"))
    assert isinstance(bid.id, int) and bid.status == "open" and bid.left == 2
    ask = options.create_options_order(gate_api.OptionsOrder(contract=btc_contract, size=-1,
                                                             price="900"))
    eth = options.create_options_order(gate_api.OptionsOrder(contract=eth_contract, size=1,
                                                             price="10"))

    assert {o.id for o in options.list_options_orders("open")} == {bid.id, ask.id, eth.id}
    assert {o.id for o in options.list_options_orders("open", underlying="ETH_USDT")} == {eth.id}
    assert {o.id for o in options.list_options_orders("open", contract=btc_contract)} == {
        bid.id, ask.id}

    asks = options.cancel_options_orders(contract=btc_contract, side="ask")
    assert [(o.id, o.status, o.finish_as) for o in asks] == [(ask.id, "finished", "cancelled")]
    one = options.cancel_options_order(bid.id)
    assert one.status == "finished" and one.finish_as == "cancelled"
    assert [o.id for o in options.cancel_options_orders(underlying="ETH_USDT")] == [eth.id]
    assert options.list_options_orders("open") == []
    assert sim.open_orders("options") == []


def test_accounts(spot: gate_api.SpotApi, options: gate_api.OptionsApi) -> None:
    balances = {a.currency: a for a in spot.list_spot_accounts()}
    assert "USDT" in balances and balances["USDT"].locked == "0"
    spot.create_order(gate_api.Order(currency_pair="BTC_USDT", side="buy", amount="0.01",
                                     price="50000"))
    assert spot.list_spot_accounts(currency="USDT")[0].locked == "500"
    account = options.list_options_account()
    assert account.currency == "USDT" and float(account.total) > 0


def test_demo_orders_visible(demo_sim: Simulator) -> None:
    client = gate_api.ApiClient(gate_api.Configuration(host=demo_sim.base_url, key=TEST_KEY,
                                                       secret=TEST_SECRET))
    try:
        assert gate_api.SpotApi(client).list_all_open_orders()
        assert gate_api.OptionsApi(client).list_options_orders("open")
    finally:
        client.rest_client.pool_manager.clear()
        client.close()


# -- authentication and permissions --------------------------------------------------------------


def test_wrong_secret_is_invalid_signature(make_client: ClientFactory) -> None:
    spot = gate_api.SpotApi(make_client(TEST_KEY, "not-the-secret"))
    with pytest.raises(GateApiException) as caught:
        spot.countdown_cancel_all_spot(gate_api.CountdownCancelAllSpotTask(timeout=30))
    assert caught.value.status == 401 and caught.value.label == "INVALID_SIGNATURE"


def test_unknown_key_is_invalid_key(make_client: ClientFactory) -> None:
    spot = gate_api.SpotApi(make_client("who-is-this", TEST_SECRET))
    with pytest.raises(GateApiException) as caught:
        spot.list_spot_accounts()
    assert caught.value.status == 401 and caught.value.label == "INVALID_KEY"


def test_read_only_key_reads_but_cannot_write(sim: Simulator,
                                              make_client: ClientFactory) -> None:
    client = make_client(RO_KEY, RO_SECRET)
    spot, options = gate_api.SpotApi(client), gate_api.OptionsApi(client)
    assert spot.list_spot_accounts()
    assert options.list_options_orders("open") == []
    with pytest.raises(GateApiException) as caught:
        spot.countdown_cancel_all_spot(gate_api.CountdownCancelAllSpotTask(timeout=30))
    assert caught.value.status == 403 and caught.value.label == "READ_ONLY"
    with pytest.raises(GateApiException) as caught:
        options.cancel_options_orders()
    assert caught.value.label == "READ_ONLY"
    assert sim.countdowns() == {}


def test_per_product_permissions(sim: Simulator, make_client: ClientFactory) -> None:
    sim.add_key("spot-only-key", "spot-only-secret", options="none")
    sim.add_key("options-read-key", "options-read-secret", options="r")
    spot_only = make_client("spot-only-key", "spot-only-secret")
    gate_api.SpotApi(spot_only).countdown_cancel_all_spot(
        gate_api.CountdownCancelAllSpotTask(timeout=30))
    with pytest.raises(GateApiException) as caught:
        gate_api.OptionsApi(spot_only).list_options_account()
    assert caught.value.status == 403 and caught.value.label == "FORBIDDEN"

    options_read = gate_api.OptionsApi(make_client("options-read-key", "options-read-secret"))
    assert options_read.list_options_account().currency == "USDT"
    with pytest.raises(GateApiException) as caught:
        options_read.countdown_cancel_all_options(
            gate_api.CountdownCancelAllOptionsTask(timeout=30))
    assert caught.value.label == "READ_ONLY"
