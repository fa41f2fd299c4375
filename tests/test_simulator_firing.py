"""The simulator's countdowns really fire; its faults, clock, rate limit and CLI behave."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gate_api
import pytest
import requests

from gui.simulator import Fault, Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET, signed_call

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


@pytest.fixture
def spot_api(sim: Simulator) -> Iterator[gate_api.SpotApi]:
    client = gate_api.ApiClient(gate_api.Configuration(host=sim.base_url, key=TEST_KEY,
                                                       secret=TEST_SECRET))
    yield gate_api.SpotApi(client)
    client.rest_client.pool_manager.clear()
    client.close()


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def countdown(session: requests.Session, sim: Simulator, timeout: int,
              **scope: str) -> requests.Response:
    return signed_call(session, sim.base_url, "POST", "/spot/countdown_cancel_all",
                       body={"timeout": timeout, **scope})


# -- firing --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_countdown_fires_its_pair_only_once(sim: Simulator, spot_api: gate_api.SpotApi) -> None:
    btc = [sim.place_order("spot", "BTC_USDT", price="90000")["id"],
           sim.place_order("spot", "BTC_USDT", side="sell", price="110000")["id"]]
    eth = sim.place_order("spot", "ETH_USDT", price="3000")["id"]

    armed = spot_api.countdown_cancel_all_spot(
        gate_api.CountdownCancelAllSpotTask(timeout=5, currency_pair="BTC_USDT"))
    assert sim.countdowns() == {"spot:BTC_USDT": armed.trigger_time}
    assert wait_until(lambda: bool(sim.firings()), 8.0)

    [firing] = sim.firings()
    assert firing.scope == "spot:BTC_USDT" and firing.trigger_time_ms == armed.trigger_time
    assert sorted(firing.order_ids) == sorted(btc)
    assert 0 <= firing.fired_at_ms - firing.trigger_time_ms < 100
    assert [o["id"] for o in sim.open_orders("spot")] == [eth]
    assert sim.countdowns() == {}
    time.sleep(0.3)
    assert len(sim.firings()) == 1


def test_timeout_zero_prevents_firing(sim: Simulator, session: requests.Session) -> None:
    btc = sim.place_order("spot", "BTC_USDT")["id"]
    eth = sim.place_order("spot", "ETH_USDT")["id"]
    assert countdown(session, sim, 5, currency_pair="BTC_USDT").ok
    assert countdown(session, sim, 5, currency_pair="ETH_USDT").ok
    stopped = countdown(session, sim, 0, currency_pair="BTC_USDT")
    assert stopped.json() == {"triggerTime": "0"}

    # Deadlines are on the server clock: jumping it past them is a firing without the wait.
    sim.set_clock_skew(10)
    assert wait_until(lambda: bool(sim.firings()), 2.0)
    time.sleep(0.1)
    assert [(f.scope, f.order_ids) for f in sim.firings()] == [("spot:ETH_USDT", [eth])]
    assert [o["id"] for o in sim.open_orders()] == [btc]


def test_each_scope_is_its_own_timer(sim: Simulator, session: requests.Session) -> None:
    pair_order = sim.place_order("spot", "BTC_USDT")["id"]
    other_order = sim.place_order("spot", "SOL_USDT")["id"]
    contract = next(iter(sim.exchange.markets.contracts))
    option_order = sim.place_order("options", contract, amount="2")["id"]
    assert countdown(session, sim, 5, currency_pair="BTC_USDT").ok
    assert countdown(session, sim, 6).ok
    assert signed_call(session, sim.base_url, "POST", "/options/countdown_cancel_all",
                       body={"timeout": 60, "underlying": "ETH_USDT"}).ok

    sim.set_clock_skew(7)
    assert wait_until(lambda: len(sim.firings()) == 2, 2.0)
    fired = {f.scope: sorted(f.order_ids) for f in sim.firings()}
    # The pair fires first and takes its order; all-spot then finds only the other pair's.
    assert fired == {"spot:BTC_USDT": [pair_order], "spot:all": [other_order]}
    assert [o["id"] for o in sim.open_orders()] == [option_order]
    assert set(sim.countdowns()) == {"options:ETH_USDT"}


def test_options_underlying_fires_its_contracts(sim: Simulator,
                                                session: requests.Session) -> None:
    contracts = sim.exchange.markets.contracts
    btc = next(c for c in contracts.values() if c.underlying == "BTC_USDT")
    eth = next(c for c in contracts.values() if c.underlying == "ETH_USDT")
    btc_order = sim.place_order("options", btc.name)["id"]
    eth_order = sim.place_order("options", eth.name, side="sell")["id"]
    spot_order = sim.place_order("spot", "BTC_USDT")["id"]
    assert signed_call(session, sim.base_url, "POST", "/options/countdown_cancel_all",
                       body={"timeout": 5, "underlying": "BTC_USDT"}).ok
    sim.set_clock_skew(6)
    assert wait_until(lambda: bool(sim.firings()), 2.0)
    assert [(f.scope, f.order_ids) for f in sim.firings()] == [
        ("options:BTC_USDT", [str(btc_order)])]
    assert sorted(str(o["id"]) for o in sim.open_orders()) == sorted([str(eth_order), spot_order])


# -- faults --------------------------------------------------------------------------------------


def test_status_fault_and_its_count(sim: Simulator, session: requests.Session) -> None:
    url = f"{sim.base_url}/spot/time"
    sim.add_fault(Fault.STATUS, path="/spot/time", count=2)
    for _ in range(2):
        answer = session.get(url, timeout=5)
        assert answer.status_code == 503
        assert answer.json()["label"] == "SERVER_ERROR"
        assert answer.headers["X-Gate-Trace-ID"]
    assert session.get(url, timeout=5).status_code == 200
    assert sim.state()["faults"] == []

    sim.add_fault("status", status=429, count=1)
    assert session.get(url, timeout=5).json()["label"] == "TOO_MANY_REQUESTS"
    sim.add_fault("status", status=500, label="TOO_BUSY", count=1)
    answer = session.get(url, timeout=5)
    assert (answer.status_code, answer.json()["label"]) == (500, "TOO_BUSY")
    assert [r.status for r in sim.requests("/spot/time")] == [503, 503, 200, 429, 500]


def test_html_and_empty_faults(sim: Simulator, session: requests.Session) -> None:
    url = f"{sim.base_url}/spot/time"
    sim.add_fault("html", count=1)
    answer = session.get(url, timeout=5)
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "<center>nginx</center>" in answer.text

    sim.add_fault("empty", count=1, status=504)
    answer = session.get(url, timeout=5)
    assert (answer.status_code, answer.content) == (504, b"")
    assert session.get(url, timeout=5).ok


def test_drop_fault_resets_the_connection(sim: Simulator, session: requests.Session) -> None:
    sim.add_fault("drop", path="/spot/time", count=1)
    with pytest.raises(requests.ConnectionError):
        session.get(f"{sim.base_url}/spot/time", timeout=5)
    assert session.get(f"{sim.base_url}/spot/time", timeout=5).ok
    assert [r.status for r in sim.requests("/spot/time")] == [0, 200]


def test_hang_fault_until_cleared(sim: Simulator, session: requests.Session) -> None:
    fault_id = sim.add_fault("hang")
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        session.get(f"{sim.base_url}/spot/time", timeout=0.3)
    assert time.monotonic() - started < 2
    sim.clear_faults(fault_id)
    assert session.get(f"{sim.base_url}/spot/time", timeout=5).ok
    assert [r.status for r in sim.requests("/spot/time")] == [0, 200]


def test_hang_fault_ends_after_hang_s(sim: Simulator, session: requests.Session) -> None:
    sim.add_fault("hang", count=1, hang_s=0.2)
    with pytest.raises(requests.ConnectionError):
        session.get(f"{sim.base_url}/spot/time", timeout=5)


def test_stop_releases_hung_requests() -> None:
    simulator = Simulator(keys={TEST_KEY: TEST_SECRET})
    simulator.start()
    simulator.add_fault("hang")
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(f"{simulator.base_url}/spot/time", timeout=10)
        except requests.RequestException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert wait_until(lambda: bool(simulator.requests()), 2.0)
    started = time.monotonic()
    simulator.stop()
    assert time.monotonic() - started < 1.0
    caller.join(timeout=2)
    assert len(outcome) == 1 and isinstance(outcome[0], requests.ConnectionError)


def test_latency_rules_add_up(sim: Simulator, session: requests.Session) -> None:
    url = f"{sim.base_url}/spot/time"
    session.get(url, timeout=5)  # connect first, so the timing below is the delay alone
    sim.add_fault("latency", latency_ms=150, count=1)
    sim.add_fault("latency", latency_ms=150, path="/spot/time", count=1)
    started = time.monotonic()
    assert session.get(url, timeout=5).ok
    assert time.monotonic() - started >= 0.3
    # Each rule was for one request: both are used up (an upper bound on time would flake).
    assert sim.state()["faults"] == []
    assert session.get(url, timeout=5).ok


def test_scope_fault_hits_only_that_scope(sim: Simulator, session: requests.Session) -> None:
    sim.add_fault("status", scope="spot:BTC_USDT")
    assert countdown(session, sim, 30, currency_pair="BTC_USDT").status_code == 503
    assert countdown(session, sim, 30, currency_pair="ETH_USDT").ok
    assert countdown(session, sim, 30).ok
    cancel = signed_call(session, sim.base_url, "DELETE", "/spot/orders",
                         query="currency_pair=BTC_USDT")
    assert cancel.status_code == 503
    assert signed_call(session, sim.base_url, "DELETE", "/spot/orders").ok
    assert set(sim.countdowns()) == {"spot:ETH_USDT", "spot:all"}
    records = sim.requests("/spot/countdown_cancel_all")
    assert [(r.scope, r.timeout, r.status) for r in records] == [
        ("spot:BTC_USDT", 30, 503), ("spot:ETH_USDT", 30, 200), ("spot:all", 30, 200)]


def test_faults_through_the_control_api(sim: Simulator, session: requests.Session) -> None:
    created = session.post(f"{sim.control_url}/faults", timeout=5,
                           json={"kind": "status", "status": 502, "path": "/spot/time"})
    fault_id = created.json()["id"]
    assert session.get(f"{sim.base_url}/spot/time", timeout=5).status_code == 502
    assert [f["id"] for f in session.get(f"{sim.control_url}/state", timeout=5).json()["faults"]
            ] == [fault_id]
    assert session.delete(f"{sim.control_url}/faults/{fault_id}", timeout=5).ok
    assert session.get(f"{sim.base_url}/spot/time", timeout=5).ok
    bad = session.post(f"{sim.control_url}/faults", json={"kind": "meteor"}, timeout=5)
    assert bad.status_code == 400
    session.post(f"{sim.control_url}/faults", json={"kind": "drop"}, timeout=5)
    assert session.delete(f"{sim.control_url}/faults", timeout=5).json() == {"cleared": 1}
    # The control API itself is never faulted.
    sim.add_fault("drop")
    assert session.get(f"{sim.control_url}/state", timeout=5).ok


# -- clock ---------------------------------------------------------------------------------------


def test_request_expired_with_a_skewed_clock(sim: Simulator, session: requests.Session) -> None:
    sim.set_clock_skew(120)
    expired = countdown(session, sim, 30)
    assert expired.status_code == 401
    assert expired.json() == {"label": "REQUEST_EXPIRED",
                              "message": "gap between request Timestamp and server time "
                                         "exceeds 60"}
    assert sim.countdowns() == {}
    # Signing with the server's time (what the app does after a resync) works.
    server_now = sim.server_time()
    assert signed_call(session, sim.base_url, "POST", "/spot/countdown_cancel_all",
                       body={"timeout": 30}, timestamp=str(int(server_now) - 55)).ok
    late = signed_call(session, sim.base_url, "POST", "/spot/countdown_cancel_all",
                       body={"timeout": 30}, timestamp=str(int(server_now) + 65))
    assert late.json()["label"] == "REQUEST_EXPIRED"
    answer = session.post(f"{sim.control_url}/clock", json={"skew_s": 0}, timeout=5)
    assert answer.json()["clock_skew_s"] == 0
    assert countdown(session, sim, 30).ok


# -- rate limit ----------------------------------------------------------------------------------


def test_rate_limit_after_200_requests(sim: Simulator, session: requests.Session) -> None:
    url = f"{sim.base_url}/spot/time"
    answers = [session.get(url, timeout=5) for _ in range(201)]
    assert all(a.ok for a in answers[:200])
    assert [int(a.headers["X-Gate-RateLimit-Requests-Remain"]) for a in answers[:3]] == [
        199, 198, 197]
    assert answers[199].headers["X-Gate-RateLimit-Requests-Remain"] == "0"
    refused = answers[200]
    assert refused.status_code == 429
    assert refused.json()["label"] == "TOO_MANY_REQUESTS"
    assert refused.headers["X-Gate-RateLimit-Limit"] == "200"
    assert refused.headers["X-Gate-RateLimit-Requests-Remain"] == "0"
    reset_ms = int(refused.headers["X-Gate-RateLimit-Reset-Timestamp"])
    now_ms = sim.server_time() * 1000
    assert now_ms < reset_ms <= now_ms + 10_000
    # Per endpoint: another one is untouched.
    assert session.get(f"{sim.base_url}/spot/currency_pairs", timeout=5).ok
    assert countdown(session, sim, 30).headers["X-Gate-RateLimit-Requests-Remain"] == "199"


# -- command line --------------------------------------------------------------------------------


def test_cli_prints_base_url_first_and_exits_0_on_sigterm() -> None:
    command = [sys.executable, "-m", "gui.simulator", "--port", "0", "--key", TEST_KEY,
               "--secret", TEST_SECRET]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v4", first_line), first_line
        with requests.get(f"{first_line}/spot/time", timeout=5) as answer:
            assert answer.ok
        process.terminate()
        process.communicate(timeout=10)
        assert process.returncode == 0


def test_cli_demo_without_key_uses_the_demo_key() -> None:
    from gui.simulator import DEMO_KEY, DEMO_SECRET

    command = [sys.executable, "-m", "gui.simulator", "--demo"]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process, \
            requests.Session() as http:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        answer = signed_call(http, base_url, "GET", "/spot/open_orders", key=DEMO_KEY,
                             secret=DEMO_SECRET)
        assert answer.ok and answer.json()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
        assert process.returncode == 0


@pytest.mark.parametrize("arguments", [
    [],
    ["--key", TEST_KEY],
    ["--port", "99999", "--demo"],
    ["--demo", "--read-only-key", "x"],
])
def test_cli_bad_arguments_exit_2(arguments: list[str]) -> None:
    finished = subprocess.run([sys.executable, "-m", "gui.simulator", *arguments],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert finished.returncode == 2
    assert finished.stdout == ""
    assert "error" in finished.stderr
