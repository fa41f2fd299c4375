"""What a command line or a second launch asks to arm: one check for every front-end, and a
forwarded request that is strict about what it accepts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gui.core.arm_request import (
    MAX_REQUEST_BYTES,
    ForwardedRequest,
    check_arm_request,
    decode_request,
    drop_covered,
    encode_request,
)
from gui.core.errors import InvalidInputError
from gui.core.targets import parse_target


def test_covered_targets_are_left_out_and_named() -> None:
    wanted = [parse_target(t) for t in ("options:all", "options:BTC_USDT",
                                        "options:BTC_USDT-20241001-46000-C", "spot:BTC_USDT",
                                        "spot:BTC_USDT")]
    kept, dropped = drop_covered(wanted)
    assert [str(t) for t in kept] == ["options:all", "spot:BTC_USDT"]
    assert [(str(a), str(b)) for a, b in dropped] == [
        ("options:BTC_USDT", "options:all"),
        ("options:BTC_USDT-20241001-46000-C", "options:all")]


@pytest.mark.parametrize(("timeout", "words"), [(99_999_999, "at most 86400"),
                                                (86_401, "at most 86400"), (4, "at least 5")])
def test_a_timeout_out_of_range_is_refused_never_clamped(timeout: int, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        check_arm_request(["spot:BTC_USDT"], timeout, None)


def test_a_good_request_keeps_the_interval_warning_for_the_terminal() -> None:
    request = check_arm_request(["spot:all"], 60, 25)
    assert request.timeout == 60 and request.interval == 25
    assert any(note.startswith("Warning:") for note in request.notes())
    assert check_arm_request(["spot:all"], 86_400, None).interval == 21_600


def test_a_forwarded_request_round_trips() -> None:
    request = ForwardedRequest(arm=["spot:BTC_USDT"], timeout=30, interval=7.5,
                               profile="main", demo=False)
    assert decode_request(encode_request(request).rstrip(b"\n")) == request


def test_an_oversized_request_is_refused_both_ways() -> None:
    with pytest.raises(InvalidInputError):
        encode_request(ForwardedRequest(arm=["spot:BTC_USDT"] * 2000, timeout=None,
                                        interval=None, profile=None, demo=False))
    with pytest.raises(InvalidInputError, match="too long"):
        decode_request(b" " * (MAX_REQUEST_BYTES + 1))


@given(st.binary(max_size=300))
def test_any_bytes_are_a_request_or_refused(data: bytes) -> None:
    try:
        decode_request(data)
    except InvalidInputError:
        pass
