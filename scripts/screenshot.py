"""Make docs/screenshot.png: the real window in demo mode, offscreen, with armed targets.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot.py [--out docs/screenshot.png]

Runs against the embedded simulator with its demo key; the settings, journal and market cache
go to a temporary directory (with the state directory), so the person's own are never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 30  # short, so that a couple of beats happen within seconds
INTERVAL = 5.0
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--targets", type=int, default=2, choices=range(1, 7),
                        help="how many targets to arm (more than 3 show as compact cards)")
    parser.add_argument("--beats", type=int, default=2, help="beats to wait for per target")
    args = parser.parse_args()

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="gate-killswitch-shot-"))
    for name, sub in (("GATE_KILLSWITCH_CONFIG_DIR", "config"),
                      ("GATE_KILLSWITCH_DATA_DIR", "data"),
                      ("GATE_KILLSWITCH_CACHE_DIR", "cache"),
                      ("GATE_KILLSWITCH_STATE_DIR", "state")):
        os.environ[name] = str(tmp / sub)

    import PySide6.QtWidgets  # noqa: F401  (before qasync)
    import qasync
    from PySide6.QtWidgets import QApplication

    from gui.app import apply_theme
    from gui.controller import AppController
    from gui.core.client import GateClient
    from gui.core.heartbeat import State
    from gui.core.journal import Journal
    from gui.core.settings import SettingsStore
    from gui.core.targets import parse_target
    from gui.options import GuiOptions, Phase
    from gui.simulator import DEMO_KEY, DEMO_SECRET, Simulator

    app = QApplication.instance() or QApplication(["gate-killswitch"])
    assert isinstance(app, QApplication)
    apply_theme(app)
    targets = [parse_target(t) for t in ("spot:BTC_USDT", "options:BTC_USDT", "spot:ETH_USDT",
                                         "spot:SOL_USDT", "spot:DOGE_USDT", "spot:XRP_USDT")
               ][:args.targets]

    with Simulator(keys={DEMO_KEY: DEMO_SECRET}, demo=True) as sim:
        client = GateClient(sim.base_url, DEMO_KEY, DEMO_SECRET)
        controller = AppController(
            GuiOptions(demo=True, timeout=TIMEOUT, interval=INTERVAL),
            settings_store=SettingsStore(tmp / "config"), journal=Journal(tmp / "data"),
            client=client, client_label=f"Demo exchange · {sim.base_url.split('/')[2]}",
            cache_key="demo", simulator=sim, use_tray=False)
        window = controller.window
        window.resize(args.width, args.height)
        window.picker.set_selected(targets)

        async def scenario() -> None:
            controller.start()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while not controller.phase >= Phase.PAINTED and loop.time() < deadline:
                await asyncio.sleep(0.05)
            controller.arm(targets, TIMEOUT, INTERVAL)
            while loop.time() < deadline:
                statuses = [controller.engine.status(t) for t in targets] if controller.engine \
                    else []
                if all(s is not None and s.beats >= args.beats and s.state is State.ARMED
                       for s in statuses):
                    break
                await asyncio.sleep(0.05)
            # Let the countdown run a little, the orders arrive and the cards repaint.
            await asyncio.sleep(2.2)
            window.tick()
            args.out.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(args.out)):
                raise SystemExit(f"could not write {args.out}")
            controller.stop()
            stop_deadline = loop.time() + 10
            while controller.engine and controller.engine.armed_targets and \
                    loop.time() < stop_deadline:
                await asyncio.sleep(0.05)
            await controller.quit_now()

        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        started = time.monotonic()
        with loop:
            loop.run_until_complete(scenario())
        print(f"wrote {args.out} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
