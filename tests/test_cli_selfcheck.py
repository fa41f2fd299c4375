"""``gate-killswitch selfcheck`` as a person runs it: real processes against the simulator."""

from __future__ import annotations

import argparse
import io
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.cli.selfcheck import confirm_and_run
from gui.core.client import GateClient
from gui.core.journal import Journal
from gui.core.targets import parse_target
from gui.simulator import Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET
from tests.test_runner import ROOT, app_env, gk

pytestmark = pytest.mark.slow
__all__ = ["app_env"]  # the fixture, imported for these tests


@pytest.fixture
def profile(sim: Simulator, app_env: dict[str, str]) -> Iterator[Simulator]:
    done = gk(app_env, "keys", "set", "sim", "--base-url", sim.base_url,
              stdin=f"{TEST_KEY}\n{TEST_SECRET}\n")
    assert done.returncode == 0, done.stderr
    yield sim


def _orders_posted(sim: Simulator) -> int:
    return sum(r.method == "POST" and r.path.endswith("/orders") for r in sim.requests())


def test_pass_prints_the_report_and_exits_0(profile: Simulator,
                                            app_env: dict[str, str]) -> None:
    done = gk(app_env, "selfcheck", "--profile", "sim", "--target", "spot:all", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "PASS" and result["clean"] is True
    assert result["plan"]["market"] == "BTC_USDT"
    assert result["trigger_time_ms"] <= result["seen_cancelled_ms"]
    assert result["delay_ms"] == result["seen_cancelled_ms"] - result["trigger_time_ms"]
    assert profile.open_orders() == [] and profile.countdowns() == {}
    # No confirmation on the simulator (a loopback URL is no live account).
    assert "[y/N]" not in done.stderr
    journal = (Path(app_env["GATE_KILLSWITCH_DATA_DIR"]) / "journal.jsonl").read_text()
    assert '"step":"finished"' in journal and TEST_SECRET not in journal


def test_existing_orders_are_refused_with_exit_2(profile: Simulator,
                                                 app_env: dict[str, str]) -> None:
    profile.place_order("spot", "BTC_USDT", price="50000", amount="0.01")
    done = gk(app_env, "selfcheck", "--profile", "sim", "--target", "spot:BTC_USDT")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "open order" in done.stderr and "Nothing was changed" in done.stderr
    assert len(profile.open_orders()) == 1
    assert profile.countdowns() == {} and _orders_posted(profile) == 0


@pytest.mark.parametrize("args", [
    ["--target", "spot:NOPE"],
    ["--target", "options:BTC_USDT", "--price-orders"],
])
def test_bad_input_is_exit_2_with_a_message(profile: Simulator, app_env: dict[str, str],
                                            args: list[str]) -> None:
    done = gk(app_env, "selfcheck", "--profile", "sim", *args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.strip()
    assert _orders_posted(profile) == 0


def test_sigint_midway_leaves_no_order_and_no_countdown(profile: Simulator,
                                                        app_env: dict[str, str]) -> None:
    sim = profile
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui", "selfcheck", "--profile", "sim", "--target",
         "futures:usdt:BTC_USDT", "--price-orders"],
        env=app_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    end = time.monotonic() + 30
    while not sim.countdowns():
        assert time.monotonic() < end and proc.poll() is None, lines
        time.sleep(0.02)
    # Armed, the order and the price order placed, the countdown running: stop it now.
    assert len(sim.open_orders()) == 1 and sim.open_price_orders() == 1
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=30)
    reader.join(timeout=5)
    out = "".join(lines)
    assert code == 1, out + (proc.stderr.read() if proc.stderr else "")
    assert "STOPPED" in out and "Nothing was left behind" in out
    assert sim.open_orders() == [] and sim.open_price_orders() == 0
    assert sim.countdowns() == {}
    assert sim.firings() == []  # ended before it could fire: the stop, not Gate, cleaned up
    if proc.stderr:
        proc.stderr.close()
    if proc.stdout:
        proc.stdout.close()


def _args(**kwargs: object) -> argparse.Namespace:
    base = {"price_orders": False, "yes": False, "json": False, "target": "spot:BTC_USDT"}
    return argparse.Namespace(**{**base, **kwargs})


class _NoTerminal(io.StringIO):
    def isatty(self) -> bool:
        return False


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_live_account_without_a_terminal_needs_yes(sim: Simulator) -> None:
    out, err = io.StringIO(), io.StringIO()
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client:
        code = confirm_and_run(client, parse_target("spot:BTC_USDT"), _args(), Journal(),
                               live=True, stdout=out, stderr=err, stdin=_NoTerminal())
    assert code == 2
    assert "The self-check will place this order:" in out.getvalue()
    assert "Value:" in out.getvalue() and "Reserves:" in out.getvalue()
    assert "--yes" in err.getvalue()
    assert _orders_posted(sim) == 0 and sim.countdowns() == {}


def test_a_live_account_asks_and_no_places_nothing(sim: Simulator) -> None:
    out, err = io.StringIO(), io.StringIO()
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client:
        code = confirm_and_run(client, parse_target("spot:BTC_USDT"), _args(), Journal(),
                               live=True, stdout=out, stderr=err, stdin=_Terminal("n\n"))
    assert code == 2
    assert "[y/N]" in err.getvalue() and "Not confirmed" in err.getvalue()
    assert _orders_posted(sim) == 0


def test_a_live_account_with_yes_runs_the_check(sim: Simulator) -> None:
    out, err = io.StringIO(), io.StringIO()
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as client:
        code = confirm_and_run(client, parse_target("spot:BTC_USDT"), _args(yes=True),
                               Journal(), live=True, stdout=out, stderr=err,
                               stdin=_NoTerminal())
    assert code == 0, out.getvalue() + err.getvalue()
    assert "PASS" in out.getvalue() and "[y/N]" not in err.getvalue()
    assert sim.open_orders() == [] and sim.countdowns() == {}
