"""Second launches as a person makes them, with real processes: the request goes to the
running window, which arms it or refuses with a reason; two launches at once give one
window; a frozen window is reported, never taken for an answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.simulator import Simulator
from gui.single_instance import instance_name
from tests.test_runner import app_env, profile  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

# A bare instance: claims, answers one launch ("seen"), then exits. No window: the claim is
# what is under test, and ten windows would cost the suite more than they tell.
CLAIMER = """
import asyncio, sys
import PySide6.QtWidgets
import qasync
from PySide6.QtCore import QCoreApplication
from gui.core.arm_request import LaunchReply
from gui.single_instance import SingleInstance
app = QCoreApplication([])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
instance = SingleInstance(sys.argv[1])
reply = instance.claim()
if reply is not None:
    print("second", reply.ok, reply.message, flush=True)
    sys.exit(0)
print("first", flush=True)

async def answer(request):
    loop.call_later(0.2, loop.stop)
    return LaunchReply(True, "seen")

instance.handler = answer
loop.call_later(30, loop.stop)  # never outlive a test run
with loop:
    loop.run_forever()
instance.close()
"""


def claimer(env: dict[str, str], name: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CLAIMER, name], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATE_KILLSWITCH")}
    base.update({f"GATE_KILLSWITCH_{n}_DIR": str(tmp_path / n.lower())
                 for n in ("CONFIG", "DATA", "CACHE", "STATE")},
                QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return base


def test_five_pairs_of_simultaneous_launches_give_one_instance_each_time(
        env: dict[str, str], tmp_path: Path) -> None:
    for pair in range(5):
        name = instance_name(tmp_path / f"config-{pair}")
        a, b = claimer(env, name), claimer(env, name)
        outs = []
        for proc in (a, b):
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            outs.append(out.strip())
        assert sorted(o.split()[0] for o in outs) == ["first", "second"], (pair, outs)
        assert "second True seen" in outs


def test_a_frozen_instance_is_reported_unresponsive_not_brought_forward(
        env: dict[str, str]) -> None:
    name = instance_name(Path(env["GATE_KILLSWITCH_CONFIG_DIR"]))
    running = claimer(env, name)
    try:
        assert running.stdout is not None and running.stdout.readline() == "first\n"
        running.send_signal(signal.SIGSTOP)  # frozen: the socket still accepts, nobody reads
        done = subprocess.run([sys.executable, "-m", "gui", "--demo"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert f"(process {running.pid}) did not answer" in done.stderr
        assert "brought forward" not in done.stderr
    finally:
        running.send_signal(signal.SIGCONT)
        running.kill()
        running.communicate()


@pytest.fixture
def window(profile: Simulator, app_env: dict[str, str]  # noqa: F811
           ) -> Iterator[subprocess.Popen[str]]:
    """The window, running on profile ``sim``, nothing armed, its instance listening."""
    env = dict(app_env, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-m", "gui", "--profile", "sim"], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    # Listening once its socket file is there (a probing launch could win the claim itself).
    socket_path = Path(tempfile.gettempdir(), instance_name(Path(app_env[
        "GATE_KILLSWITCH_CONFIG_DIR"])))
    deadline = time.monotonic() + 30
    while not socket_path.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the window never listened"
        time.sleep(0.05)
    try:
        yield proc
    finally:
        proc.terminate()  # SIGTERM: it quits at once, leaving countdowns to the exchange
        proc.wait(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()


def launch(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gui", *args], cwd=ROOT,
                          env=dict(environ, QT_QPA_PLATFORM="offscreen"), capture_output=True,
                          text=True, timeout=90)


def test_a_second_launch_with_arm_arms_in_the_running_window(
        window: subprocess.Popen[str], profile: Simulator,  # noqa: F811
        app_env: dict[str, str]) -> None:  # noqa: F811
    sim = profile
    assert sim.countdowns() == {}
    done = launch(app_env, "--profile", "sim", "--arm", "spot:BTC_USDT", "--timeout", "5",
                  "--interval", "1.25")
    assert done.returncode == 0, done.stderr
    assert "armed 1 target there" in done.stderr
    assert "the exchange acknowledged each" in done.stderr
    assert "spot:BTC_USDT" in sim.countdowns()
    # Asked again with other settings: said, not silently kept.
    again = launch(app_env, "--arm", "spot:BTC_USDT", "--timeout", "10")
    assert again.returncode == 1 and "already armed there with a 5 s countdown" in again.stderr


@pytest.mark.parametrize(("args", "words"), [
    (("--profile", "other", "--arm", "spot:BTC_USDT"), "it uses profile 'sim', not 'other'"),
    (("--demo", "--arm", "spot:BTC_USDT"), "a --demo launch cannot arm through it"),
    (("--timeout", "30"), "change nothing there without --arm"),
])
def test_a_second_launch_it_cannot_honour_is_refused_non_zero(
        window: subprocess.Popen[str], profile: Simulator,  # noqa: F811
        app_env: dict[str, str], args: tuple[str, ...], words: str) -> None:  # noqa: F811
    done = launch(app_env, *args)
    assert done.returncode == 1, done.stderr
    assert words in done.stderr
    assert profile.countdowns() == {}


def test_sighup_quits_the_window_and_leaves_the_countdown_to_fire(
        window: subprocess.Popen[str], profile: Simulator,  # noqa: F811
        app_env: dict[str, str]) -> None:  # noqa: F811
    done = launch(app_env, "--arm", "spot:BTC_USDT", "--timeout", "5", "--interval", "1.25")
    assert done.returncode == 0, done.stderr
    window.send_signal(signal.SIGHUP)
    assert window.wait(timeout=30) == 0  # an orderly quit, not killed by the signal
    assert "spot:BTC_USDT" in profile.countdowns()
    assert [r for r in profile.requests() if r.timeout == 0] == []
