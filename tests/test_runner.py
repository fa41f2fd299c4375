"""The headless runner as a person runs it: a real process against the simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gui", "run", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=ROOT)
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
                    "--target", "options:BTC_USDT", "--timeout", "5", "--interval", "1.25")
    runner.wait_for("beat ok", count=4)
    assert set(sim.countdowns()) == {"spot:BTC_USDT", "options:BTC_USDT"}
    runner.proc.send_signal(signal.SIGINT)
    code, out, err = runner.finish()
    assert code == 0, out + err
    assert "Disarmed 2 target(s)" in out
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
    runner = Runner(app_env, "--profile", "sim", "--target", f"spot:{armed}",
                    "--target", "options:all", "--timeout", "5", "--interval", "1.25")
    runner.wait_for("beat ok", count=2)
    runner.proc.kill()
    runner.finish()
    deadline = time.monotonic() + 8
    while len(sim.firings()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(f.scope for f in sim.firings()) == sorted([f"spot:{armed}", "options:all"])
    assert [o for o in sim.open_orders("spot") if o["currency_pair"] == armed] == []
    assert sim.open_orders("options") == []
    assert [o for o in sim.open_orders("spot") if o["currency_pair"] == spared]


@pytest.mark.parametrize("args,message", [
    (["--target", "spot:BTC-USDT"], "spot:BTC_USDT (a pair)"),
    (["--target", "futures:BTC_USDT"], "unknown product"),
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
