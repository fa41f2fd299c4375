"""Times as the window says them: the date in front when it is not today, the zone on hover."""

from __future__ import annotations

import time

from gui.words import count_of, moment_text, window_title, zone_text


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


def test_a_count_says_its_noun_in_the_right_number() -> None:
    assert count_of(1, "target") == "1 target"
    assert [count_of(n, "target") for n in (0, 2)] == ["0 targets", "2 targets"]
    assert count_of(2, "entry", "entries") == "2 entries"
    assert count_of(1, "entry", "entries") == "1 entry"
