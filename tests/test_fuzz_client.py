"""The client's parsing under a fuzzer: whatever comes back, a typed error or a valid result.

No network: a transport stub handed to the client in place of its urllib3 pools answers every
request with a response built by hypothesis (random JSON, the right keys with wrong types,
HTML, empty, truncated, wrongly encoded and huge bodies, any status from 100 to 599, odd
headers), or fails the way a transport fails. Every public method of :class:`GateClient` must
then return a well-formed result or raise a :class:`GateError`: never another exception, never
a hang.

Three kinds of answer are left out of the general strategies because they currently escape as
``OverflowError``/``ValueError`` or poison the rate budget; each has its own strict xfail test
below naming the fix (non-finite or out-of-range numbers: ``server_time``, ``triggerTime``,
``expiration_time``, ``X-Gate-RateLimit-Reset-Timestamp``). Once fixed, drop the xfail marks and
let ``KNOWN_ESCAPES_LEFT_OUT`` go.
"""

from __future__ import annotations

import io
import json
import math
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3 import exceptions as u3

from gui.core.client import (
    MAX_BODY_BYTES,
    NO_ACCESS,
    READ_ONLY,
    READ_WRITE,
    UNKNOWN,
    CancelResult,
    ClockSync,
    CountdownAck,
    CurrencyPair,
    GateClient,
    KeyCheck,
    OpenOrder,
    OptionContract,
    RateInfo,
    Underlying,
)
from gui.core.errors import BadResponseError, GateError, NetworkError, RateLimitedError
from gui.core.futures import FuturesContract
from gui.core.orders import open_orders
from gui.core.targets import parse_target

BASE_URL = "http://127.0.0.1:9/api/v4"  # never contacted: the stub answers
KEY = "fuzz-key-0123456789"
SECRET = "fuzz-secret-abcdef0123456789"
SERVER_MS = 1_760_000_000_000
TIME_BODY = json.dumps({"server_time": SERVER_MS}).encode()
CONTRACT = "BTC_USDT-20241001-46000-C"

# The general strategies keep numbers finite and within int64 (see the module docstring).
KNOWN_ESCAPES_LEFT_OUT = True


# ---------------------------------------------------------------------------------------------
# The transport stub
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One response (or transport failure) the stub hands back."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    failure: Callable[[], BaseException] | None = None


# What urllib3 and the socket layer raise when a request fails before an answer arrives.
FAILURES: dict[str, Callable[[], BaseException]] = {
    "refused": lambda: u3.NewConnectionError(None, "Connection refused"),  # type: ignore[arg-type]
    "connect-timeout": lambda: u3.ConnectTimeoutError("connect timed out"),
    "read-timeout": lambda: u3.ReadTimeoutError(None, "/x", "read timed out"),  # type: ignore[arg-type]
    "tls": lambda: u3.SSLError("certificate verify failed"),
    "proxy": lambda: u3.ProxyError("Unable to connect to proxy", OSError("refused")),
    "reset": lambda: u3.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
    "bad-status-line": lambda: u3.ProtocolError("Connection aborted.", OSError("BadStatusLine")),
    "decode": lambda: u3.DecodeError("bad gzip"),
    "headers": lambda: u3.HeaderParsingError([], "x"),  # type: ignore[arg-type]
    "socket": lambda: ConnectionResetError(104, "Connection reset by peer"),
    "urllib3": lambda: u3.HTTPError("something else"),
}


@dataclass
class Sent:
    method: str
    url: str
    headers: Mapping[str, str]


class StubTransport:
    """Answers every request from ``answer_for(path)`` without touching a socket."""

    def __init__(self, answer_for: Callable[[str], Answer]) -> None:
        self.answer_for = answer_for
        self.sent: list[Sent] = []

    def send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
             timeout: float) -> urllib3.BaseHTTPResponse:
        self.sent.append(Sent(method, url, dict(headers)))
        path = url.split("?")[0].removeprefix(BASE_URL)
        answer = self.answer_for(path)
        if answer.failure is not None:
            raise answer.failure()
        return urllib3.HTTPResponse(
            body=io.BytesIO(answer.body), headers=dict(answer.headers), status=answer.status,
            preload_content=False, decode_content=True, enforce_content_length=True,
            request_method=method)

    def close(self) -> None:
        pass


