"""GateClient against the simulator: every endpoint, every error class, every fault."""

from __future__ import annotations

import io
import time
from collections.abc import Mapping

import pytest
import urllib3

from gui.core import errors
from gui.core.client import (
    READ_ONLY,
    READ_WRITE,
    USER_AGENT,
    GateClient,
    check_timeout,
    parse_trigger_time,
)
from gui.core.orders import open_orders
from gui.core.targets import parse_target
from gui.core.transport import HttpTransport
from gui.core.urls import BaseUrlError
from gui.simulator import Simulator
from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET

BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")


@pytest.fixture
def client(sim: Simulator) -> GateClient:
    c = GateClient(sim.base_url, TEST_KEY, TEST_SECRET, timeout=3.0)
    yield c
    c.close()


def _contract(client: GateClient) -> str:
    return client.option_contracts("BTC_USDT")[0].name


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize("value", [0, 5, 60, 2**31 - 1])
def test_timeout_accepted(value: int) -> None:
    assert check_timeout(value) == value


@pytest.mark.parametrize("value", [1, 3, 4, -1, 2**31, True, 5.0, "60", None])
def test_timeout_refused(value: object) -> None:
    with pytest.raises(errors.InvalidInputError):
        check_timeout(value)


@pytest.mark.parametrize("value,expected", [("1660039145000", 1660039145000),
                                            (1660039145000, 1660039145000)])
def test_trigger_time_string_or_integer(value: object, expected: int) -> None:
    assert parse_trigger_time(value) == expected


@pytest.mark.parametrize("value", [None, True, 1.66e12, "1.66e12", "abc", "", "-5", 0, "0",
                                   [1], {"a": 1}, " 123"])
def test_trigger_time_anything_else_is_a_bad_response(value: object) -> None:
    with pytest.raises(errors.BadResponseError):
        parse_trigger_time(value)


@pytest.mark.parametrize("url", ["http://api.gateio.ws/api/v4", "ftp://x/api/v4",
                                 "https://api.gateio.ws", "https://user:pw@h.example/api/v4",
                                 "https://h.example/api/v4?x=1", "not a url", ""])
def test_refuses_unsafe_or_malformed_base_urls(url: str) -> None:
    with pytest.raises(BaseUrlError):
        GateClient(url)


def test_plain_http_is_allowed_only_for_loopback() -> None:
    GateClient("http://127.0.0.1:9/api/v4").close()
    GateClient("http://localhost:9/api/v4/").close()
    with pytest.raises(BaseUrlError, match="plain http"):
        GateClient("http://192.168.1.10:9/api/v4")


