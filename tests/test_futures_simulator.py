"""The simulator's futures, Gate-shaped and Gate-strict, and where it is as strict as Gate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from gui.simulator import Simulator
from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET, signed_call


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.headers["X-Gate-Size-Decimal"] = "1"  # as the SDK and ccxt send it
        yield http


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def call(session: requests.Session, sim: Simulator, method: str, path: str, *,
         body: Any = None, query: str = "", key: str = TEST_KEY,
         secret: str = TEST_SECRET) -> requests.Response:
    return signed_call(session, sim.base_url, method, path, body=body, query=query, key=key,
                       secret=secret)


def countdown(session: requests.Session, sim: Simulator, settle: str, timeout: int,
              **scope: str) -> requests.Response:
    return call(session, sim, "POST", f"/futures/{settle}/countdown_cancel_all",
                body={"timeout": timeout, **scope})


def order(sim: Simulator, product: str, market: str) -> int:
    return int(sim.place_order(product, market, price="100")["id"])


# -- firing --------------------------------------------------------------------------------------


def test_a_futures_countdown_fires_on_its_contract_only(sim: Simulator,
                                                       session: requests.Session) -> None:
    btc = [order(sim, "futures:usdt", "BTC_USDT"), order(sim, "futures:usdt", "BTC_USDT")]
    eth = order(sim, "futures:usdt", "ETH_USDT")
    inverse = order(sim, "futures:btc", "BTC_USD")
    spot = sim.place_order("spot", "BTC_USDT")["id"]
    armed = countdown(session, sim, "usdt", 5, contract="BTC_USDT")
    assert armed.ok, armed.text
    trigger = int(armed.json()["triggerTime"])
    assert sim.countdowns() == {"futures:usdt:BTC_USDT": trigger}
    sim.set_clock_skew(6)  # the server's clock passes the deadline now, not in 5 s
    assert wait_until(lambda: bool(sim.firings()), 3.0)
    [firing] = sim.firings()
    assert firing.scope == "futures:usdt:BTC_USDT" and firing.trigger_time_ms == trigger
    assert sorted(int(i) for i in firing.order_ids) == sorted(btc)
    assert sorted(o["id"] for o in sim.open_orders("futures")) == sorted([eth, inverse])
    assert [o["id"] for o in sim.open_orders("spot")] == [spot]


def test_a_settle_countdown_fires_that_settle_only(sim: Simulator,
                                                   session: requests.Session) -> None:
    usdt = order(sim, "futures:usdt", "BTC_USDT")
    inverse = [order(sim, "futures:btc", "BTC_USD"), order(sim, "futures:btc", "ETH_USD")]
    assert countdown(session, sim, "btc", 5).ok
    sim.set_clock_skew(6)
    assert wait_until(lambda: bool(sim.firings()), 3.0)
    [firing] = sim.firings()
    assert firing.scope == "futures:btc:all"
    assert sorted(int(i) for i in firing.order_ids) == sorted(inverse)
    assert [o["id"] for o in sim.open_orders("futures")] == [usdt]


def test_timeout_zero_ends_a_futures_countdown(sim: Simulator,
                                               session: requests.Session) -> None:
    assert countdown(session, sim, "usdt", 30, contract="BTC_USDT").ok
    ended = countdown(session, sim, "usdt", 0, contract="BTC_USDT")
    # A documented choice: Gate documents nothing for timeout 0; the simulator says "0".
    assert ended.ok and ended.json() == {"triggerTime": "0"}
    assert sim.countdowns() == {}


# -- Gate's shapes and refusals ------------------------------------------------------------------


@pytest.mark.parametrize(("settle", "body", "label"), [
    ("usdt", {"timeout": 3}, "INVALID_PARAM_VALUE"),
    ("usdt", {"timeout": "30"}, "INVALID_PARAM_VALUE"),
    ("usdt", {}, "MISSING_REQUIRED_PARAM"),
    ("usdt", {"timeout": 30, "contract": "BTC_USD"}, "CONTRACT_NOT_FOUND"),
    ("btc", {"timeout": 30, "contract": "BTC_USDT"}, "CONTRACT_NOT_FOUND"),
    ("usdt", {"timeout": 30, "contract": 5}, "INVALID_PARAM_VALUE"),
])
def test_bad_futures_countdowns_are_refused(sim: Simulator, session: requests.Session,
                                            settle: str, body: dict[str, Any],
                                            label: str) -> None:
    answer = call(session, sim, "POST", f"/futures/{settle}/countdown_cancel_all", body=body)
    assert answer.status_code == 400 and answer.json()["label"] == label
    assert sim.countdowns() == {}


def test_an_unknown_settle_is_refused(sim: Simulator, session: requests.Session) -> None:
    answer = call(session, sim, "POST", "/futures/eth/countdown_cancel_all",
                  body={"timeout": 30})
    assert answer.status_code == 400 and answer.json()["label"] == "INVALID_PARAM_VALUE"
    public = session.get(f"{sim.base_url}/futures/usd/contracts", timeout=5)
    assert public.status_code == 400


def test_orders_are_placed_listed_and_cancelled_with_string_sizes(
        sim: Simulator, session: requests.Session) -> None:
    placed = call(session, sim, "POST", "/futures/usdt/orders",
                  body={"contract": "BTC_USDT", "size": "-3", "price": "110000", "tif": "gtc"})
    assert placed.ok, placed.text
    data = placed.json()
    assert (data["size"], data["left"], data["status"]) == ("-3", "-3", "open")
    legacy = call(session, sim, "POST", "/futures/usdt/orders",
                  body={"contract": "ETH_USDT", "size": 2, "price": "3000"})
    assert legacy.ok and legacy.json()["size"] == "2"
    listed = call(session, sim, "GET", "/futures/usdt/orders", query="status=open&limit=100")
    assert sorted(o["contract"] for o in listed.json()) == ["BTC_USDT", "ETH_USDT"]
    only = call(session, sim, "GET", "/futures/usdt/orders",
                query="status=open&contract=ETH_USDT")
    assert [o["contract"] for o in only.json()] == ["ETH_USDT"]
    assert call(session, sim, "GET", "/futures/btc/orders", query="status=open").json() == []
    gone = call(session, sim, "DELETE", "/futures/usdt/orders", query="contract=BTC_USDT")
    assert [(o["id"], o["finish_as"], o["succeeded"]) for o in gone.json()] == [
        (data["id"], "cancelled", True)]
    one = call(session, sim, "DELETE", f"/futures/usdt/orders/{legacy.json()['id']}")
    assert one.ok and one.json()["finish_as"] == "cancelled"
    assert sim.open_orders("futures") == []


@pytest.mark.parametrize(("body", "label"), [
    ({"contract": "BTC_USDT", "size": "0", "price": "1"}, "INVALID_PARAM_VALUE"),
    ({"contract": "BTC_USDT", "size": "1.5", "price": "1"}, "INVALID_PARAM_VALUE"),
    ({"contract": "BTC_USDT", "size": True, "price": "1"}, "INVALID_PARAM_VALUE"),
    ({"contract": "BTC_USDT", "price": "1"}, "MISSING_REQUIRED_PARAM"),
    ({"contract": "NOPE_USDT", "size": "1", "price": "1"}, "CONTRACT_NOT_FOUND"),
    ({"contract": "LUNC_USDT", "size": "1", "price": "1"}, "CONTRACT_IN_DELISTING"),
])
def test_bad_futures_orders_are_refused(sim: Simulator, session: requests.Session,
                                        body: dict[str, Any], label: str) -> None:
    answer = call(session, sim, "POST", "/futures/usdt/orders", body=body)
    assert answer.status_code == 400 and answer.json()["label"] == label
    assert sim.open_orders("futures") == []


def test_list_limits_stop_at_gates_maximum(sim: Simulator, session: requests.Session) -> None:
    for path, query in (("/futures/usdt/orders", "status=open&limit=101"),
                        ("/spot/orders", "currency_pair=BTC_USDT&status=open&limit=101")):
        answer = call(session, sim, "GET", path, query=query)
        assert answer.status_code == 400 and answer.json()["label"] == "INVALID_PARAM_VALUE"


def test_a_settle_never_opened_answers_user_not_found(session: requests.Session) -> None:
    with Simulator(keys={TEST_KEY: TEST_SECRET}, futures_accounts=("usdt",)) as sim:
        for method, path, query, body in (
                ("POST", "/futures/btc/countdown_cancel_all", "", {"timeout": 30}),
                ("GET", "/futures/btc/orders", "status=open", None),
                ("GET", "/futures/btc/accounts", "", None),
                ("DELETE", "/futures/btc/orders", "", None)):
            answer = call(session, sim, method, path, query=query, body=body)
            assert answer.status_code == 400, path
            assert answer.json()["label"] == "USER_NOT_FOUND"
        assert call(session, sim, "GET", "/futures/usdt/accounts").json()["currency"] == "USDT"
        # Public data does not need an account.
        assert session.get(f"{sim.base_url}/futures/btc/contracts", timeout=5).ok
        assert sim.countdowns() == {}


def test_a_read_only_key_may_not_arm_or_cancel_futures(sim: Simulator,
                                                       session: requests.Session) -> None:
    for method, path, query, body in (
            ("POST", "/futures/usdt/countdown_cancel_all", "", {"timeout": 30}),
            ("DELETE", "/futures/usdt/orders", "contract=BTC_USDT", None)):
        answer = call(session, sim, method, path, query=query, body=body, key=RO_KEY,
                      secret=RO_SECRET)
        assert answer.status_code == 403 and answer.json()["label"] == "READ_ONLY"
    assert call(session, sim, "GET", "/futures/usdt/accounts", key=RO_KEY,
                secret=RO_SECRET).ok


# -- rate limits ---------------------------------------------------------------------------------


def test_every_key_of_the_account_shares_one_rate_window(
        sim: Simulator, session: requests.Session) -> None:
    keys = [(TEST_KEY, TEST_SECRET), (RO_KEY, RO_SECRET)]
    answers = [call(session, sim, "GET", "/futures/usdt/accounts", key=k, secret=s)
               for i in range(200) for k, s in [keys[i % 2]]]
    assert all(a.ok for a in answers)
    refused = call(session, sim, "GET", "/futures/usdt/accounts", key=RO_KEY, secret=RO_SECRET)
    assert refused.status_code == 429 and refused.json()["label"] == "TOO_MANY_REQUESTS"
    reset_ms = int(refused.headers["X-Gate-RateLimit-Reset-Timestamp"])
    assert reset_ms > sim.server_time() * 1000


def test_the_reset_header_is_the_current_time_when_not_limited(
        sim: Simulator, session: requests.Session) -> None:
    before = int(sim.server_time() * 1000)
    answer = call(session, sim, "GET", "/futures/usdt/accounts")
    after = int(sim.server_time() * 1000)
    assert answer.ok and answer.headers["X-Gate-RateLimit-Requests-Remain"] == "199"
    assert before <= int(answer.headers["X-Gate-RateLimit-Reset-Timestamp"]) <= after


def test_a_spot_bulk_cancel_can_fail_in_part_too(sim: Simulator,
                                                 session: requests.Session) -> None:
    ids = [sim.place_order("spot", "BTC_USDT")["id"] for _ in range(3)]
    sim.fail_bulk_cancels(1)
    answer = call(session, sim, "DELETE", "/spot/orders", query="currency_pair=BTC_USDT")
    outcome = {o["id"]: (o["succeeded"], o["label"]) for o in answer.json()}
    assert outcome == {ids[0]: (True, ""), ids[1]: (False, "CANCEL_FAIL"), ids[2]: (True, "")}
    assert [o["id"] for o in sim.open_orders("spot")] == [ids[1]]
    again = call(session, sim, "DELETE", "/spot/orders", query="currency_pair=BTC_USDT")
    assert [o["succeeded"] for o in again.json()] == [True]  # only the next one failed in part


def test_without_the_size_header_sizes_are_integers(sim: Simulator) -> None:
    # A documented choice: X-Gate-Size-Decimal: 1 asks for decimal string sizes; without it
    # the answer keeps the integer form Gate used before v4.106.
    with requests.Session() as legacy:
        placed = call(legacy, sim, "POST", "/futures/usdt/orders",
                      body={"contract": "BTC_USDT", "size": "-3", "price": "110000"})
        assert placed.ok and (placed.json()["size"], placed.json()["left"]) == (-3, -3)
        listed = call(legacy, sim, "GET", "/futures/usdt/orders", query="status=open")
        assert [o["size"] for o in listed.json()] == [-3]
        contracts = legacy.get(f"{sim.base_url}/futures/usdt/contracts", timeout=5).json()
        assert all(isinstance(c["order_size_min"], int) for c in contracts)