def stubbed_client(answer_for: Callable[[str], Answer], *, synced: bool) -> GateClient:
    transport = StubTransport(answer_for)
    client = GateClient(BASE_URL, KEY, SECRET, transport=transport, timeout=1.0)
    if synced:
        saved = transport.answer_for
        transport.answer_for = lambda _path: Answer(200, TIME_BODY)
        client.sync_clock()
        transport.answer_for = saved
    return client


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

KNOWN_KEYS = ["server_time", "triggerTime", "id", "base", "quote", "trade_status", "name",
              "index_price", "underlying", "expiration_time", "is_call", "strike_price",
              "currency_pair", "orders", "succeeded", "label", "message", "detail", "status",
              "side", "amount", "price", "left", "size", "contract", "total"]
LABELS = ["INVALID_KEY", "INVALID_SIGNATURE", "REQUEST_EXPIRED", "READ_ONLY", "FORBIDDEN",
          "INVALID_PARAM_VALUE", "NOT_FOUND", "TOO_MANY_REQUESTS", "SERVER_ERROR", "INTERNAL",
          "ORDER_NOT_FOUND", "SOMETHING_NEW", ""]

keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12)
scalars = (st.none() | st.booleans()
           | st.integers(min_value=-(2**63), max_value=2**63 - 1)
           | st.floats(allow_nan=not KNOWN_ESCAPES_LEFT_OUT,
                       allow_infinity=not KNOWN_ESCAPES_LEFT_OUT)
           | st.text(max_size=30)
           | st.sampled_from(["1760000000000", "0", "-1", "1.5", "", "BTC_USDT", CONTRACT,
                              "tradable", "untradable", "buy", "sell", "cancelled", "open"]))
json_values = st.recursive(
    scalars,
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(keys, children, max_size=6)),
    max_leaves=25)
# The right shape with wrong (or right) types inside: what a changed API would send.
shaped = (st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values, max_size=8)
          | st.lists(st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values, max_size=8),
                     max_size=4)
          | st.lists(st.fixed_dictionaries(
              {"currency_pair": scalars, "total": scalars,
               "orders": st.lists(st.dictionaries(st.sampled_from(KNOWN_KEYS), scalars,
                                                  max_size=8), max_size=3)}), max_size=3)
          | st.fixed_dictionaries({"label": st.sampled_from(LABELS) | scalars,
                                   "message": json_values}))

HTML_PAGES = [
    b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    b"   \r\n<!DOCTYPE html><html><body>Cloudflare: checking your browser</body></html>",
    b"<?xml version='1.0'?><error>no</error>",
]


def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v).encode()).flatmap(
        lambda b: st.integers(0, max(0, len(b) - 1)).map(lambda n: b[:n])),  # truncated
    st.sampled_from(HTML_PAGES),
    st.just(b""),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"\x80\x81\x82", b"null",
                     b"NaN-ish", _deep(5000), b'{"a":' * 3000,
                     b'"' + b"x" * 2_000_000 + b'"',  # huge but under the cap
                     b"[" + b"1," * 400_000 + b"1]"]),
)

statuses = (st.sampled_from([200, 201, 204, 206, 301, 302, 304, 400, 401, 403, 404, 408,
                             418, 429, 500, 502, 503, 504, 520, 599])
            | st.integers(min_value=100, max_value=599))

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)


def _finite_or_not_a_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except (ValueError, OverflowError):
        return True


number_text = (st.integers(-(2**70), 2**70).map(str)
               | st.floats(allow_nan=False, allow_infinity=False).map(repr)
               | header_text.filter(_finite_or_not_a_number if KNOWN_ESCAPES_LEFT_OUT else bool))
