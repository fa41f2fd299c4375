"""Make the README's screenshots: the real window in demo mode at 1280×720, under a real X server.

    python scripts/screenshot.py [--out docs/screenshots] [--offscreen]

Writes three pictures, each of one moment a trader meets:

- ``idle.png``: the window as it opens, two spot pairs chosen, nothing armed;
- ``chain.png``: the Options tab, the BTC_USDT option chain with a call and a put of one
  strike chosen apart;
- ``armed.png``: four targets armed (spot, an option contract, futures), beating, shown as
  compact rows under one large "shortest time left", the picker folded to one line.

Without a display it runs itself again under ``xvfb-run`` (Qt's xcb platform: the fonts,
anti-aliasing and window decorations of a real X session); ``--offscreen`` uses Qt's offscreen
platform instead. Against the embedded simulator with its demo key; the settings, journal,
market cache and state go to a temporary directory, so the person's own are never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 30  # short, so that a couple of beats happen within seconds
INTERVAL = 5.0
WIDTH, HEIGHT = 1280, 720
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _under_xvfb(argv: list[str]) -> int | None:
    """Run this script again under xvfb-run when there is no display; None: run here."""
    if os.environ.get("DISPLAY") or "--offscreen" in argv or os.environ.get("_SHOT_CHILD"):
        return None
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        raise SystemExit("No display and no xvfb-run (apt install xvfb xauth); "
                         "or pass --offscreen.")
    env = {**os.environ, "_SHOT_CHILD": "1", "QT_QPA_PLATFORM": "xcb"}
    return subprocess.call([xvfb, "-a", "-s", f"-screen 0 {WIDTH}x{HEIGHT + 80}x24",
                            sys.executable, __file__, *argv], env=env)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--offscreen", action="store_true",
                        help="Qt's offscreen platform instead of a real X server")
    args = parser.parse_args(argv)
    relaunched = _under_xvfb(argv)
    if relaunched is not None:
        return relaunched
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    tmp = Path(tempfile.mkdtemp(prefix="gate-killswitch-shot-"))
    for name, sub in (("GATE_KILLSWITCH_CONFIG_DIR", "config"),
                      ("GATE_KILLSWITCH_DATA_DIR", "data"),
                      ("GATE_KILLSWITCH_CACHE_DIR", "cache"),
                      ("GATE_KILLSWITCH_STATE_DIR", "state")):
        os.environ[name] = str(tmp / sub)

    import PySide6.QtWidgets  # noqa: F401  (before qasync)
    import qasync
    from PySide6.QtWidgets import QApplication, QWidget

    from gui.app import apply_theme
    from gui.controller import AppController
    from gui.core.client import GateClient
    from gui.core.heartbeat import State
    from gui.core.journal import Journal
    from gui.core.settings import SettingsStore
    from gui.core.targets import Target, parse_target
    from gui.options import GuiOptions, Phase
    from gui.simulator import DEMO_KEY, DEMO_SECRET, Simulator

    app = QApplication.instance() or QApplication(["gate-killswitch"])
    assert isinstance(app, QApplication)
    apply_theme(app)
    args.out.mkdir(parents=True, exist_ok=True)

    async def save(widget: QWidget, name: str) -> None:
        await asyncio.sleep(0.1)  # pending layouts and paints (never processEvents in a task)
        path = args.out / name
        if not widget.grab().save(str(path)):
            raise SystemExit(f"could not write {path}")
        print(f"wrote {path}")

    async def until(condition: object, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting for {what}")
            await asyncio.sleep(0.05)

    with Simulator(keys={DEMO_KEY: DEMO_SECRET}, demo=True) as sim:
        client = GateClient(sim.base_url, DEMO_KEY, DEMO_SECRET)
        controller = AppController(
            GuiOptions(demo=True, timeout=TIMEOUT, interval=INTERVAL),
            settings_store=SettingsStore(tmp / "config"), journal=Journal(tmp / "data"),
            client=client, client_label=f"Demo exchange · {sim.base_url.split('/')[2]}",
            cache_key="demo", simulator=sim, use_tray=False)
        window = controller.window
        picker = window.picker
        window.resize(WIDTH, HEIGHT)

        async def scenario() -> None:
            controller.start()
            await until(lambda: controller.phase >= Phase.PAINTED, 20, "the first paint")
            await until(lambda: picker.pair_list.count() > 0, 20, "the spot pairs")
            spot = [parse_target("spot:BTC_USDT"), parse_target("spot:ETH_USDT")]
            picker.set_selected(spot)
            await asyncio.sleep(0.5)
            await save(window, "idle.png")

            chain = picker.options_tab
            picker.tabs.setCurrentWidget(chain)
            await until(lambda: chain.chain_model.strike_rows() > 0, 20, "the option chain")
            names = sorted(chain.chain_model.contract_names())
            call = next(n for n in names if n.endswith("-C") and n[:-1] + "P" in names)
            put = call[:-1] + "P"
            chosen = [*spot, parse_target(f"options:{call}"), parse_target(f"options:{put}")]
            picker.set_selected(chosen)
            chain.chain.scrollTo(chain.chain_model.index_of(call))
            await asyncio.sleep(0.3)
            await save(window, "chain.png")

            armed: list[Target] = [spot[0], spot[1], parse_target(f"options:{call}"),
                                   parse_target("futures:usdt:BTC_USDT")]
            picker.tabs.setCurrentIndex(0)
            controller.arm(armed, TIMEOUT, INTERVAL)
            engine = controller.engine
            assert engine is not None
            await until(lambda: all((s := engine.status(t)) is not None and s.beats >= 2
                                    and s.state is State.ARMED for t in armed), 30, "two beats")
            await asyncio.sleep(2.2)  # the countdowns run a little, the orders arrive
            window.tick()
            await save(window, "armed.png")
            controller.stop()
            await until(lambda: not engine.armed_targets, 15, "the stop")
            await controller.quit_now()

        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        started = time.monotonic()
        with loop:
            loop.run_until_complete(scenario())
        print(f"done in {time.monotonic() - started:.1f} s ({os.environ['QT_QPA_PLATFORM']})")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
