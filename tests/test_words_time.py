"""Times as the window says them: the date in front when it is not today, the zone on hover."""

from __future__ import annotations

import time

import pytest

from gui.core.errors import InvalidInputError
from gui.core.heartbeat import State, TargetStatus
from gui.core.phrases import counted, format_left, seconds_text
from gui.core.targets import spot
from gui.core.timing import check_interval
from gui.words import moment_text, overall_state, window_title, zone_text


def test_a_time_today_is_a_clock_time_and_another_day_says_its_date() -> None:
    now = time.mktime((2026, 12, 3, 12, 0, 0, 0, 0, -1))
    today = int(time.mktime((2026, 12, 3, 23, 59, 0, 0, 0, -1)) * 1000)
    tomorrow = int(time.mktime((2026, 12, 4, 0, 15, 0, 0, 0, -1)) * 1000)
    assert moment_text(today, now) == "23:59:00"
    assert moment_text(tomorrow, now) == "Fri 4 Dec 00:15:00"
    assert moment_text(None, now) == "—"


def test_the_zone_is_named_with_its_offset() -> None:
    text = zone_text(int(time.time() * 1000))
    assert text.startswith("Local time: ") and "UTC" in text
    assert text[-6] in "+-" and text[-3] == ":"
    assert zone_text(None) == ""


def test_an_idle_title_says_not_armed() -> None:
    assert window_title([], 0.0) == "not armed — gate-killswitch"
    assert window_title([], 0.0, demo=True) == "not armed — gate-killswitch — demo"


def test_counts_and_seconds_read_as_a_person_writes_them() -> None:
    assert [counted(n, "target") for n in (0, 1, 2)] == ["0 targets", "1 target", "2 targets"]
    assert counted(1, "open order") == "1 open order"
    assert counted(2, "entry", "entries") == "2 entries"
    assert [seconds_text(v) for v in (25_000_000, 2.5, 0.25, 15.0, 86_399)] == \
        ["25000000", "2.5", "0.25", "15", "86399"]
    # A deadline a hair past is 0 s, never "-0 s"; an unknown (NaN) one is not a number of s.
    assert format_left(-0.3) == "0 s" and format_left(-40) == "0 s"
    assert format_left(float("nan")) == "0 s"


def test_an_interval_far_too_long_is_refused_in_plain_numbers() -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_interval(60, 25_000_000)
    assert "(25000000 s)" in str(refused.value) and "e+" not in str(refused.value)


def test_targets_gate_has_not_answered_yet_are_arming_never_armed() -> None:
    def one(name: str, state: State) -> TargetStatus:
        deadline = None if state is State.ARMING else 100.0
        return TargetStatus(target=spot(name), state=state, timeout=60, interval=15.0,
                            trigger_time_ms=None if deadline is None else 1, deadline_mono=deadline)

    waiting = [one(f"C{i}_USDT", State.ARMING) for i in range(200)]
    state, line = overall_state(waiting, 50.0)
    assert state != "armed" and line.startswith("Arming… waiting for the exchange to answer 200")
    assert window_title(waiting, 50.0) == "arming — gate-killswitch"
    some = [one("BTC_USDT", State.ARMED), *waiting[:3]]
    state, line = overall_state(some, 50.0)
    assert state != "armed" and "1 target armed, 50 s left" in line and "3 targets" in line
    assert overall_state([one("BTC_USDT", State.ARMED)], 50.0) == \
        ("armed", "Armed: 1 target, 50 s left")