headers = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/json", "application/json; charset=utf-8",
                                     "text/html", "text/html; charset=iso-8859-1",
                                     "text/plain", "", "application/x-what"]) | header_text,
    "X-Gate-RateLimit-Reset-Timestamp": number_text,
    "X-Gate-RateLimit-Requests-Remain": number_text,
    "X-Gate-RateLimit-Limit": number_text,
    "X-Gate-Trace-ID": header_text | st.just("t" * 5000),
    "Content-Encoding": st.sampled_from(["gzip", "deflate", "identity", "br", "x-nonsense"]),
    # Any text here escapes as UnicodeDecodeError/ValueError: see the xfail test below.
    "Location": (st.sampled_from(["/api/v4/elsewhere", "https://gate.invalid/api/v4", "",
                                  "http://127.0.0.1:9/x?y=1"])
                 if KNOWN_ESCAPES_LEFT_OUT else header_text),
    "Retry-After": header_text,
})


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    failure = draw(st.sampled_from([None] * 12 + list(FAILURES.values())))
    body = draw(bodies)
    head = dict(draw(headers))
    if draw(st.integers(0, 9)) == 0:
        # A Content-Length that promises more than arrives: a connection cut mid-body.
        head["Content-Length"] = str(len(body) + draw(st.integers(1, 10_000)))
    if head.get("Content-Encoding") == "deflate" and draw(st.booleans()):
        body = zlib.compress(body)  # a correctly encoded body now and then
    status = draw(statuses)
    if KNOWN_ESCAPES_LEFT_OUT and 300 <= status < 400 and "Content-Encoding" in head:
        head.pop("Location", None)  # see test_redirect_answers_are_typed_errors
    return Answer(status, body, head, failure)


# ---------------------------------------------------------------------------------------------
# What a valid result looks like, per method
# ---------------------------------------------------------------------------------------------

BTC = parse_target("spot:BTC_USDT")
SPOT_ALL = parse_target("spot:all")
OPT_CONTRACT = parse_target(f"options:{CONTRACT}")
FUTURES_CONTRACT = parse_target("futures:usdt:BTC_USDT")
FUTURES_ALL = parse_target("futures:btc:all")
OPT_UNDERLYING = parse_target("options:BTC_USDT")


def _list_of(kind: type) -> Callable[[Any], bool]:
    return lambda r: isinstance(r, list) and all(isinstance(i, kind) for i in r)


def _ack(timeout: int) -> Callable[[Any], bool]:
    def ok(r: Any) -> bool:
        if not isinstance(r, CountdownAck) or r.timeout != timeout:
            return False
        if timeout == 0:
            return True
        return (isinstance(r.trigger_time_ms, int) and r.trigger_time_ms > 0
                and math.isfinite(r.deadline_mono))
    return ok


def _clock(r: Any) -> bool:
    return (isinstance(r, ClockSync) and math.isfinite(r.server_minus_mono)
            and math.isfinite(r.server_time(r.measured_mono)))


def _key_check(r: Any) -> bool:
    levels = {READ_WRITE, READ_ONLY, NO_ACCESS, UNKNOWN}
    return isinstance(r, KeyCheck) and set(r.levels.values()) <= levels


