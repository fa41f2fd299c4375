"""The simulator's HTTP surface in detail: authentication, validation, headers, control API."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from gui.simulator import Simulator
from gui.simulator.exchange import MAX_TIMEOUT_S
from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET, signed_call, signed_headers


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def spot_countdown_raw(session: requests.Session, sim: Simulator, body: bytes,
                       key: str = TEST_KEY, secret: str = TEST_SECRET) -> requests.Response:
    return signed_call(session, sim.base_url, "POST", "/spot/countdown_cancel_all", body=body,
                       key=key, secret=secret)


# -- authentication ------------------------------------------------------------------------------


def test_missing_headers(sim: Simulator, session: requests.Session) -> None:
    url = f"{sim.base_url}/spot/accounts"
    for headers in ({}, {"KEY": TEST_KEY}, {"KEY": TEST_KEY, "Timestamp": str(time.time())}):
        answer = session.get(url, headers=headers, timeout=5)
        assert answer.status_code == 401
        assert answer.json()["label"] == "MISSING_REQUIRED_HEADER"


def test_timestamp_must_be_a_number(sim: Simulator, session: requests.Session) -> None:
    for stamp in ("yesterday", "nan", ""):
        answer = signed_call(session, sim.base_url, "GET", "/spot/accounts", timestamp=stamp)
        expected = (401, "MISSING_REQUIRED_HEADER") if stamp == "" else (
            400, "INVALID_PARAM_VALUE")
        assert (answer.status_code, answer.json()["label"]) == expected


@pytest.mark.parametrize("stamp", [
    pytest.param(lambda: str(int(time.time())), id="integer, like ccxt"),
    pytest.param(lambda: f"{time.time():.6f}", id="microseconds"),
    pytest.param(lambda: str(time.time()), id="float repr, like the SDK"),
])
def test_integer_and_fractional_timestamps(sim: Simulator, session: requests.Session,
                                           stamp: Callable[[], str]) -> None:
    answer = signed_call(session, sim.base_url, "GET", "/spot/accounts", timestamp=stamp())
    assert answer.ok, answer.text


def test_query_signed_decoded_only(sim: Simulator, session: requests.Session) -> None:
    # Gate signs the query "without URL encode": a signature over the encoded string is
    # refused (commas sent as %2C fail at Gate), one over the decoded string is accepted.
    sent = "currency=USDT&note=a%2Cb%20c"
    answer = signed_call(session, sim.base_url, "GET", "/spot/accounts", query=sent,
                         sign_query="currency=USDT&note=a,b c")
    assert answer.ok, answer.text
    assert [a["currency"] for a in answer.json()] == ["USDT"]
    for signed_as in (sent, "currency=USDT"):
        wrong = signed_call(session, sim.base_url, "GET", "/spot/accounts", query=sent,
                            sign_query=signed_as)
        assert wrong.status_code == 401
        assert wrong.json()["label"] == "INVALID_SIGNATURE"


def test_signature_covers_body_and_path(sim: Simulator, session: requests.Session) -> None:
    stamp = f"{time.time():.3f}"
    body = json.dumps({"timeout": 30}).encode()
    headers = signed_headers(TEST_KEY, TEST_SECRET, "POST", "/api/v4/spot/countdown_cancel_all",
                             "", body, stamp)
    tampered = session.post(f"{sim.base_url}/spot/countdown_cancel_all", timeout=5,
                            data=json.dumps({"timeout": 3000}).encode(), headers=headers)
    assert (tampered.status_code, tampered.json()["label"]) == (401, "INVALID_SIGNATURE")
    # Without the /api/v4 prefix in the signed path, as a careless client would sign it.
    headers = signed_headers(TEST_KEY, TEST_SECRET, "POST", "/spot/countdown_cancel_all", "",
                             body, stamp)
    unprefixed = session.post(f"{sim.base_url}/spot/countdown_cancel_all", data=body,
                              headers=headers, timeout=5)
    assert unprefixed.json()["label"] == "INVALID_SIGNATURE"
    assert sim.countdowns() == {}


def test_public_endpoints_need_no_key(sim: Simulator, session: requests.Session) -> None:
    for path in ("/spot/time", "/spot/currency_pairs", "/spot/currency_pairs/BTC_USDT",
                 "/options/underlyings", "/options/contracts?underlying=SOL_USDT",
                 "/options/expirations?underlying=ETH_USDT"):
        assert session.get(f"{sim.base_url}{path}", timeout=5).ok, path


def test_read_only_key_on_cancel(sim: Simulator, session: requests.Session) -> None:
    answer = signed_call(session, sim.base_url, "DELETE", "/spot/orders", key=RO_KEY,
                         secret=RO_SECRET)
    assert (answer.status_code, answer.json()["label"]) == (403, "READ_ONLY")


# -- countdown validation ------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "label"), [
    (b"", "INVALID_REQUEST_BODY"),
    (b"[]", "INVALID_REQUEST_BODY"),
    (b"30", "INVALID_REQUEST_BODY"),
    (b"{not json", "INVALID_REQUEST_BODY"),
    (b"{}", "MISSING_REQUIRED_PARAM"),
    (b'{"currency_pair": "BTC_USDT"}', "MISSING_REQUIRED_PARAM"),
    (b'{"timeout": true}', "INVALID_PARAM_VALUE"),
    (b'{"timeout": 30.0}', "INVALID_PARAM_VALUE"),
    (b'{"timeout": "30"}', "INVALID_PARAM_VALUE"),
    (b'{"timeout": 4}', "INVALID_PARAM_VALUE"),
    (b'{"timeout": 1}', "INVALID_PARAM_VALUE"),
    (b'{"timeout": -1}', "INVALID_PARAM_VALUE"),
    (b'{"timeout": 2147483648}', "INVALID_PARAM_VALUE"),
    (b'{"timeout": 30, "currency_pair": 5}', "INVALID_PARAM_VALUE"),
    (b'{"timeout": 30, "currency_pair": "btc_usdt"}', "INVALID_CURRENCY_PAIR"),
])
def test_spot_countdown_validation(sim: Simulator, session: requests.Session, body: bytes,
                                   label: str) -> None:
    answer = spot_countdown_raw(session, sim, body)
    assert (answer.status_code, answer.json()["label"]) == (400, label)
    assert sim.countdowns() == {}


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[Simulator]:
    with Simulator(keys={TEST_KEY: TEST_SECRET}) as running:
        yield running


@pytest.fixture(scope="module")
def shared_session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


@settings(max_examples=60, deadline=None)
@given(timeout=st.one_of(st.integers(-10, 12), st.integers(MAX_TIMEOUT_S - 3, MAX_TIMEOUT_S + 3),
                         st.integers(-(2**40), 2**40)))
def test_countdown_timeout_range(shared_sim: Simulator, shared_session: requests.Session,
                                 timeout: int) -> None:
    before_ms = int(shared_sim.server_time() * 1000)
    answer = spot_countdown_raw(shared_session, shared_sim,
                                json.dumps({"timeout": timeout}).encode())
    if timeout == 0:
        assert answer.json() == {"triggerTime": "0"}
        assert "spot:all" not in shared_sim.countdowns()
    elif 5 <= timeout <= MAX_TIMEOUT_S:
        trigger = answer.json()["triggerTime"]
        assert isinstance(trigger, str)
        assert before_ms + timeout * 1000 <= int(trigger) <= before_ms + timeout * 1000 + 2000
        assert shared_sim.countdowns()["spot:all"] == int(trigger)
    else:
        assert (answer.status_code, answer.json()["label"]) == (400, "INVALID_PARAM_VALUE")


def test_order_endpoints_need_their_parameters(sim: Simulator,
                                               session: requests.Session) -> None:
    for method, path, query, label in (
        ("GET", "/spot/orders", "status=open", "MISSING_REQUIRED_PARAM"),
        ("GET", "/spot/orders", "currency_pair=BTC_USDT", "MISSING_REQUIRED_PARAM"),
        ("GET", "/spot/orders", "currency_pair=BTC_USDT&status=maybe", "INVALID_PARAM_VALUE"),
        ("GET", "/options/orders", "", "MISSING_REQUIRED_PARAM"),
        ("DELETE", "/spot/orders", "currency_pair=NOPE_USDT", "INVALID_CURRENCY_PAIR"),
        ("DELETE", "/spot/orders", "side=up", "INVALID_PARAM_VALUE"),
        ("DELETE", "/options/orders", "underlying=NOPE_USDT", "INVALID_PARAM_VALUE"),
    ):
        answer = signed_call(session, sim.base_url, method, path, query=query)
        assert (answer.status_code, answer.json()["label"]) == (400, label), (path, query)
    for body in ({"currency_pair": "LUNC_USDT", "side": "buy", "amount": "1", "price": "1"},
                 {"currency_pair": "BSV_USDT", "side": "buy", "amount": "1", "price": "1"}):
        answer = signed_call(session, sim.base_url, "POST", "/spot/orders", body=body)
        assert answer.json()["label"] == "INVALID_CURRENCY_PAIR"
    answer = signed_call(session, sim.base_url, "POST", "/options/orders",
                         body={"contract": "BTC_USDT-20000101-1-C", "size": 1, "price": "1"})
    assert answer.json()["label"] == "INVALID_PARAM_VALUE"


# -- headers, errors, paths ----------------------------------------------------------------------


def test_gate_headers(sim: Simulator, session: requests.Session) -> None:
    sim.set_clock_skew(-30)
    answer = session.get(f"{sim.base_url}/spot/time", timeout=5,
                         headers={"X-Client-Request-Id": "req-42"})
    assert answer.headers["X-Client-Request-Id"] == "req-42"
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Gate-Trace-ID"])
    in_us, out_us = int(answer.headers["X-In-Time"]), int(answer.headers["X-Out-Time"])
    assert in_us <= out_us
    assert abs(in_us / 1e6 - sim.server_time()) < 2
    assert abs(answer.json()["server_time"] - (time.time() - 30) * 1000) < 2000
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers.get("Connection", "").lower() != "close"
    assert answer.headers["X-Gate-RateLimit-Limit"] == "200"


def test_errors_are_json(sim: Simulator, session: requests.Session) -> None:
    for method, url in (("GET", f"{sim.base_url}/nope"), ("PUT", f"{sim.base_url}/spot/time"),
                        ("GET", f"{sim.base_url}/spot/currency_pairs/NOPE_USDT"),
                        ("GET", sim.base_url.removesuffix("/api/v4") + "/elsewhere")):
        answer = session.request(method, url, timeout=5)
        assert answer.status_code in (400, 404)
        assert set(answer.json()) == {"label", "message"}
    assert session.get(f"{sim.base_url}/nope", timeout=5).json()["label"] == "NOT_FOUND"


def test_keep_alive_survives_many_requests(sim: Simulator, session: requests.Session) -> None:
    for _ in range(20):
        assert session.get(f"{sim.base_url}/spot/time", timeout=5).ok
        assert signed_call(session, sim.base_url, "GET", "/spot/open_orders").json() == []


# -- Python and control API ----------------------------------------------------------------------


def test_request_log_and_state(sim: Simulator, session: requests.Session) -> None:
    assert signed_call(session, sim.base_url, "POST", "/options/countdown_cancel_all",
                       body={"timeout": 30, "underlying": "BTC_USDT"}).ok
    session.get(f"{sim.base_url}/spot/time", timeout=5)
    [record] = sim.requests("/options/countdown_cancel_all")
    assert (record.method, record.scope, record.timeout, record.status) == (
        "POST", "options:BTC_USDT", 30, 200)
    assert abs(record.server_time_ms - time.time() * 1000) < 2000
    assert 0 < time.monotonic() - record.mono < 5

    state = session.get(f"{sim.control_url}/state", timeout=5).json()
    assert set(state) == {"server_time_ms", "clock_skew_s", "countdowns", "firings",
                          "open_orders", "request_counts", "faults"}
    assert state["request_counts"] == {"POST /options/countdown_cancel_all": 1,
                                       "GET /spot/time": 1}
    assert state["countdowns"] == sim.countdowns() == {
        "options:BTC_USDT": int(sim.countdowns()["options:BTC_USDT"])}
    assert state["open_orders"] == {"spot": [], "options": [], "futures": []}


def test_demo_orders(demo_sim: Simulator) -> None:
    spot, options = demo_sim.open_orders("spot"), demo_sim.open_orders("options")
    assert len({o["currency_pair"] for o in spot}) >= 3
    assert len({o["contract"] for o in options}) >= 3
    for order in spot + options:
        assert f"{order['product']}:all" in order["scopes"]
    contracts = demo_sim.exchange.markets.contracts
    assert all(o["contract"] in contracts for o in options)


def test_place_order_directly(sim: Simulator) -> None:
    order = sim.place_order("spot", "ETH_USDT", side="sell", amount="0.5", price="4000")
    assert (order["currency_pair"], order["side"], order["amount"]) == ("ETH_USDT", "sell", "0.5")
    assert order["scopes"] == ["spot:ETH_USDT", "spot:all"]
    contract = next(iter(sim.exchange.markets.contracts))
    option = sim.place_order("options", contract, side="sell", amount="3", price="10")
    assert option["size"] == -3
    for bad in (lambda: sim.place_order("spot", "NOPE_USDT"),
                lambda: sim.place_order("futures", "BTC_USDT"),
                lambda: sim.place_order("spot", "BTC_USDT", amount="-1"),
                lambda: sim.place_order("options", contract, amount="1.5")):
        with pytest.raises(ValueError):
            bad()


def test_add_fault_checks_its_arguments(sim: Simulator) -> None:
    with pytest.raises(ValueError):
        sim.add_fault("meteor")
    with pytest.raises(ValueError):
        sim.add_fault("status", scope="spot:not a pair")
    with pytest.raises(ValueError):
        sim.add_fault("status", count=0)
    with pytest.raises(ValueError):
        sim.add_fault("status", path="spot/time")
    fault_id = sim.add_fault("status", scope="spot:btc_usdt", path="/api/v4/spot/orders")
    [rule] = sim.state()["faults"]
    assert (rule["id"], rule["scope"], rule["path"], rule["status"]) == (
        fault_id, "spot:BTC_USDT", "/spot/orders", 503)
    with pytest.raises(ValueError):
        sim.add_key("k", "s", spot="write")