class Recording(HttpTransport):
    """The real transport, noting the headers of every request (and able to rewrite answers)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.headers: list[dict[str, str]] = []

    def send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
             timeout: float) -> urllib3.BaseHTTPResponse:
        self.headers.append(dict(headers))
        return self.answer(super().send(method, url, body, headers, timeout), headers)

    def answer(self, response: urllib3.BaseHTTPResponse,
               headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        return response


def test_every_request_names_the_app_and_asks_for_json(sim: Simulator) -> None:
    transport = Recording(sim.base_url)
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET, transport=transport) as client:
        client.spot_pairs()
        client.spot_countdown(60, "BTC_USDT")
    assert USER_AGENT.startswith("gate-killswitch/")
    assert len(transport.headers) == 3  # pairs, the clock, the beat
    assert all(h["User-Agent"] == USER_AGENT and h["Accept"] == "application/json"
               for h in transport.headers)


@pytest.mark.parametrize("call", [
    lambda c: c.spot_countdown(60, "btc-usdt"),
    lambda c: c.spot_countdown(3, "BTC_USDT"),
    lambda c: c.options_countdown(60, contract="BTC_USDT-2024-1-C"),
    lambda c: c.options_countdown(60, underlying="BTC USDT"),
    lambda c: c.option_contracts("BTC_USDT&x=1"),
    lambda c: c.cancel_spot_orders("BTC_USDT;"),
])
def test_bad_input_is_refused_before_anything_is_sent(sim: Simulator, client: GateClient,
                                                      call: object) -> None:
    before = len(sim.requests())
    with pytest.raises(errors.InvalidInputError):
        call(client)  # type: ignore[operator]
    assert len(sim.requests()) == before


def test_signed_call_without_a_key_is_refused_locally(sim: Simulator) -> None:
    with GateClient(sim.base_url) as anonymous, pytest.raises(errors.InvalidInputError):
        anonymous.spot_countdown(60)
    with pytest.raises(errors.InvalidInputError):
        GateClient(sim.base_url, key="only-a-key")


# ---------------------------------------------------------------- public endpoints


def test_server_time_and_clock_offset(sim: Simulator, client: GateClient) -> None:
    server = client.server_time()
    assert abs(server - sim.server_time()) < 0.5
    assert client.clock is not None and client.clock.rtt < 1.0


def test_public_market_lists(client: GateClient) -> None:
    pairs = client.spot_pairs()
    ids = {p.id for p in pairs}
    assert {"BTC_USDT", "ETH_USDT"} <= ids
    assert any(not p.tradable for p in pairs)
    underlyings = client.option_underlyings()
    assert "BTC_USDT" in {u.name for u in underlyings}
    contracts = client.option_contracts("BTC_USDT")
    assert contracts and all(c.underlying == "BTC_USDT" for c in contracts)
    assert {c.is_call for c in contracts} == {True, False}
    assert all(c.expiration_time > time.time() for c in contracts)
    assert all(c.strike for c in contracts)


# ---------------------------------------------------------------- countdowns


def test_spot_countdown_pair_and_all(sim: Simulator, client: GateClient) -> None:
    ack = client.spot_countdown(60, "BTC_USDT")
    assert sim.countdowns()["spot:BTC_USDT"] == ack.trigger_time_ms
    assert ack.sent_mono <= ack.received_mono
    assert 59 < ack.deadline_mono - time.monotonic() <= 60.5
    client.spot_countdown(30)
    assert "spot:all" in sim.countdowns()
    client.spot_countdown(0, "BTC_USDT")
    client.spot_countdown(0)
    assert sim.countdowns() == {}


def test_options_countdown_underlying_contract_and_all(sim: Simulator,
                                                       client: GateClient) -> None:
    contract = _contract(client)
    client.options_countdown(60, underlying="BTC_USDT")
    client.options_countdown(60, contract=contract)
    client.options_countdown(60)
    assert set(sim.countdowns()) == {"options:BTC_USDT", f"options:{contract}", "options:all"}
    for target in ("options:BTC_USDT", f"options:{contract}", "options:all"):
        client.countdown(parse_target(target), 0)
    assert sim.countdowns() == {}


# ---------------------------------------------------------------- orders


def test_open_orders_and_cancel_now(demo_sim: Simulator) -> None:
    with GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET) as client:
        spot = open_orders(client, parse_target("spot:all"))
        assert spot, "the demo has open spot orders"
        pair = spot[0].market
        on_pair = open_orders(client, parse_target(f"spot:{pair}"))
        assert on_pair and all(o.market == pair for o in on_pair)
        results = client.cancel_now(parse_target(f"spot:{pair}"))
        assert {r.id for r in results} == {o.id for o in on_pair}
        assert all(r.succeeded for r in results)
        assert open_orders(client, parse_target(f"spot:{pair}")) == []
        others = open_orders(client, parse_target("spot:all"))
        assert len(others) == len(spot) - len(on_pair)

        options = open_orders(client, parse_target("options:all"))
        assert options, "the demo has open option orders"
        results = client.cancel_now(parse_target("options:all"))
        assert len(results) == len(options) and all(r.succeeded for r in results)
        assert open_orders(client, parse_target("options:all")) == []


def test_open_orders_are_read_past_the_first_page(sim: Simulator, client: GateClient) -> None:
    # Gate lists at most 100 spot orders per pair per page (1000 option orders): a trader with
    # more must still see them all, each once.
    for _ in range(230):
        sim.place_order("spot", "BTC_USDT")
    for _ in range(3):
        sim.place_order("spot", "ETH_USDT")
    contract = _contract(client)
    for _ in range(1010):
        sim.place_order("options", contract)
    spot = open_orders(client, parse_target("spot:all"))
    assert len(spot) == 233 == len({o.id for o in spot})
    assert len(open_orders(client, BTC)) == 230
    options = open_orders(client, parse_target(f"options:{contract}"))
    assert len(options) == 1010 == len({o.id for o in options})
    # Pages 1-3 (230 = 100 + 100 + 30), asked for twice; the options in two pages.
    assert len(sim.requests("/spot/open_orders")) == 2 * 3
    assert len(sim.requests("/options/orders")) == 2


def test_key_check_read_write_and_read_only(sim: Simulator) -> None:
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as rw:
        check = rw.check_key()
        assert (check.spot, check.options) == (READ_WRITE, READ_WRITE)
    with GateClient(sim.base_url, RO_KEY, RO_SECRET) as ro:
        check = ro.check_key()
        assert (check.spot, check.options) == (READ_ONLY, READ_ONLY)
    sim.add_key("spot-only-key-77", "spot-only-secret-77", spot="rw", options="none")
    with GateClient(sim.base_url, "spot-only-key-77", "spot-only-secret-77") as spot_only:
        check = spot_only.check_key()
        assert (check.spot, check.options) == (READ_WRITE, "none")
    assert sim.open_orders() == []


# ---------------------------------------------------------------- error classes


def test_wrong_secret_is_an_authentication_error_without_secrets(sim: Simulator) -> None:
    secret = "wrong-secret-0123456789"
    with GateClient(sim.base_url, TEST_KEY, secret) as client:
        with pytest.raises(errors.AuthenticationError) as info:
            client.spot_countdown(60, "BTC_USDT")
    assert info.value.label == "INVALID_SIGNATURE"
    assert not info.value.retryable
    text = str(info.value)
    assert secret not in text and TEST_KEY not in text
    assert "key" in text.lower()


def test_unknown_key_is_an_authentication_error(sim: Simulator) -> None:
    with GateClient(sim.base_url, "nobody-key-123", "nobody-secret-123") as client:
        with pytest.raises(errors.AuthenticationError) as info:
            client.spot_countdown(60)
    assert info.value.label == "INVALID_KEY"


def test_read_only_key_is_a_permission_error(sim: Simulator) -> None:
    with GateClient(sim.base_url, RO_KEY, RO_SECRET) as client:
        with pytest.raises(errors.PermissionDeniedError) as info:
            client.spot_countdown(60, "BTC_USDT")
    assert info.value.label == "READ_ONLY" and not info.value.retryable


def test_unknown_pair_is_a_bad_parameter(client: GateClient) -> None:
    with pytest.raises(errors.BadParameterError) as info:
        client.spot_countdown(60, "NOPE_USDT")
    assert info.value.status == 400 and not info.value.retryable


def test_skewed_server_clock_is_measured_and_signed_with(sim: Simulator,
                                                         client: GateClient) -> None:
    sim.set_clock_skew(300.0)
    client.sync_clock()
    ack = client.spot_countdown(60, "BTC_USDT")
    # The deadline on our clock does not carry the skew: 60 s from now, not 360.
    assert 59 < ack.deadline_mono - time.monotonic() <= 60.5
    sim.set_clock_skew(-300.0)
    # The old measurement is now 10 minutes off: REQUEST_EXPIRED, resync, retried once.
    ack = client.spot_countdown(60, "BTC_USDT")
    assert 59 < ack.deadline_mono - time.monotonic() <= 60.5
    statuses = [r.status for r in sim.requests("/spot/countdown_cancel_all")]
    assert statuses == [200, 401, 200]


def test_rate_limit_is_a_typed_error_with_reset_time(sim: Simulator, client: GateClient) -> None:
    sim.add_fault("status", status=429, count=1, path="/spot/countdown_cancel_all")
    with pytest.raises(errors.RateLimitedError) as info:
        client.spot_countdown(60, "BTC_USDT")
    assert info.value.retryable
    client.spot_countdown(60, "BTC_USDT")
    rate = client.rate_info("POST", "/spot/countdown_cancel_all")
    assert rate is not None and rate.limit == 200 and rate.remaining is not None
    assert rate.remaining < 200


def test_real_rate_limit_after_200_requests(sim: Simulator) -> None:
    with GateClient(sim.base_url) as client:
        for _ in range(200):
            client.option_underlyings()
        with pytest.raises(errors.RateLimitedError) as info:
            client.option_underlyings()
    assert info.value.reset_at is not None and info.value.reset_at > time.time()


@pytest.mark.parametrize("status,kind,expected", [
    (503, "status", errors.ServerError),
    (500, "status", errors.ServerError),
    (502, "html", errors.BadResponseError),
    (200, "html", errors.BadResponseError),
    (502, "empty", errors.BadResponseError),
    (200, "empty", errors.BadResponseError),
])
def test_server_and_proxy_faults_are_retryable_typed_errors(
        sim: Simulator, client: GateClient, status: int, kind: str, expected: type) -> None:
    sim.add_fault(kind, status=status, count=1, path="/spot/countdown_cancel_all")
    with pytest.raises(expected) as info:
        client.spot_countdown(60, "BTC_USDT")
    assert info.value.retryable
    assert "Traceback" not in str(info.value) and "<html" not in str(info.value).lower()
    client.spot_countdown(60, "BTC_USDT")  # the fault is gone: the next call works


def test_dropped_connection_is_a_network_error(sim: Simulator, client: GateClient) -> None:
    sim.add_fault("drop", count=1, path="/spot/countdown_cancel_all")
    with pytest.raises(errors.NetworkError):
        client.spot_countdown(60, "BTC_USDT")
    client.spot_countdown(60, "BTC_USDT")


def test_hung_request_times_out_as_a_network_error(sim: Simulator, client: GateClient) -> None:
    sim.add_fault("hang", count=1, path="/spot/countdown_cancel_all")
    started = time.monotonic()
    with pytest.raises(errors.NetworkError, match="within"):
        client.spot_countdown(60, "BTC_USDT", request_timeout=0.5)
    assert time.monotonic() - started < 3


def test_latency_is_measured(sim: Simulator, client: GateClient) -> None:
    sim.add_fault("latency", latency_ms=300, count=1, path="/spot/countdown_cancel_all")
    ack = client.spot_countdown(60, "BTC_USDT")
    assert ack.latency >= 0.29


def test_refused_connection_is_a_network_error() -> None:
    with GateClient("http://127.0.0.1:9/api/v4", timeout=1.0) as client:
        with pytest.raises(errors.NetworkError):
            client.spot_pairs()


class Echoing(Recording):
    """A hostile or buggy gateway: answers a signed request by echoing its key and signature."""

    def answer(self, response: urllib3.BaseHTTPResponse,
               headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        if "SIGN" not in headers:
            return response
        response.drain_conn()
        response.release_conn()
        echo = f"key {headers['KEY']} sign {headers['SIGN']}"
        body = b'{"label":"INVALID_PARAM_VALUE","message":"' + echo.encode() + b'"}'
        return urllib3.HTTPResponse(body=io.BytesIO(body), status=400, preload_content=False,
                                    headers={"Content-Type": "application/json"})


def test_error_messages_never_carry_key_secret_or_signature(sim: Simulator) -> None:
    secret = "echo-secret-abcdef012345"
    transport = Echoing(sim.base_url)
    with GateClient(sim.base_url, TEST_KEY, secret, transport=transport) as client:
        with pytest.raises(errors.GateError) as info:
            client.spot_countdown(60, "BTC_USDT")
    text = str(info.value)
    assert "key *** sign ***" in text  # the echo arrived, scrubbed
    assert secret not in text and TEST_KEY not in text
    assert not any(len(w) >= 128 and all(ch in "0123456789abcdef" for ch in w)
                   for w in text.split())


def test_any_non_gate_status_without_label_is_a_bad_response(sim: Simulator,
                                                             client: GateClient) -> None:
    sim.add_fault("html", status=403, count=1)
    with pytest.raises(errors.BadResponseError, match="403"):
        client.spot_pairs()


def test_a_url_with_a_password_is_refused_without_quoting_it() -> None:
    with pytest.raises(BaseUrlError) as info:
        GateClient("ftp://trader:hunter2-pass@h.example/x")
    assert "hunter2-pass" not in str(info.value)
