"""The self-check against the real simulator over HTTP: every answer it can give, and that it
leaves nothing behind (no order, no price-triggered order, no armed countdown) in any outcome."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from gui.core.client import GateClient
from gui.core.journal import Journal
from gui.core.selfcheck import Outcome, Refused, Report, SelfCheck, is_live
from gui.core.targets import Product, Target, parse_target
from gui.simulator import Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET

pytestmark = pytest.mark.slow


@pytest.fixture
def client(sim: Simulator) -> Iterator[GateClient]:
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as gate:
        yield gate


def _nothing_left(sim: Simulator) -> None:
    assert sim.open_orders() == []
    assert sim.open_price_orders() == 0
    assert sim.countdowns() == {}


def _run(client: GateClient, target: str, **kwargs: object) -> Report:
    check = SelfCheck(client, parse_target(target), **kwargs)  # type: ignore[arg-type]
    return check.run(check.prepare())


def _option_contract(sim: Simulator) -> str:
    """A call on BTC_USDT a week or more away, near the money."""
    markets = sim.exchange.markets
    index = markets.underlyings["BTC_USDT"].index_price
    calls = [c for c in markets.contracts_of("BTC_USDT")
             if c.is_call and c.expiration_time > time.time() + 86400]
    soonest = min(c.expiration_time for c in calls)
    return min((c for c in calls if c.expiration_time == soonest),
               key=lambda c: abs(c.strike - index)).name


def _assert_pass(sim: Simulator, report: Report, scope: str) -> None:
    assert report.outcome is Outcome.PASS, report.lines()
    assert report.exit_code == 0
    assert report.trigger_time_ms is not None and report.seen_cancelled_ms is not None
    assert report.placed_at_ms is not None and report.placed_at_ms < report.trigger_time_ms
    assert report.seen_cancelled_ms >= report.trigger_time_ms
    assert report.gate_finish_ms is not None and report.gate_delay_ms is not None
    # Gate's countdown did it: the simulator's firing of that scope cancelled this very order.
    fired = [f for f in sim.firings() if f.scope == scope]
    assert len(fired) == 1 and fired[0].order_ids == [report.order_id]
    # Armed once with 5 s and no beat, ended once with 0 in the cleanup.
    _nothing_left(sim)


def test_spot_pair_passes_with_a_post_only_order_far_below_the_market(
        sim: Simulator, client: GateClient) -> None:
    report = _run(client, "spot:BTC_USDT")
    _assert_pass(sim, report, "spot:BTC_USDT")
    plan = report.plan
    assert plan is not None and plan.market == "BTC_USDT"
    placed = sim.exchange.spot_order(report.order_id)
    assert placed is not None
    assert placed["time_in_force"] == "poc" and placed["side"] == "buy"
    assert placed["text"] == plan.order_text and placed["text"].startswith("t-")
    bid = Decimal(client.spot_ticker("BTC_USDT").bid or 0)
    assert Decimal(placed["price"]) <= bid / 2
    # The pair's minimum: 3 USDT of value, on the amount step.
    assert Decimal(3) <= Decimal(placed["amount"]) * Decimal(placed["price"]) < Decimal("3.01")
    timeouts = [r.timeout for r in sim.requests("/spot/countdown_cancel_all")]
    assert timeouts == [5, 0]


def test_option_contract_passes(sim: Simulator, client: GateClient) -> None:
    contract = _option_contract(sim)
    report = _run(client, f"options:{contract}")
    _assert_pass(sim, report, f"options:{contract}")
    placed = sim.exchange.option_order(int(report.order_id))
    assert placed is not None and placed["tif"] == "poc" and placed["size"] == 1


def test_futures_contract_passes(sim: Simulator, client: GateClient) -> None:
    report = _run(client, "futures:usdt:BTC_USDT")
    _assert_pass(sim, report, "futures:usdt:BTC_USDT")
    placed = sim.exchange.futures_order("usdt", int(report.order_id))
    assert placed is not None and placed["tif"] == "poc" and placed["size"] == "1"


def test_a_countdown_that_does_not_cancel_is_a_fail_and_the_order_is_cleaned_up(
        sim: Simulator, client: GateClient, tmp_path: object) -> None:
    sim.set_countdown_firing(cancels_orders=False)
    journal = Journal()
    check = SelfCheck(client, parse_target("spot:all"), grace_s=0.5, journal=journal)
    report = check.run(check.prepare())
    assert report.outcome is Outcome.FAIL, report.lines()
    assert report.exit_code == 1
    assert "did not cancel" in report.message
    assert f"cancelled the test order {report.order_id}" in report.cleanup
    assert "ended the countdown on spot:all (timeout 0)" in report.cleanup
    assert report.left_behind == []
    _nothing_left(sim)
    steps = [r.get("step") for r in journal.recent() if r.get("event") == "selfcheck"]
    assert steps[-1] == "finished"
    assert {"planned", "placing", "placed", "armed", "not_cancelled", "cleanup"} <= set(steps)


def test_a_late_cancel_passes_and_reports_the_delay(sim: Simulator, client: GateClient) -> None:
    sim.set_countdown_firing(late_ms=1500)
    report = _run(client, "spot:ETH_USDT")
    _assert_pass(sim, report, "spot:ETH_USDT")
    assert report.gate_delay_ms is not None and report.gate_delay_ms >= 1500
    assert report.delay_ms is not None and report.delay_ms >= 1500


def test_existing_orders_are_refused_left_alone_and_nothing_is_armed(
        demo_sim: Simulator) -> None:
    before = demo_sim.open_orders()
    with GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET) as gate:
        for target in ("spot:BTC_USDT", "spot:all", "options:BTC_USDT",
                       "futures:usdt:BTC_USDT"):
            check = SelfCheck(gate, parse_target(target))
            with pytest.raises(Refused, match="open order"):
                check.prepare()
    assert demo_sim.open_orders() == before
    assert demo_sim.countdowns() == {}
    assert not any(r.method == "POST" for r in demo_sim.requests())


def test_a_scope_that_gained_an_order_after_the_plan_is_refused_before_placing(
        sim: Simulator, client: GateClient) -> None:
    check = SelfCheck(client, parse_target("spot:all"))
    plan = check.prepare()
    sim.place_order("spot", "SOL_USDT", price="100", amount="1")
    report = check.run(plan)
    assert report.outcome is Outcome.REFUSED and report.exit_code == 2
    assert len(sim.open_orders()) == 1
    assert sim.countdowns() == {}
    assert not sim.requests("/spot/countdown_cancel_all")
    assert not [r for r in sim.requests("/spot/orders") if r.method == "POST"]


def test_an_existing_price_order_is_refused_with_price_orders(
        sim: Simulator, client: GateClient) -> None:
    client.place_price_order(Product.SPOT, "BTC_USDT", trigger_price=Decimal(1000),
                             trigger_below=True, buy=True, size=Decimal("0.01"),
                             price=Decimal(1000), order_text="t-mine")
    with pytest.raises(Refused, match="price-triggered"):
        SelfCheck(client, parse_target("spot:BTC_USDT"), price_orders=True).prepare()
    assert sim.open_price_orders() == 1
    assert not [r for r in sim.requests() if r.method == "POST" and "price" not in r.path]


def test_price_orders_the_countdown_leaves_are_reported_and_removed(
        sim: Simulator, client: GateClient) -> None:
    report = _run(client, "futures:usdt:BTC_USDT", price_orders=True)
    _assert_pass(sim, report, "futures:usdt:BTC_USDT")
    assert report.price_order_cancelled is False
    assert "does not cancel price-triggered orders" in report.price_order_answer
    assert f"cancelled the price-triggered test order {report.price_order_id}" in report.cleanup


def test_price_orders_the_countdown_cancels_are_reported(sim: Simulator,
                                                         client: GateClient) -> None:
    sim.set_countdown_firing(cancels_price_orders=True)
    report = _run(client, "spot:BTC_USDT", price_orders=True)
    _assert_pass(sim, report, "spot:BTC_USDT")
    assert report.price_order_cancelled is True
    assert "cancels price-triggered orders" in report.price_order_answer
    assert not any("price-triggered" in line for line in report.cleanup)


def test_options_have_no_price_orders_to_check() -> None:
    with GateClient("http://127.0.0.1:9/api/v4") as gate, \
            pytest.raises(Refused, match="no price-triggered orders for options"):
        SelfCheck(gate, parse_target("options:BTC_USDT"), price_orders=True)


def test_a_failed_arm_cancels_the_order_and_ends_the_countdown(
        sim: Simulator, client: GateClient) -> None:
    sim.add_fault("status", status=503, count=1, path="/spot/countdown_cancel_all")
    check = SelfCheck(client, parse_target("spot:BTC_USDT"))
    report = check.run(check.prepare())
    assert report.outcome is Outcome.ERROR and report.exit_code == 1
    assert f"cancelled the test order {report.order_id}" in report.cleanup
    assert "ended the countdown on spot:BTC_USDT (timeout 0)" in report.cleanup
    _nothing_left(sim)
    assert sim.firings() == []


def test_an_order_whose_placing_got_no_answer_is_looked_for_by_its_text(
        sim: Simulator, client: GateClient) -> None:
    sim.add_fault("drop", count=1, path="/spot/orders")
    check = SelfCheck(client, parse_target("spot:BTC_USDT"))
    report = check.run(check.prepare())
    assert report.outcome is Outcome.ERROR
    assert "no test order had been placed" in report.cleanup
    listed = [r for r in sim.requests("/spot/orders") if r.method == "GET"]
    assert listed, "the cleanup must look for the order by its text"
    # Nothing was armed, so nothing is disarmed either.
    assert sim.requests("/spot/countdown_cancel_all") == []
    _nothing_left(sim)


def test_a_stop_midway_cleans_up(sim: Simulator, client: GateClient) -> None:
    check = SelfCheck(client, parse_target("spot:BTC_USDT"))
    _after_arming(check, lambda _report: check.stop.set())
    report = check.run(check.prepare())
    assert report.outcome is Outcome.STOPPED and report.exit_code == 1
    _nothing_left(sim)
    assert sim.firings() == []


@pytest.mark.parametrize(("url", "live"), [
    ("https://api.gateio.ws/api/v4", True),
    ("https://my-proxy.example/api/v4", True),
    ("https://api-testnet.gateapi.io/api/v4", False),
    ("http://127.0.0.1:8080/api/v4", False),
])
def test_which_accounts_are_live(url: str, live: bool) -> None:
    assert is_live(url) is live


def test_every_target_form_plans_without_changing_anything(sim: Simulator,
                                                           client: GateClient) -> None:
    for text in ("spot:all", "options:all", "options:ETH_USDT", "futures:usdt:all",
                 "futures:btc:all"):
        plan = SelfCheck(client, parse_target(text)).prepare()
        assert plan.target == parse_target(text)
        assert plan.price <= plan.reference / 2 and plan.size > 0 and plan.value > 0
        assert any("Reserves:" in line for line in plan.lines())
    assert not [r for r in sim.requests() if r.method != "GET"]
    assert isinstance(plan.target, Target)


def _after_arming(check: SelfCheck, then: object) -> None:
    """Run ``then(report)`` right after the check armed its countdown."""
    original = check._arm

    def arm(report: Report, work: object) -> None:
        original(report, work)  # type: ignore[arg-type]
        then(report)  # type: ignore[operator]

    check._arm = arm  # type: ignore[method-assign]


def test_an_order_cancelled_before_trigger_time_is_not_the_countdowns_doing(
        sim: Simulator, client: GateClient) -> None:
    check = SelfCheck(client, parse_target("spot:BTC_USDT"))
    _after_arming(check, lambda _report: sim.exchange.cancel_spot_orders(pair="BTC_USDT"))
    report = check.run(check.prepare())
    assert report.outcome is Outcome.FAIL, report.lines()
    assert "before triggerTime" in report.message
    _nothing_left(sim)


def test_what_could_not_be_removed_is_named_and_is_no_pass(sim: Simulator,
                                                            client: GateClient) -> None:
    check = SelfCheck(client, parse_target("spot:BTC_USDT"))

    def break_the_cancel(report: Report) -> None:
        sim.add_fault("status", status=503, path=f"/spot/orders/{report.order_id}")
        check.stop.set()

    _after_arming(check, break_the_cancel)
    report = check.run(check.prepare())
    assert report.outcome is Outcome.STOPPED and report.exit_code == 1
    assert len(report.left_behind) == 1 and report.order_id in report.left_behind[0]
    assert any(line.startswith("  LEFT BEHIND:") for line in report.lines())
    assert not any("Nothing was left behind" in line for line in report.lines())
    # Said, not hidden: the order really is still open, and the countdown was ended.
    assert [o["id"] for o in sim.open_orders()] == [report.order_id]
    assert sim.countdowns() == {}