# name: (call, is_valid, fuzz the clock request too)
CALLS: dict[str, tuple[Callable[[GateClient], Any], Callable[[Any], bool], bool]] = {
    "server_time": (lambda c: c.server_time(),
                    lambda r: isinstance(r, float) and math.isfinite(r) and r > 0, True),
    "sync_clock": (lambda c: c.sync_clock(), _clock, True),
    "ensure_clock": (lambda c: c.ensure_clock(), _clock, True),
    "spot_pairs": (lambda c: c.spot_pairs(), _list_of(CurrencyPair), False),
    "option_underlyings": (lambda c: c.option_underlyings(), _list_of(Underlying), False),
    "option_contracts": (lambda c: c.option_contracts("BTC_USDT"), _list_of(OptionContract),
                         False),
    "countdown": (lambda c: c.countdown(BTC, 60), _ack(60), False),
    "countdown_stop": (lambda c: c.countdown(OPT_UNDERLYING, 0), _ack(0), False),
    "spot_countdown": (lambda c: c.spot_countdown(30), _ack(30), False),
    "options_countdown": (lambda c: c.options_countdown(30, contract=CONTRACT), _ack(30),
                          False),
    "cancel_now": (lambda c: c.cancel_now(OPT_CONTRACT), _list_of(CancelResult), False),
    "cancel_spot_orders": (lambda c: c.cancel_spot_orders("BTC_USDT"), _list_of(CancelResult),
                           False),
    "cancel_option_orders": (lambda c: c.cancel_option_orders(underlying="BTC_USDT"),
                             _list_of(CancelResult), False),
    "open_orders": (lambda c: open_orders(c, SPOT_ALL), _list_of(OpenOrder), False),
    "spot_open_orders": (lambda c: c.spot_open_orders(), _list_of(OpenOrder), False),
    "option_open_orders": (lambda c: c.option_open_orders(contract=CONTRACT),
                           _list_of(OpenOrder), False),
    "check_key": (lambda c: c.check_key(), _key_check, False),
    "futures_contracts": (lambda c: c.futures_contracts("usdt"), _list_of(FuturesContract),
                          False),
    "futures_countdown": (lambda c: c.countdown(FUTURES_CONTRACT, 60), _ack(60), False),
    "futures_countdown_stop": (lambda c: c.countdown(FUTURES_ALL, 0), _ack(0), False),
    "futures_open_orders": (lambda c: c.futures_open_orders("btc"), _list_of(OpenOrder), False),
    "cancel_futures_orders": (lambda c: c.cancel_futures_orders("usdt"),
                              _list_of(CancelResult), False),
}


def run_call(name: str, answer: Answer) -> tuple[GateClient, Any]:
    call, valid, fuzz_clock = CALLS[name]

    def answer_for(path: str) -> Answer:
        if path == "/spot/time" and not fuzz_clock:
            return Answer(200, TIME_BODY)
        return answer

    client = stubbed_client(answer_for, synced=not fuzz_clock)
    try:
        result = call(client)
    except GateError as exc:
        # A typed error says something a person can read, and nothing else escapes.
        assert str(exc)
        if isinstance(exc, RateLimitedError) and exc.reset_at is not None:
            assert math.isfinite(exc.reset_at)
        return client, exc
    finally:
        client.close()
    assert valid(result), (name, result)
    return client, result


# GATE_KILLSWITCH_FUZZ_EXAMPLES=5000 for a long hunt; the default keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("GATE_KILLSWITCH_FUZZ_EXAMPLES", "40")),
                deadline=timedelta(seconds=3),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(CALLS))
@FUZZ
@given(answer=answers())
def test_any_answer_is_a_typed_error_or_a_valid_result(name: str, answer: Answer) -> None:
    client, _outcome = run_call(name, answer)
    # The rate information the answer carried is readable, whatever it said.
    for info in client._rate.values():
        assert isinstance(info, RateInfo)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("answer", [
    Answer(200, b"x" * (MAX_BODY_BYTES + 1)),
    Answer(200, b"[" + b" " * (MAX_BODY_BYTES + 10) + b"]"),
], ids=["9MB-garbage", "9MB-json"])
def test_oversized_bodies_are_bad_responses(name: str, answer: Answer) -> None:
    _client, outcome = run_call(name, answer)
    if name == "check_key":
        assert isinstance(outcome, KeyCheck)
        assert set(outcome.levels.values()) == {UNKNOWN}
        assert "far larger" in outcome.details["spot"]
    else:
        assert isinstance(outcome, BadResponseError)


