"""The headless runner as a person runs it: a real process against the simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gui.simulator import Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture
def app_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_KILLSWITCH")}
    env.update(
        PYTHONPATH=str(ROOT),
        GATE_KILLSWITCH_CONFIG_DIR=str(tmp_path / "config"),
        GATE_KILLSWITCH_DATA_DIR=str(tmp_path / "data"),
        GATE_KILLSWITCH_CACHE_DIR=str(tmp_path / "cache"),
        GATE_KILLSWITCH_STATE_DIR=str(tmp_path / "state"),
        GATE_KILLSWITCH_TEST_KEYRING=str(tmp_path / "keyring.json"),
        PYTHON_KEYRING_BACKEND="tests.subprocess_keyring.SubprocessTestKeyring",
        PYTHONUNBUFFERED="1",
    )
    return env


def gk(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gui", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


class Runner:
    """A running ``gate-killswitch run`` whose output is read as it comes."""

    def __init__(self, env: dict[str, str], *args: str,
                 preexec: Callable[[], object] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gui", "run", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=ROOT, preexec_fn=preexec)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, count: int = 1, seconds: float = 20.0) -> None:
        end = time.monotonic() + seconds
        while sum(text in line for line in self.lines) < count:
            if time.monotonic() > end or self.proc.poll() is not None:
                raise AssertionError(f"{text!r} x{count} not seen: {self.lines}")
            time.sleep(0.02)

    def finish(self, seconds: float = 30.0) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=seconds)
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None and self.proc.stdout is not None
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        self.proc.stdout.close()
        return code, "".join(self.lines), err


@pytest.fixture
def profile(demo_sim: Simulator, app_env: dict[str, str]) -> Iterator[Simulator]:
    done = gk(app_env, "keys", "set", "sim", "--base-url", demo_sim.base_url,
              stdin=f"{TEST_KEY}\n{TEST_SECRET}\n")
    assert done.returncode == 0, done.stderr
    yield demo_sim


def test_sigint_disarms_every_target_and_exits_0(profile: Simulator,
                                                 app_env: dict[str, str]) -> None:
    sim = profile
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT",
                    "--target", "options:BTC_USDT", "--target", "futures:usdt:BTC_USDT",
                    "--target", "futures:btc:all", "--timeout", "5", "--interval", "1.25")
    runner.wait_for("beat ok", count=8)
    assert set(sim.countdowns()) == {"spot:BTC_USDT", "options:BTC_USDT",
                                     "futures:usdt:BTC_USDT", "futures:btc:all"}
    runner.proc.send_signal(signal.SIGINT)
    code, out, err = runner.finish()
    assert code == 0, out + err
    assert "Disarmed 4 targets" in out
    assert sim.countdowns() == {}
    time.sleep(0.2)
    assert sim.firings() == []
    assert TEST_SECRET not in out + err and TEST_KEY not in out + err


def test_sigterm_disarms_too(profile: Simulator, app_env: dict[str, str]) -> None:
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:all", "--timeout", "5",
                    "--interval", "1.25")
    runner.wait_for("beat ok", count=1)
    runner.proc.send_signal(signal.SIGTERM)
    code, out, err = runner.finish()
    assert code == 0, out + err
    assert profile.countdowns() == {}


def test_sigkill_lets_the_exchange_fire_exactly_the_armed_scopes(
        profile: Simulator, app_env: dict[str, str]) -> None:
    sim = profile
    spot_pairs = sorted({o["currency_pair"] for o in sim.open_orders("spot")})
    armed, spared = spot_pairs[0], spot_pairs[1]
    futures_before = {(o["product"], o["contract"]) for o in sim.open_orders("futures")}
    assert {("futures:usdt", "BTC_USDT"), ("futures:usdt", "ETH_USDT"),
            ("futures:btc", "BTC_USD")} <= futures_before
    runner = Runner(app_env, "--profile", "sim", "--target", f"spot:{armed}",
                    "--target", "options:all", "--target", "futures:usdt:BTC_USDT",
                    "--target", "futures:btc:all", "--timeout", "5", "--interval", "1.25")
    runner.wait_for("beat ok", count=4)
    runner.proc.kill()
    runner.finish()
    deadline = time.monotonic() + 8
    while len(sim.firings()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(f.scope for f in sim.firings()) == sorted(
        [f"spot:{armed}", "options:all", "futures:usdt:BTC_USDT", "futures:btc:all"])
    assert [o for o in sim.open_orders("spot") if o["currency_pair"] == armed] == []
    assert sim.open_orders("options") == []
    assert [o for o in sim.open_orders("spot") if o["currency_pair"] == spared]
    # The armed contract's orders and the armed settle's are gone; the other contracts of
    # the USDT settle keep theirs (positions are not modelled: a countdown never touches them).
    futures_after = {(o["product"], o["contract"]) for o in sim.open_orders("futures")}
    assert futures_after == {(p, c) for p, c in futures_before
                             if p == "futures:usdt" and c != "BTC_USDT"}
    assert ("futures:usdt", "ETH_USDT") in futures_after


@pytest.mark.parametrize("args,message", [
    (["--target", "spot:BTC-USDT"], "spot:BTC_USDT (a pair)"),
    (["--target", "futures:BTC_USDT"], "settle currency first"),
    (["--target", "futures:btc:BTC_USDT"], "BTC-settled perpetual contract like BTC_USD"),
    (["--target", "spot:BTC_USDT", "--timeout", "3"], "at least 5 seconds"),
    (["--target", "spot:BTC_USDT", "--timeout", "60", "--interval", "60"], "shorter than"),
])
def test_bad_input_is_refused_with_a_message(app_env: dict[str, str], args: list[str],
                                             message: str) -> None:
    done = gk(app_env, "run", "--profile", "sim", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_profile_is_a_clear_message(app_env: dict[str, str]) -> None:
    done = gk(app_env, "run", "--profile", "nobody", "--target", "spot:all")
    assert done.returncode == 2
    assert "nobody" in done.stderr and "Traceback" not in done.stderr


def test_no_keyring_backend_stores_nothing(app_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(app_env, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    done = gk(env, "keys", "set", "live", "--live", stdin=f"{TEST_KEY}\n{TEST_SECRET}\n")
    assert done.returncode == 3
    assert "keyring" in done.stderr.lower() and "Traceback" not in done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []


def test_demo_runner_needs_no_account(app_env: dict[str, str]) -> None:
    runner = Runner(app_env, "--demo", "--target", "spot:BTC_USDT", "--timeout", "5",
                    "--interval", "1.25")
    runner.wait_for("beat ok", count=1)
    runner.proc.send_signal(signal.SIGINT)
    code, out, _err = runner.finish()
    assert code == 0 and "DEMO" in out


def _countdown_posts(sim: Simulator) -> int:
    return len([r for r in sim.requests() if r.path.endswith("countdown_cancel_all")])


def test_a_runner_whose_stdout_is_closed_still_stops_on_sigint_and_disarms(
        profile: Simulator, app_env: dict[str, str]) -> None:
    # What `gate-killswitch run ... | head -1` leaves: the reader went away after a line.
    sim = profile
    proc = subprocess.Popen([sys.executable, "-m", "gui", "run", "--profile", "sim", "--target",
                             "spot:BTC_USDT", "--timeout", "5", "--interval", "0.5"],
                            env=app_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdout.readline()
        proc.stdout.close()  # the reader went away: every later print of the runner fails
        seen = _countdown_posts(sim)
        deadline = time.monotonic() + 10
        # Beats go on after the pipe closed, so the runner's prints have hit the broken pipe.
        while _countdown_posts(sim) < seen + 3:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        assert sim.countdowns() != {}
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert code == 0, err
    assert sim.countdowns() == {}
    assert "Traceback" not in err and "Logging error" not in err


def test_sighup_stops_the_beats_leaves_the_countdown_to_fire_and_journals_it(
        profile: Simulator, app_env: dict[str, str], tmp_path: Path) -> None:
    sim = profile
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT", "--timeout", "5",
                    "--interval", "1.25")
    runner.wait_for("beat ok", count=1)
    runner.proc.send_signal(signal.SIGHUP)
    code, out, err = runner.finish()
    assert code == 1, out + err
    assert "SIGHUP" in out
    # Not disarmed: the exchange's countdown is left to run out, as the trader's absence asks.
    assert "spot:BTC_USDT" in sim.countdowns()
    journal = (tmp_path / "data" / "journal.jsonl").read_text(encoding="utf-8")
    assert '"event":"hangup"' in journal and "spot:BTC_USDT" in journal


def test_under_nohup_sighup_is_ignored_and_the_runner_keeps_beating(
        profile: Simulator, app_env: dict[str, str]) -> None:
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT", "--timeout", "5",
                    "--interval", "1.25",
                    preexec=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    runner.wait_for("beat ok", count=1)
    runner.proc.send_signal(signal.SIGHUP)
    runner.wait_for("beat ok", count=3)  # still beating after the hang-up
    runner.proc.send_signal(signal.SIGINT)
    code, out, err = runner.finish()
    assert code == 0 and "SIGHUP" not in out, out + err
    assert profile.countdowns() == {}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_journal_that_is_a_fifo_is_refused_with_a_message(app_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    os.mkfifo(tmp_path / "data" / "journal.jsonl")
    done = gk(app_env, "run", "--demo", "--target", "spot:BTC_USDT")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_a_target_covered_by_another_is_left_out_and_said(profile: Simulator,
                                                         app_env: dict[str, str]) -> None:
    sim = profile
    runner = Runner(app_env, "--profile", "sim", "--target", "options:all", "--target",
                    "options:BTC_USDT", "--target", "spot:BTC_USDT", "--timeout", "5",
                    "--interval", "1.25")
    runner.wait_for("beat ok", count=2)
    assert set(sim.countdowns()) == {"options:all", "spot:BTC_USDT"}
    runner.proc.send_signal(signal.SIGINT)
    code, out, err = runner.finish()
    assert code == 0, out + err
    assert "options:BTC_USDT is left out: options:all already covers it." in err
    assert "Armed 2 targets" in out


def test_after_fired_the_runner_says_why_it_still_waits(profile: Simulator,
                                                        app_env: dict[str, str]) -> None:
    sim = profile
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT", "--timeout", "5",
                    "--interval", "1.25")
    runner.wait_for("beat ok", count=1)
    sim.add_fault("status", status=503, path="/spot/countdown_cancel_all")
    try:
        runner.wait_for("FIRED", seconds=15)
        runner.wait_for("A beat of unknown fate could still reach the exchange", seconds=5)
    finally:
        runner.proc.kill()
        runner.finish()


def _stops_sent(sim: Simulator, scope: str) -> int:
    return len([r for r in sim.requests() if r.scope == scope and r.timeout == 0])


def test_a_runner_on_a_target_the_window_beats_is_refused_and_the_window_stays_armed(
        profile: Simulator, app_env: dict[str, str]) -> None:
    sim = profile
    window = subprocess.Popen(
        [sys.executable, "-m", "gui", "--profile", "sim", "--arm", "spot:BTC_USDT",
         "--timeout", "5", "--interval", "1.25"], env=dict(app_env, QT_QPA_PLATFORM="offscreen"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while "spot:BTC_USDT" not in sim.countdowns():
            assert time.monotonic() < deadline and window.poll() is None, "the window never armed"
            time.sleep(0.05)
        runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT", "--timeout",
                        "5", "--interval", "1.25")
        end = time.monotonic() + 20
        while runner.proc.poll() is None and not any("beat ok" in x for x in runner.lines):
            assert time.monotonic() < end
            time.sleep(0.02)
        if runner.proc.poll() is None:  # it armed: stop it as a person would
            runner.proc.send_signal(signal.SIGINT)
        code, out, err = runner.finish()
        assert code == 4, out + err
        assert f"the window (process {window.pid})" in err, err
        assert _stops_sent(sim, "spot:BTC_USDT") == 0
        beats = len(sim.requests("/spot/countdown_cancel_all"))
        while len(sim.requests("/spot/countdown_cancel_all")) < beats + 2:
            assert window.poll() is None and time.monotonic() < deadline + 30
            time.sleep(0.05)
        assert "spot:BTC_USDT" in sim.countdowns()
    finally:
        window.terminate()  # SIGTERM: the window quits and leaves the countdown to fire
        window.wait(timeout=30)
        assert window.stderr is not None
        window.stderr.close()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_runner_whose_output_disk_is_full_still_stops_on_sigint_and_disarms(
        profile: Simulator, app_env: dict[str, str]) -> None:
    sim = profile
    with open("/dev/full", "w", encoding="utf-8") as full:  # every write: ENOSPC
        proc = subprocess.Popen([sys.executable, "-m", "gui", "run", "--profile", "sim",
                                 "--target", "spot:BTC_USDT", "--timeout", "5",
                                 "--interval", "0.5"], env=app_env, stdout=full,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stderr is not None
    try:
        deadline = time.monotonic() + 20
        while _countdown_posts(sim) < 3:  # armed, and beating with nowhere to print
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert code == 0, err
    assert sim.countdowns() == {}
    assert "Traceback" not in err and "Logging error" not in err


def test_a_failure_is_printed_once_and_its_sentences_apart(profile: Simulator,
                                                            app_env: dict[str, str]) -> None:
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT", "--timeout", "5",
                    "--interval", "1.25")
    runner.wait_for("beat ok", count=1)
    # Refused with a label: its fate is known, so the stop needs no sweep afterwards.
    profile.add_fault("status", scope="spot:BTC_USDT", status=429, count=1)
    runner.wait_for("beat failed", count=1)
    runner.wait_for("beat ok", count=2)
    runner.proc.send_signal(signal.SIGINT)
    code, out, err = runner.finish()
    assert code == 0, err
    failures = [line for line in out.splitlines() if "beat failed" in line]
    assert len(failures) == 1
    assert "simulated fault 1 on /spot/countdown_cancel_all. Too many requests" in failures[0]
    assert "WARNING" not in err and "beat failed" not in err


def test_more_targets_than_the_budget_carries_are_refused(profile: Simulator,
                                                         app_env: dict[str, str]) -> None:
    targets = [arg for i in range(300) for arg in ("--target", f"spot:P{i}_USDT")]
    done = gk(app_env, "run", "--profile", "sim", *targets, "--timeout", "15",
              "--interval", "3.75")
    assert done.returncode == 2, done.stderr
    assert "nothing was armed" in done.stderr and "Traceback" not in done.stderr
    assert profile.countdowns() == {}


def test_a_silent_beat_is_printed_as_no_answer_long_before_the_deadline(
        profile: Simulator, app_env: dict[str, str]) -> None:
    runner = Runner(app_env, "--profile", "sim", "--target", "spot:BTC_USDT", "--timeout", "30",
                    "--interval", "7.5")
    runner.wait_for("beat ok", count=1)
    fault = profile.add_fault("hang", scope="spot:BTC_USDT")
    runner.wait_for("no answer for", seconds=15)
    line = next(line for line in runner.lines if "no answer for" in line)
    left = float(line.split("still runs (")[1].split(" s left")[0])
    assert left > 15, line  # more than half of the 30 s countdown
    profile.clear_faults(fault)
    runner.wait_for("beat ok", count=2, seconds=15)
    # The silent beat's fate is unknown, so a clean stop would sweep for Gate's 60 s window:
    # that is covered elsewhere; here the process is simply ended.
    runner.proc.kill()
    runner.finish()
    assert profile.firings() == []
