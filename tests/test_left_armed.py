"""What a run leaves armed outlives it: SIGKILL a runner, then ask ``status`` and relaunch."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from gui.simulator import Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET
from tests.test_runner import Runner, app_env, gk, profile

__all__ = ["app_env", "profile"]  # fixtures, used by name
pytestmark = pytest.mark.slow


def test_after_sigkill_status_and_a_relaunch_tell_the_live_countdown(
        profile: Simulator, app_env: dict[str, str]) -> None:
    sim = profile
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT", "--timeout", "30",
                    "--interval", "7.5")
    runner.wait_for("beat ok", count=1)
    runner.proc.kill()
    runner.finish()
    deadline_ms = sim.countdowns()["spot:BTC_USDT"]

    done = gk(app_env, "status", "--json")
    assert done.returncode == 1, done.stdout + done.stderr  # something is live
    [entry] = json.loads(done.stdout)["profiles"]["sim"]
    assert entry["target"] == "spot:BTC_USDT" and entry["verdict"] == "live"
    assert abs(entry["when_ms"] - deadline_ms) < 1000
    assert 0 < entry["seconds_left"] <= 30
    assert abs(entry["seconds_left"] - (deadline_ms / 1000 - sim.server_time())) < 1.0
    plain = gk(app_env, "status", "--profile", "sim")
    assert plain.returncode == 1 and "LIVE" in plain.stdout and "spot:BTC_USDT" in plain.stdout
    btc_orders = [o for o in sim.open_orders("spot") if o["currency_pair"] == "BTC_USDT"]
    checked = gk(app_env, "status", "--check", "--json")
    assert checked.returncode == 1, checked.stderr
    [listed] = json.loads(checked.stdout)["profiles"]["sim"]
    assert sorted(o["id"] for o in listed["open_orders"]) == sorted(o["id"] for o in btc_orders)

    # A new run for another scope says what the killed one left, and does not resume it.
    again = Runner(app_env, "--profile", "sim", "--target", "spot:ETH_USDT", "--timeout", "30",
                   "--interval", "7.5")
    again.wait_for("left armed by an earlier run")
    again.wait_for("beat ok", count=1)
    again.proc.send_signal(signal.SIGINT)
    code, out, err = again.finish()
    assert code == 0, out + err
    assert "spot:BTC_USDT" in out and "not resumed" in out
    assert time.strftime("%H:%M:%S", time.localtime(deadline_ms / 1000)) in out
    assert sim.countdowns() == {"spot:BTC_USDT": deadline_ms}  # left as it was
    record = json.loads(next(Path(app_env["GATE_KILLSWITCH_STATE_DIR"]).glob("armed-*.json"))
                        .read_text())
    assert record["targets"]["spot:ETH_USDT"]["state"] == "disarmed"
    text = json.dumps(record)
    assert TEST_KEY not in text and TEST_SECRET not in text

    # Asked for, it is resumed: beaten again before it runs out.
    third = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT", "--timeout", "30",
                   "--interval", "7.5")
    third.wait_for("resuming it")
    third.wait_for("beat ok", count=1)
    assert sim.countdowns()["spot:BTC_USDT"] > deadline_ms
    third.proc.send_signal(signal.SIGINT)
    code, out, err = third.finish()
    assert code == 0, out + err
    assert gk(app_env, "status").returncode == 0  # nothing live any more


def test_status_with_nothing_on_record_and_bad_input(app_env: dict[str, str]) -> None:
    done = gk(app_env, "status")
    assert done.returncode == 0 and "Nothing this computer armed" in done.stdout
    done = gk(app_env, "status", "--profile", "../etc")
    assert done.returncode == 2 and "not a profile name" in done.stderr
    state = Path(app_env["GATE_KILLSWITCH_STATE_DIR"])
    state.mkdir(parents=True)
    (state / "armed-main.json").write_text("{broken")
    done = gk(app_env, "status", "--json")
    assert done.returncode == 2 and "not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_runner_stop_acknowledged_after_the_deadline_exits_1_saying_fired(
        profile: Simulator, app_env: dict[str, str]) -> None:
    sim = profile
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT",
                    "--target", "options:BTC_USDT", "--timeout", "5", "--interval", "1.25")
    runner.wait_for("beat ok", count=2)
    # Refused (so no beat of unknown fate is left to sweep) until both countdowns have fired.
    fault = sim.add_fault("status", status=429, label="TOO_MANY_REQUESTS")
    runner.proc.send_signal(signal.SIGINT)
    end = time.monotonic() + 15
    while len(sim.firings()) < 2:
        assert time.monotonic() < end, sim.firings()
        time.sleep(0.05)
    sim.clear_faults(fault)
    code, out, err = runner.finish()
    assert code == 1, out + err
    assert "FIRED before the stop was confirmed" in err
    assert "spot:BTC_USDT" in err and "options:BTC_USDT" in err
    assert "confirmed each" not in out
    journal = (Path(app_env["GATE_KILLSWITCH_DATA_DIR"]) / "journal.jsonl").read_text()
    fires = [json.loads(line) for line in journal.splitlines()
             if json.loads(line)["event"] == "fire"]
    assert {f["target"] for f in fires} == {"spot:BTC_USDT", "options:BTC_USDT"}
