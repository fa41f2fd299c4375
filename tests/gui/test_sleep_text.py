"""What the journal says as the computer goes to sleep."""

from __future__ import annotations

import time

from gui.core.heartbeat import State, TargetStatus
from gui.core.targets import parse_target
from gui.sleep_watch import sleep_text
from gui.words import clock_text

BTC = parse_target("spot:BTC_USDT")
OPT = parse_target("options:all")


class Engine:
    def __init__(self, statuses):
        self._statuses = {s.target: s for s in statuses}
        self.armed_targets = list(self._statuses)

    def status(self, target):
        return self._statuses.get(target)


def _status(target, trigger_ms):
    return TargetStatus(target=target, state=State.ARMED, timeout=60, interval=15.0,
                        trigger_time_ms=trigger_ms, deadline_mono=None)


def test_it_names_each_countdown_and_when_it_fires():
    fires = int(time.time() * 1000) + 60_000
    text = sleep_text(Engine([_status(BTC, fires), _status(OPT, None)]))
    assert text == ("the computer is going to sleep; the countdowns will fire at "
                    f"spot:BTC_USDT at {clock_text(fires)}, options:all (no beat acknowledged "
                    "yet: when is not known) unless it wakes and beats before then")


def test_nothing_armed_is_said_as_such():
    assert sleep_text(Engine([])) == "the computer is going to sleep; nothing is armed"
    assert sleep_text(None) == "the computer is going to sleep; nothing is armed"
