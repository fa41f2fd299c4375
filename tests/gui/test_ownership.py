"""The window claims the targets it beats: one another process beats is refused, naming it,
and the window's own claims go when it stops beating them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from gui.core.owners import Owners
from gui.core.paths import state_dir
from gui.core.targets import parse_target
from gui.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
BTC = parse_target("spot:BTC_USDT")


def test_arming_a_target_another_process_beats_is_refused_naming_it(
        make_app: Any, qtbot: Any, demo_sim: Simulator) -> None:
    app = make_app()
    code = textwrap.dedent("""
        import sys
        from gui.core.owners import Owners
        from gui.core.targets import parse_target
        owners = Owners("exchange sim", "the runner (a test)")
        owners.claim([parse_target("spot:BTC_USDT")])
        print("held", flush=True)
        sys.stdin.read()
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert app.arm([BTC], 5, 1.25) is False
        assert any(f"the runner (a test) (process {holder.pid})" in t
                   for t in app.window.banner.texts())
        assert demo_sim.countdowns() == {}
        assert app.engine.armed_targets == []
    finally:
        holder.kill()
        holder.wait()
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()
    # Its process gone, the claim is stale: arming now works.
    assert app.arm([BTC], 5, 1.25) is True
    qtbot.waitUntil(lambda: "spot:BTC_USDT" in demo_sim.countdowns(), timeout=5_000)


def test_the_window_releases_a_claim_once_the_target_is_disarmed(
        make_app: Any, qtbot: Any, demo_sim: Simulator) -> None:
    app = make_app()
    assert app.arm([BTC], 5, 1.25) is True
    other = Owners("exchange sim", "another", state_dir())
    try:
        qtbot.waitUntil(lambda: "spot:BTC_USDT" in demo_sim.countdowns(), timeout=5_000)
        app.stop()
        qtbot.waitUntil(lambda: app.engine.armed_targets == [] and not app.engine.sweeping,
                        timeout=90_000)
        qtbot.waitUntil(lambda: app._owners is not None and app._owners.held == [],
                        timeout=5_000)
        other.claim([BTC])
        assert other.held == [BTC]
    finally:
        other.release_all()