@pytest.mark.parametrize("name", ["countdown", "spot_pairs", "check_key", "server_time"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_transport_failures_are_network_errors(name: str, failure: str) -> None:
    _client, outcome = run_call(name, Answer(failure=FAILURES[failure]))
    if name == "check_key":
        # Per product "unknown": the key check reports, it does not raise on the network.
        assert isinstance(outcome, KeyCheck | NetworkError)
    else:
        assert isinstance(outcome, NetworkError)


def test_a_body_cut_short_is_a_network_error() -> None:
    body = json.dumps({"triggerTime": "1760000060000"}).encode()
    answer = Answer(200, body[:10], {"Content-Length": str(len(body))})
    _client, outcome = run_call("countdown", answer)
    assert isinstance(outcome, NetworkError)


def test_the_stub_really_answers_and_a_good_answer_is_accepted() -> None:
    """The harness itself: a well-formed answer gives a well-formed result."""
    answer = Answer(200, json.dumps({"triggerTime": "1760000060000"}).encode(),
                    {"Content-Type": "application/json",
                     "X-Gate-RateLimit-Requests-Remain": "199",
                     "X-Gate-RateLimit-Limit": "200",
                     "X-Gate-RateLimit-Reset-Timestamp": "1760000010000"})
    client, ack = run_call("countdown", answer)
    assert isinstance(ack, CountdownAck) and ack.trigger_time_ms == 1_760_000_060_000
    info = client.rate_info("POST", "/spot/countdown_cancel_all")
    assert info == RateInfo(199, 200, 1_760_000_010.0)


# ---------------------------------------------------------------------------------------------
# Known escapes: each needs a fix in gui/core/client.py (see the reasons)
# ---------------------------------------------------------------------------------------------

NON_FINITE_TIMES = [b'{"server_time": NaN}', b'{"server_time": Infinity}',
                    b'{"server_time": 1e400}', b'{"server_time": ' + b"9" * 400 + b"}"]


@pytest.mark.parametrize("body", NON_FINITE_TIMES, ids=["nan", "inf", "1e400", "400-digits"])
def test_non_finite_server_time_is_a_bad_response(body: bytes) -> None:
    client = stubbed_client(lambda _path: Answer(200, body), synced=False)
    with pytest.raises(BadResponseError):
        client.spot_countdown(60, "BTC_USDT")


def test_huge_integer_trigger_time_is_a_bad_response() -> None:
    body = b'{"triggerTime": ' + b"9" * 400 + b"}"
    client = stubbed_client(lambda p: Answer(200, TIME_BODY if p == "/spot/time" else body),
                            synced=True)
    try:
        ack = client.countdown(BTC, 60)
    except BadResponseError:
        return
    assert math.isfinite(ack.deadline_mono)


@pytest.mark.parametrize("expiry", [b"1e400", b"NaN"])
def test_non_finite_expiration_time_is_a_bad_response(expiry: bytes) -> None:
    body = b'[{"name": "' + CONTRACT.encode() + b'", "expiration_time": ' + expiry + b"}]"
    client = stubbed_client(lambda p: Answer(200, TIME_BODY if p == "/spot/time" else body),
                            synced=True)
    with pytest.raises(BadResponseError):
        client.option_contracts("BTC_USDT")


@pytest.mark.parametrize("reset", ["inf", "nan", "1e400"])
def test_non_finite_rate_limit_reset_is_ignored(reset: str) -> None:
    answer = Answer(429, b'{"label": "TOO_MANY_REQUESTS", "message": "slow down"}',
                    {"X-Gate-RateLimit-Reset-Timestamp": reset})
    client = stubbed_client(lambda p: Answer(200, TIME_BODY) if p == "/spot/time" else answer,
                            synced=True)
    with pytest.raises(RateLimitedError) as caught:
        client.countdown(BTC, 60)
    assert caught.value.reset_at is None or math.isfinite(caught.value.reset_at)


@pytest.mark.parametrize("answer", [
    Answer(302, b"<html>login</html>", {"Location": "\x80"}),
    Answer(302, b"<html>login</html>", {"Location": "http://[portal"}),
    Answer(301, b"x\x9c\xcb+\xcd\xc9\x01\x00\x04_\x01\xbc",
           {"Location": "/api/v4/elsewhere", "Content-Encoding": "deflate",
            "Content-Length": "5"}),
], ids=["location-not-utf8", "location-bad-url", "broken-body"])
def test_redirect_answers_are_typed_errors(answer: Answer) -> None:
    _client, outcome = run_call("countdown", answer)
    assert isinstance(outcome, BadResponseError | NetworkError)
