"""Each network failure named for what it is, every answer shape Gate may send accepted, and
answers that drip or make no sense cut off or refused: against the simulator over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gui.core.client import UNKNOWN, GateClient
from gui.core.errors import BadResponseError, NetworkError, ServerError
from gui.core.targets import parse_target
from gui.simulator import Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET

BTC = parse_target("spot:BTC_USDT")
COUNTDOWN = "/spot/countdown_cancel_all"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _network_error(client: GateClient, timeout: float = 2.0) -> NetworkError:
    with pytest.raises(NetworkError) as caught:
        client.server_time(timeout=timeout)
    return caught.value


def test_refused_is_named_refused() -> None:
    with GateClient(f"http://127.0.0.1:{_closed_port()}/api/v4") as client:
        exc = _network_error(client)
    assert exc.cause == "refused" and "refused the connection" in str(exc)
    assert "within" not in str(exc)


@pytest.fixture
def unresolvable(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A resolver the test controls: ``exchange.invalid`` has no address (nothing leaves)."""
    real = socket.getaddrinfo

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "exchange.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    yield "https://exchange.invalid/api/v4"


def test_an_unresolvable_host_is_named_so(unresolvable: str) -> None:
    with GateClient(unresolvable) as client:
        exc = _network_error(client)
    assert exc.cause == "dns" and "Could not resolve exchange.invalid" in str(exc)
    assert "within" not in str(exc)


def test_a_reset_is_named_reset(sim: Simulator) -> None:
    sim.add_fault("drop", path="/spot/time")
    with GateClient(sim.base_url) as client:
        exc = _network_error(client)
    assert exc.cause == "reset" and "reset or dropped" in str(exc)


def test_a_tls_failure_names_the_host_and_never_suggests_turning_checks_off(
        sim: Simulator) -> None:
    # What answers speaks plain HTTP: the handshake fails as with an intercepting box.
    with GateClient(sim.base_url.replace("http://", "https://")) as client:
        exc = _network_error(client)
    text = str(exc).lower()
    assert exc.cause == "tls" and "127.0.0.1" in text
    assert "verify" not in text.replace("verified", "") and "disable" not in text


def test_a_real_timeout_says_within(sim: Simulator) -> None:
    sim.add_fault("hang", path="/spot/time")
    with GateClient(sim.base_url) as client:
        exc = _network_error(client, timeout=0.5)
    assert exc.cause == "timeout" and "within 0.5 s" in str(exc)


def test_an_unknown_key_check_is_unknown_with_its_reason(sim: Simulator) -> None:
    sim.add_fault("drop", path="/options/accounts")
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client:
        check = client.check_key(timeout=2.0)
    assert check.options == UNKNOWN and "reset or dropped" in check.details["options"]


@pytest.mark.parametrize(("status", "body"), [(204, ""), (200, ""), (200, "{}"),
                                              (200, '{"triggerTime":"0"}'),
                                              (200, '{"triggerTime":0}')])
def test_every_answer_gate_may_send_to_a_disarm_is_an_acknowledgement(
        sim: Simulator, status: int, body: str) -> None:
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client:
        client.countdown(BTC, 30)
        sim.add_fault("answer", path=COUNTDOWN, status=status, body=body, count=1)
        ack = client.countdown(BTC, 0)
    assert ack.timeout == 0 and ack.trigger_time_ms == 0
    assert sim.countdowns() == {}


def test_a_numeric_trigger_time_is_accepted(sim: Simulator) -> None:
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client:
        sim_ms = int(client.server_time() * 1000) + 30_000
        sim.add_fault("answer", path=COUNTDOWN, body=f'{{"triggerTime":{sim_ms}}}', count=1)
        ack = client.countdown(BTC, 30)
    assert abs(ack.trigger_time_ms - sim_ms) < 5_000


def test_server_labels_on_5xx_are_server_errors(sim: Simulator) -> None:
    for label in ("INTERNAL_SERVER_ERROR", "SOMETHING_NEW"):
        sim.add_fault("status", path=COUNTDOWN, status=500, label=label, count=1)
        with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client, \
                pytest.raises(ServerError):
            client.countdown(BTC, 30)


def test_string_expiration_times_are_accepted(sim: Simulator) -> None:
    name = "BTC_USDT-20300101-50000-C"
    sim.add_fault("answer", path="/options/contracts", count=1, body=(
        f'[{{"name":"{name}","underlying":"BTC_USDT","expiration_time":"1893456000",'
        '"is_call":true}]'))
    with GateClient(sim.base_url) as client:
        contracts = client.option_contracts("BTC_USDT")
    assert [(c.name, c.expiration_time) for c in contracts] == [(name, 1893456000)]


@pytest.mark.parametrize("trigger", ['"1"', '"99999999999999"', '"1000"'])
def test_an_implausible_trigger_time_is_a_bad_answer(sim: Simulator, trigger: str) -> None:
    sim.add_fault("answer", path=COUNTDOWN, body=f'{{"triggerTime":{trigger}}}', count=1)
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client:
        with pytest.raises(BadResponseError) as caught:
            client.countdown(BTC, 10)
        assert caught.value.retryable and trigger.strip('"') in str(caught.value)
        # The next, sane answer is taken.
        ack = client.countdown(BTC, 10)
    assert abs(ack.trigger_time_ms / 1000 - (client.server_now() + 10)) < 2


def test_a_dripping_answer_is_cut_at_its_bound(sim: Simulator) -> None:
    sim.add_fault("drip", path=COUNTDOWN, rate_bps=20.0, count=1)
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client:
        client.sync_clock()
        started = time.monotonic()
        with pytest.raises(NetworkError) as caught:
            client.countdown(BTC, 30, request_timeout=1.0)
        took = time.monotonic() - started
        assert caught.value.cause == "timeout" and "within 1.0 s" in str(caught.value)
        # A byte every 50 ms never trips a per-read timeout; only the whole-request bound.
        assert took < 3.0
        # The next attempt is on a fresh connection and answered.
        assert client.countdown(BTC, 30).trigger_time_ms > 0


def test_a_drip_fault_is_sent_whole_once_cleared(sim: Simulator) -> None:
    fault = sim.add_fault("drip", path="/spot/time", rate_bps=50.0,
                          body='{"server_time":1700000000123}')
    result: list[float] = []
    with GateClient(sim.base_url) as client:
        worker = threading.Thread(target=lambda: result.append(client.server_time(timeout=20)))
        worker.start()
        end = time.monotonic() + 10
        while not sim.faults.to_json()[0]["hits"] and time.monotonic() < end:
            time.sleep(0.01)  # until the answer is dripping
        sim.clear_faults(fault)
        worker.join(20)
    assert result and int(result[0]) in range(1700000000, 1700000002)


def test_a_failing_proxy_is_named_the_proxy(sim: Simulator, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    with GateClient(sim.base_url) as client:
        exc = _network_error(client)
    assert exc.cause == "proxy" and "HTTP_PROXY" in str(exc) and "proxy" in exc.advice


@pytest.mark.parametrize("options", [{"rate_bps": 0}, {"rate_bps": float("nan")},
                                     {"rate_bps": True}, {"body": 7}, {"body": "x" * 70000}])
def test_the_new_faults_refuse_bad_options_and_add_nothing(sim: Simulator,
                                                           options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        sim.add_fault("drip", **options)
    assert sim.faults.to_json() == []
