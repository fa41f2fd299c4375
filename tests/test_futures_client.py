"""GateClient's futures endpoints against the simulator: every endpoint, every futures error,
and the answer shapes Gate may send where it documents only one."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping

import pytest
import urllib3

from gui.core import errors
from gui.core.client import NO_ACCESS, READ_ONLY, READ_WRITE, GateClient
from gui.core.heartbeat import endpoint_of
from gui.core.orders import fetch_open_orders, open_orders
from gui.core.targets import Product, Target, futures, parse_target, spot
from gui.core.transport import HttpTransport
from gui.simulator import Simulator
from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET

BTC_USDT = futures("usdt", "BTC_USDT")
ETH_USDT = futures("usdt", "ETH_USDT")
BTC_USD = futures("btc", "BTC_USD")


@pytest.fixture
def client(sim: Simulator) -> Iterator[GateClient]:
    c = GateClient(sim.base_url, TEST_KEY, TEST_SECRET, timeout=3.0)
    yield c
    c.close()


def place(sim: Simulator, settle: str, contract: str, side: str = "buy", amount: str = "1",
          price: str = "100") -> str:
    return str(sim.place_order(f"futures:{settle}", contract, side=side, amount=amount,
                               price=price)["id"])


# -- public --------------------------------------------------------------------------------------


def test_contracts_per_settle_with_delisting_marked(client: GateClient) -> None:
    usdt = {c.name: c for c in client.futures_contracts("usdt")}
    btc = {c.name: c for c in client.futures_contracts("btc")}
    assert len(usdt) >= 24 and "BTC_USDT" in usdt and "BTC_USD" not in usdt
    assert "BTC_USD" in btc and all(name.endswith("_USD") for name in btc)
    assert usdt["BTC_USDT"].type == "direct" and btc["BTC_USD"].type == "inverse"
    assert usdt["BTC_USDT"].multiplier == "0.0001" and not usdt["BTC_USDT"].delisting
    assert {name for name, c in usdt.items() if c.delisting} == {"LUNC_USDT", "FTT_USDT"}


def test_a_bad_settle_is_refused_before_anything_is_sent(sim: Simulator,
                                                         client: GateClient) -> None:
    before = len(sim.requests())
    for call in (lambda: client.futures_contracts("usd"),
                 lambda: client.futures_open_orders("delivery"),
                 lambda: client.cancel_futures_orders("btc", "BTC_USDT"),
                 lambda: client.futures_open_orders("usdt", contract="BTC_USDT&x=1")):
        with pytest.raises(errors.InvalidInputError):
            call()
    assert len(sim.requests()) == before


# -- the countdown -------------------------------------------------------------------------------


def test_the_futures_countdown_arms_and_ends_each_scope(sim: Simulator,
                                                        client: GateClient) -> None:
    for target in (BTC_USDT, futures("usdt"), BTC_USD, futures("btc")):
        ack = client.countdown(target, 30)
        assert sim.countdowns()[target.text] == ack.trigger_time_ms
    paths = {r.path for r in sim.requests() if r.method == "POST"}
    assert paths == {"/futures/usdt/countdown_cancel_all", "/futures/btc/countdown_cancel_all"}
    client.countdown(BTC_USDT, 0)
    assert set(sim.countdowns()) == {"futures:usdt:all", "futures:btc:BTC_USD",
                                     "futures:btc:all"}


def test_a_settle_without_an_account_is_its_own_error(client: GateClient) -> None:
    with Simulator(keys={TEST_KEY: TEST_SECRET}, futures_accounts=("usdt",)) as only_usdt, \
            GateClient(only_usdt.base_url, TEST_KEY, TEST_SECRET, timeout=3.0) as c:
        c.countdown(BTC_USDT, 30)
        with pytest.raises(errors.NoFuturesAccountError) as info:
            c.countdown(BTC_USD, 30)
        assert info.value.label == "USER_NOT_FOUND" and info.value.settle == "btc"
        assert not info.value.retryable
        assert "This account has no BTC futures account yet." in str(info.value)
        with pytest.raises(errors.NoFuturesAccountError, match="no BTC futures account"):
            c.futures_open_orders("btc")
        check = c.check_key()
        assert (check.futures_usdt, check.futures_btc) == (READ_WRITE, NO_ACCESS)
        assert check.details["futures btc"] == "This account has no BTC futures account yet."
        assert check.can_arm[Product.FUTURES_USDT] and not check.can_arm[Product.FUTURES_BTC]
        assert set(only_usdt.countdowns()) == {"futures:usdt:BTC_USDT"}


def test_user_not_found_outside_futures_is_not_called_a_futures_account() -> None:
    error = errors.error_for(400, "USER_NOT_FOUND", "no such user")
    assert not isinstance(error, errors.NoFuturesAccountError)


def test_a_read_only_key_reads_futures_but_cannot_arm(sim: Simulator) -> None:
    with GateClient(sim.base_url, RO_KEY, RO_SECRET, timeout=3.0) as ro:
        check = ro.check_key()
        assert (check.futures_usdt, check.futures_btc) == (READ_ONLY, READ_ONLY)
        with pytest.raises(errors.PermissionDeniedError):
            ro.countdown(BTC_USDT, 30)
        assert ro.futures_open_orders("usdt") == []
    assert sim.countdowns() == {}


def test_a_futures_permission_is_checked_apart_from_spot(client: GateClient,
                                                         sim: Simulator) -> None:
    sim.add_key("no-futures-key", "no-futures-secret", futures="none")
    with GateClient(sim.base_url, "no-futures-key", "no-futures-secret") as c:
        check = c.check_key()
        assert (check.spot, check.futures_usdt, check.futures_btc) == (
            READ_WRITE, NO_ACCESS, NO_ACCESS)


# -- orders --------------------------------------------------------------------------------------


def test_open_orders_are_read_page_by_page_with_string_sizes(sim: Simulator,
                                                             client: GateClient) -> None:
    ids = {place(sim, "usdt", "BTC_USDT", "buy" if i % 2 else "sell", str(i + 1))
           for i in range(130)}
    place(sim, "btc", "BTC_USD")
    listed = client.futures_open_orders("usdt")
    assert {o.id for o in listed} == ids
    assert all(o.product is Product.FUTURES_USDT and o.market == "BTC_USDT" for o in listed)
    by_id = {o.id: o for o in listed}
    sell = next(o for o in listed if o.side == "sell")
    assert sell.amount.startswith("-") and by_id[sell.id].left == sell.amount
    pages = [r for r in sim.requests("/futures/usdt/orders") if r.method == "GET"]
    assert len(pages) == 2  # 100 + 30: Gate's largest page is 100


def test_open_orders_split_per_scope_in_one_request_per_settle(sim: Simulator,
                                                               client: GateClient) -> None:
    btc_order = place(sim, "usdt", "BTC_USDT")
    eth_order = place(sim, "usdt", "ETH_USDT")
    inverse = place(sim, "btc", "BTC_USD")
    found = fetch_open_orders(client, [BTC_USDT, futures("usdt"), futures("btc"), spot()])

    def ids(target: Target) -> set[str]:
        listed = found[target]
        assert isinstance(listed, list)
        return {o.id for o in listed}

    assert ids(BTC_USDT) == {btc_order}
    assert ids(futures("usdt")) == {btc_order, eth_order}
    assert ids(futures("btc")) == {inverse}
    gets = [r.path for r in sim.requests() if r.method == "GET" and "orders" in r.path]
    assert sorted(gets) == ["/futures/btc/orders", "/futures/usdt/orders", "/spot/open_orders"]


def test_cancel_now_cancels_the_scope_only(sim: Simulator, client: GateClient) -> None:
    btc = place(sim, "usdt", "BTC_USDT")
    eth = place(sim, "usdt", "ETH_USDT")
    inverse = place(sim, "btc", "BTC_USD")
    results = client.cancel_now(BTC_USDT)
    assert [(r.id, r.market, r.succeeded) for r in results] == [(btc, "BTC_USDT", True)]
    assert {o["id"] for o in sim.open_orders("futures")} == {int(eth), int(inverse)}
    results = client.cancel_now(futures("usdt"))
    assert [r.id for r in results] == [eth]
    assert [o.id for o in open_orders(client, futures("btc"))] == [inverse]


def test_cancel_all_falls_back_to_each_contract_where_gate_requires_one(
        sim: Simulator, client: GateClient) -> None:
    btc = place(sim, "usdt", "BTC_USDT")
    eth = place(sim, "usdt", "ETH_USDT")
    # Gate's v4.105 docs make contract required: the first DELETE without it is refused.
    sim.add_fault("status", path="/futures/usdt/orders", status=400,
                  label="MISSING_REQUIRED_PARAM", count=1)
    results = client.cancel_futures_orders("usdt")
    assert sorted(r.id for r in results) == sorted([btc, eth])
    assert sim.open_orders("futures") == []


def test_a_bulk_cancel_that_fails_in_part_says_which(sim: Simulator,
                                                     client: GateClient) -> None:
    ids = [place(sim, "usdt", "BTC_USDT") for _ in range(4)]
    sim.fail_bulk_cancels(1)
    results = client.cancel_now(BTC_USDT)
    failed = [r for r in results if not r.succeeded]
    assert len(results) == 4 and len(failed) == 2
    assert all(r.label == "CANCEL_FAIL" for r in failed)
    assert {str(o["id"]) for o in sim.open_orders("futures")} == {r.id for r in failed}
    assert {r.id for r in results} == set(ids)


def test_futures_beats_of_both_settles_share_one_rate_budget() -> None:
    assert endpoint_of(BTC_USDT) == endpoint_of(BTC_USD) == endpoint_of(futures("btc"))
    assert endpoint_of(BTC_USDT) != endpoint_of(spot("BTC_USDT"))
    assert endpoint_of(parse_target("options:all")) != endpoint_of(BTC_USDT)


# -- what is sent, and answer shapes Gate may send -----------------------------------------------


class Shaped(HttpTransport):
    """The real transport, noting headers and able to replace the body of chosen answers."""

    def __init__(self, base_url: str, rewrite: Callable[[str, bytes], bytes] | None = None
                 ) -> None:
        super().__init__(base_url)
        self.headers: list[dict[str, str]] = []
        self.rewrite = rewrite

    def send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
             timeout: float) -> urllib3.BaseHTTPResponse:
        self.headers.append(dict(headers))
        response = super().send(method, url, body, headers, timeout)
        if self.rewrite is None:
            return response
        raw = self.rewrite(url, response.read())
        response.release_conn()
        kept = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return urllib3.HTTPResponse(body=io.BytesIO(raw), headers=kept, status=response.status,
                                    preload_content=False, request_method=method)


def test_every_request_asks_for_decimal_sizes(sim: Simulator) -> None:
    transport = Shaped(sim.base_url)
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET, transport=transport) as c:
        c.futures_contracts("usdt")
        c.countdown(BTC_USDT, 30)
        c.futures_open_orders("btc")
    assert transport.headers and all(h["X-Gate-Size-Decimal"] == "1" for h in transport.headers)


def _integer_sizes(url: str, raw: bytes) -> bytes:
    """The answer before v4.106: sizes as JSON integers, no status field on contracts."""
    data = json.loads(raw)
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("size"), str):
                item["size"] = int(item["size"])
                item["left"] = int(item["left"])
            if isinstance(item, dict) and "in_delisting" in item:
                item.pop("status", None)
    return json.dumps(data).encode()


def test_integer_sizes_and_contracts_without_status_are_read_too(sim: Simulator) -> None:
    place(sim, "usdt", "BTC_USDT", "sell", "3")
    transport = Shaped(sim.base_url, _integer_sizes)
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET, transport=transport) as c:
        [order] = c.futures_open_orders("usdt")
        assert (order.side, order.amount, order.left) == ("sell", "-3", "-3")
        delisting = {x.name for x in c.futures_contracts("usdt") if x.delisting}
        assert delisting == {"LUNC_USDT", "FTT_USDT"}


@pytest.mark.parametrize("body", [b'{"triggerTime": "x"}', b"[]", b'{"triggerTime": 0}',
                                  b"<html>bad gateway</html>"])
def test_a_malformed_futures_countdown_answer_is_never_an_acknowledgement(
        sim: Simulator, body: bytes) -> None:
    transport = Shaped(sim.base_url, lambda url, raw: body if "countdown" in url else raw)
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET, transport=transport) as c, \
            pytest.raises(errors.BadResponseError):
        c.countdown(BTC_USDT, 30)


@pytest.mark.parametrize("as_text", [False, True])
def test_a_futures_trigger_time_is_read_as_a_number_or_a_string(sim: Simulator,
                                                               as_text: bool) -> None:
    # The exchange's own triggerTime (a plausible one), sent back as a number or as text.
    sent: list[int] = []

    def reshape(url: str, raw: bytes) -> bytes:
        if "countdown" not in url:
            return raw
        sent.append(int(json.loads(raw)["triggerTime"]))
        value = f'"{sent[-1]}"' if as_text else str(sent[-1])
        return f'{{"triggerTime": {value}}}'.encode()

    transport = Shaped(sim.base_url, reshape)
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET, transport=transport) as c:
        assert c.countdown(BTC_USDT, 30).trigger_time_ms == sent[-1]


@pytest.mark.parametrize("body", [b'{"triggerTime": "0"}', b'{"triggerTime": 0}', b"{}",
                                  b'{"triggerTime": "1796297016238"}'])
def test_every_plausible_answer_to_a_futures_timeout_zero_is_an_acknowledgement(
        sim: Simulator, body: bytes) -> None:
    # Gate documents nothing for timeout 0: the 2xx is the acknowledgement, whatever it holds.
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as plain:
        plain.countdown(BTC_USDT, 30)
    transport = Shaped(sim.base_url, lambda url, raw: body if "countdown" in url else raw)
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET, transport=transport) as c:
        assert c.countdown(BTC_USDT, 0).trigger_time_ms == 0
    assert sim.countdowns() == {}
