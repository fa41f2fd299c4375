"""The app's one clock for deadlines counts through a suspend, and every part reads it."""

from __future__ import annotations

import inspect
import sys
import time

import pytest

from gui.core import clock
from gui.core.client import GateClient


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CLOCK_BOOTTIME is Linux's")
def test_on_linux_deadlines_are_on_clock_boottime() -> None:
    # CLOCK_MONOTONIC (time.monotonic) stops while the machine sleeps; a countdown on it would
    # still show time left on waking for a countdown the exchange fired during the sleep.
    assert clock.MONOTONIC_SOURCE == "CLOCK_BOOTTIME"
    before = time.clock_gettime(time.CLOCK_BOOTTIME)
    reading = clock.SystemClock().monotonic()
    after = time.clock_gettime(time.CLOCK_BOOTTIME)
    assert before <= reading <= after


def test_every_part_that_places_a_deadline_reads_the_same_clock() -> None:
    from gui.tray import Tray
    from gui.window.main_window import MainWindow
    from gui.window.target_card import TargetCard

    defaults = [inspect.signature(GateClient).parameters["monotonic"].default,
                *(inspect.signature(cls).parameters["clock"].default
                  for cls in (MainWindow, TargetCard, Tray))]
    assert all(d is clock.monotonic for d in defaults), defaults
