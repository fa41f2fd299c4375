"""The record of what may be armed, kept by the engine, read back with no network."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gui.core import armed
from gui.core.armed import ArmedError, ArmedRecorder, Verdict, load, reconcile
from gui.core.heartbeat import Engine, State
from tests.test_engine_unit import BTC, ETH, Rig


def rig_with_record(tmp_path: Path, behave: Any = None) -> tuple[Rig, ArmedRecorder]:
    rig = Rig(behave)
    recorder = ArmedRecorder("main", "https://api.gateio.ws/api/v4", directory=tmp_path,
                             wall=rig.clock.wall)
    rig.engine = Engine(rig.client, clock=rig.clock, late_window=12.0, recorder=recorder)
    rig.engine.subscribe(rig.events.append)
    return rig, recorder


def judged(rig: Rig, tmp_path: Path) -> dict[str, armed.Reconciled]:
    assert isinstance(rig.engine.recorder, ArmedRecorder) and rig.engine.recorder.flush()
    record = load("main", tmp_path)
    assert record is not None
    return {r.entry.target: r for r in reconcile(record, now_wall=rig.clock.wall())}


def test_every_ack_and_stop_is_on_file_as_the_exchange_has_it(tmp_path: Path) -> None:
    rig, _ = rig_with_record(tmp_path)
    seen: dict[str, Any] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC, ETH], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).beats >= 2)  # type: ignore[union-attr]
        now = judged(rig, tmp_path)
        status = rig.engine.status(BTC)
        assert status is not None
        seen["live"] = now["spot:BTC_USDT"]
        seen["trigger"] = status.trigger_time_ms
        await rig.engine.disarm([BTC])
        seen["after"] = judged(rig, tmp_path)

    rig.play(scenario)
    live = seen["live"]
    assert live.verdict is Verdict.LIVE and not live.at_the_latest
    # The file's trigger time is the last acknowledged one (the engine may have beaten once
    # more since it was read back).
    assert abs(live.when_ms - seen["trigger"]) <= 1250
    assert 0 < live.seconds_left <= 5
    after = seen["after"]
    assert after["spot:BTC_USDT"].verdict is Verdict.DISARMED
    assert after["spot:ETH_USDT"].verdict is Verdict.LIVE
    text = (tmp_path / "armed-main.json").read_text()
    assert "secret" not in text.lower() and "sign" not in text.lower()


def test_a_beat_sent_without_an_answer_is_counted_until_its_latest(tmp_path: Path) -> None:
    hang = {"on": False}

    def behave(target: Any, timeout: int) -> Any:
        return ("hang", 60.0) if hang["on"] else None

    rig, _ = rig_with_record(tmp_path, behave)
    seen: dict[str, Any] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).state is State.ARMED)  # type: ignore[union-attr]
        hang["on"] = True
        await rig.until(lambda: len(rig.client.sent(BTC, 5)) >= 2)
        seen["sent"] = rig.client.sent(BTC, 5)[-1].sent
        seen["now"] = judged(rig, tmp_path)["spot:BTC_USDT"]

    rig.play(scenario)
    now = seen["now"]
    assert now.verdict is Verdict.LIVE and now.at_the_latest
    # The fake exchange's clock is the fast clock plus SERVER_OFFSET.
    from tests.fakes import SERVER_OFFSET
    expected_ms = (seen["sent"] + SERVER_OFFSET + 5) * 1000
    assert abs(now.when_ms - expected_ms) < 100
    assert "at the latest" in now.text()


def test_a_shutdown_that_leaves_it_armed_is_live_then_fired_at_its_trigger(
        tmp_path: Path) -> None:
    rig, _ = rig_with_record(tmp_path)
    seen: dict[str, Any] = {}

    async def scenario(rig: Rig) -> None:
        rig.engine.arm([BTC], timeout=5, interval=1.25)
        await rig.until(lambda: rig.engine.status(BTC).state is State.ARMED)  # type: ignore[union-attr]
        await rig.engine.shutdown(disarm=False)
        seen["trigger"] = rig.engine.status(BTC).trigger_time_ms  # type: ignore[union-attr]

    rig.play(scenario)
    assert isinstance(rig.engine.recorder, ArmedRecorder) and rig.engine.recorder.flush()
    record = load("main", tmp_path)
    assert record is not None and record.targets["spot:BTC_USDT"].state == "ended"
    wall = rig.clock.wall()
    [live] = reconcile(record, now_wall=wall)
    assert live.verdict is Verdict.LIVE and live.when_ms == seen["trigger"]
    [fired] = reconcile(record, now_wall=seen["trigger"] / 1000 + 0.5)
    assert fired.verdict is Verdict.FIRED and fired.when_ms == seen["trigger"]
    assert "FIRED at" in fired.text()


@pytest.mark.parametrize("content,message", [
    ("{not json", "not valid JSON"),
    ('{"version": 99, "targets": {}}', "not a state file"),
    ('{"version": 1, "targets": {"spot:BTC-USDT": {}}}', "spot:BTC_USDT"),
    ('{"version": 1, "targets": {"spot:BTC_USDT": {"timeout": "x", "interval": 1, '
     '"state": "armed"}}}', "timeout"),
])
def test_an_unreadable_file_is_said_plainly_and_replaced_on_the_next_write(
        tmp_path: Path, content: str, message: str) -> None:
    path = armed.file_for("main", tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    with pytest.raises(ArmedError, match=message):
        load("main", tmp_path)
    recorder = ArmedRecorder("main", directory=tmp_path)
    recorder.armed(BTC, 60, 15.0)
    assert recorder.flush()
    record = load("main", tmp_path)
    assert record is not None and list(record.targets) == ["spot:BTC_USDT"]
    assert json.loads(path.read_text())["version"] == armed.VERSION


def test_profile_names_never_become_paths(tmp_path: Path) -> None:
    assert armed.file_for("../x", tmp_path).parent == tmp_path
    assert armed.file_for("a b.c", tmp_path).name == "armed-a%20b.c.json"
    recorder = ArmedRecorder("a b.c", directory=tmp_path)
    recorder.armed(BTC, 60, 15.0)
    assert recorder.flush()
    assert armed.profiles_with_files(tmp_path) == ["a b.c"]
    with pytest.raises(ValueError):
        ArmedRecorder("../x", directory=tmp_path)


@pytest.mark.skipif(os.name != "posix", reason="liveness is read with kill(pid, 0)")
def test_a_countdown_another_running_process_beats_is_not_called_left_by_an_earlier_run(
) -> None:
    beaten = armed.ArmedEntry("spot:BTC_USDT", 60, 15.0, "armed", trigger_time_ms=2_000_000,
                              pid=1)  # init: always running
    ended = armed.ArmedEntry("spot:BTC_USDT", 60, 15.0, "ended", trigger_time_ms=2_000_000,
                             pid=1)
    record = armed.ArmedFile(profile="main", targets={"spot:BTC_USDT": beaten})
    [live] = reconcile(record, now_wall=1_000.0)
    assert live.owner_alive and "another running process" in live.text()
    record.targets["spot:BTC_USDT"] = ended
    [left] = reconcile(record, now_wall=1_000.0)
    assert not left.owner_alive and "left armed by an earlier run" in left.text()
