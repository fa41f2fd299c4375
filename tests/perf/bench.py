#!/usr/bin/env python3
"""Benchmarks: the app's figures against their targets, measured on loopback.

    python tests/perf/bench.py [--quick] [--profile STAGE] [--json-only]

Prints a table (figure, value, target, ok/MISSED) and, as its last line, one JSON object with
the figures. ``--quick`` finishes within a minute (shorter windows, fewer repeats).

- ``startup_s``, ``rss_mb``: ``python -m gui --demo --self-test`` offscreen, median of 5 runs
  (the app's own figures: process start to first paint, resident memory with the window shown).
- ``startup_ratio_vs_bare``: ``startup_s`` over the same figure of a bare PySide6 window on a
  qasync loop (``tests/perf/bare_window.py``, a subprocess timed the same way, median of 5).
- ``arm_latency_ms``: ARM clicked in the window (QTest.mouseClick) to the first beat the
  simulator receives (its request log, same monotonic clock), median of several presses; the
  first press of a session (which also measures the exchange's clock) is shown apart.
- ``beat_cost_ratio_vs_sdk``: CPU time (``time.thread_time``) per beat of
  ``GateClient.spot_countdown`` over that of ``gate_api.SpotApi.countdown_cancel_all_spot``,
  sequential calls against the same simulator, interleaved rounds, medians.
- ``idle_cpu_pct``: ``python -m gui --demo --arm ×20`` offscreen with the window shown, its
  CPU (utime + stime from /proc/<pid>/stat) over 60 s (15 s with ``--quick``), % of one core.
  This process also hosts the demo's simulator; the table adds the same figure for the app
  against a simulator in another process, which is the app alone.
- ``loop_lag_p99_ms``: 200 targets armed in the window (60 s countdowns, a beat every 15 s),
  a 10 ms QTimer (precise) measures how late the GUI loop serves it; p99 once all are armed.
  ``arm_burst_lag_p99_ms`` (and ``arm_burst_lag_max_ms``): the same during the burst, from the
  ARM click until all 200 cards show their first beat acknowledged.
  ``max_requests_per_10s_window``: the busiest 10 s per endpoint in the simulator's log over
  the whole run (arming burst included); Gate allows 200.
- ``silence_to_amber_s``: the engine (headless) against a simulator, timeout 30, a beat every
  7.5 s; right after a beat the scope's requests hang. Seconds from sending the beat whose
  answer never comes to the target turning amber (overdue), median of 3 (1 with ``--quick``).
- ``countdown_error_ms``: the simulator's clock 2 s ahead of this machine's; the largest
  difference between the time left the window shows (TargetStatus.time_left at the card's
  repaint) and the simulator's true deadline.

The window's measurements run in this process (offscreen Qt, qasync), against a simulator in a
child process, so that serving requests does not compete with the GUI thread for the GIL.
``--profile idle|lag|arming|beat|arm`` runs one stage under cProfile and prints where the time went.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

KEY = "bench-key-3e9a1c7d52"
SECRET = "bench-secret-8b0f4d2a6c1e"
SKEW_S = 2.0
ENDPOINTS = ("/spot/countdown_cancel_all", "/options/countdown_cancel_all",
             "/futures/usdt/countdown_cancel_all", "/futures/btc/countdown_cancel_all")
JSON_KEYS = ("startup_s", "startup_ratio_vs_bare", "rss_mb", "arm_latency_ms",
             "beat_cost_ratio_vs_sdk", "idle_cpu_pct", "loop_lag_p99_ms", "arm_burst_lag_p99_ms",
             "arm_burst_lag_max_ms", "max_requests_per_10s_window", "countdown_error_ms",
             "silence_to_amber_s")


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    target: str
    ok: bool | None  # None: information only
    unit: str = ""
    digits: int = 1

    def row(self) -> tuple[str, str, str, str]:
        value = "—" if self.value is None else f"{self.value:.{self.digits}f}{self.unit}"
        verdict = "" if self.ok is None else ("ok" if self.ok else "MISSED")
        return self.label, value, self.target, verdict


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def isolated_env(base: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATE_KILLSWITCH") and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({f"GATE_KILLSWITCH_{n.upper()}_DIR": str(base / n)
                for n in ("config", "data", "cache", "state")},
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), **extra)
    return env


@contextlib.contextmanager
def profiled(enabled: bool, title: str) -> Iterator[None]:
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        out.write(f"\n===== cProfile: {title} (main thread), by own time =====\n")
        stats.sort_stats("tottime").print_stats(25)
        out.write(f"\n===== cProfile: {title}, by cumulative time =====\n")
        stats.sort_stats("cumulative").print_stats(25)
        say(out.getvalue())


# ---------------------------------------------------------------------------------------------
# A simulator in a child process (serve_simulator is what runs there)
# ---------------------------------------------------------------------------------------------


def serve_simulator(skew: float) -> None:
    """Child side: a simulator; commands as JSON lines on stdin, answers on stdout."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    from gui.simulator import Simulator

    with Simulator(keys={KEY: SECRET}, demo=True) as sim:
        sim.set_clock_skew(skew)
        print(sim.base_url, flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            name = command.get("do")
            answer: Any = None
            if name == "requests":
                since = float(command.get("since", 0.0))
                answer = [[r.mono, r.path, r.scope, r.timeout, r.status]
                          for r in sim.requests(command.get("path")) if r.mono >= since]
            elif name == "countdowns":
                answer = sim.countdowns()
            elif name == "skew":
                sim.set_clock_skew(float(command["seconds"]))
            elif name == "quit":
                break
            print(json.dumps(answer), flush=True)


class SimProcess:
    def __init__(self, skew: float = 0.0) -> None:
        self.skew = skew
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-simulator", str(skew)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            raise RuntimeError("the simulator did not start")

    def call(self, **command: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def requests(self, path: str | None = None, since: float = 0.0) -> list[list[Any]]:
        return self.call(do="requests", path=path, since=since)  # type: ignore[no-any-return]

    def countdowns(self) -> dict[str, int]:
        return self.call(do="countdowns")  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call(do="quit")
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def busiest_10s(monos: list[float]) -> int:
    monos = sorted(monos)
    best = start = 0
    for end, t in enumerate(monos):
        while monos[start] <= t - 10.0:
            start += 1
        best = max(best, end - start + 1)
    return best


# ---------------------------------------------------------------------------------------------
# silence_to_amber_s


def measure_silence(trials: int) -> dict[str, float]:
    from gui.core.client import GateClient
    from gui.core.heartbeat import Engine, EngineEvent, EventKind, State
    from gui.core.targets import parse_target
    from gui.simulator import Simulator

    amber = (EventKind.OVERDUE, EventKind.BEAT_FAILED)
    took: list[float] = []
    with Simulator(keys={KEY: SECRET}) as sim:
        async def trial(pair: str) -> float:
            target = parse_target(f"spot:{pair}")
            client = GateClient(sim.base_url, KEY, SECRET)
            engine = Engine(client, late_window=2.0)
            seen: list[tuple[float, EngineEvent]] = []
            engine.subscribe(lambda e: seen.append((time.monotonic(), e)))
            try:
                engine.arm([target], timeout=30, interval=7.5)
                await _until(lambda: any(e.kind is EventKind.BEAT_OK for _, e in seen), 10,
                             "the first beat")
                fault = sim.add_fault("hang", scope=str(target))
                await _until(lambda: any(e.kind in amber for _, e in seen), 20, "amber")
                at = next(t for t, e in seen if e.kind in amber)
                status = engine.status(target)
                assert status is not None and status.state in (State.OVERDUE, State.DEGRADED)
                missed = max(r.mono for r in sim.requests("/spot/countdown_cancel_all")
                             if r.scope == str(target) and r.timeout)
                sim.clear_faults(fault)
                await engine.disarm()
                return at - missed
            finally:
                await engine.shutdown(disarm=False)
                client.close()

        for i in range(trials):
            took.append(asyncio.run(trial(("BTC_USDT", "ETH_USDT", "SOL_USDT")[i % 3])))
    return {"median_s": statistics.median(took), "max_s": max(took)}


# ---------------------------------------------------------------------------------------------
# startup_s, rss_mb
# ---------------------------------------------------------------------------------------------


def measure_bare_startup(runs: int) -> float:
    """A bare PySide6 window on a qasync loop (tests/perf/bare_window.py), timed as the app
    times itself: the yardstick of ``startup_s`` on this machine, median of ``runs``."""
    took = []
    with tempfile.TemporaryDirectory(prefix="gk-bench-bare-") as tmp:
        env = isolated_env(Path(tmp))
        for _ in range(runs):
            done = subprocess.run([sys.executable, str(Path(__file__).with_name("bare_window.py"))],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                raise RuntimeError(f"the bare window failed: {done.stderr[-2000:]}")
            took.append(float(json.loads(done.stdout.splitlines()[-1])["startup_s"]))
    return statistics.median(took)


def measure_startup(runs: int) -> dict[str, float]:
    startups, rss, walls = [], [], []
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        env = isolated_env(Path(tmp))
        for _ in range(runs):
            began = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "gui", "--demo", "--self-test"],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
            walls.append(time.perf_counter() - began)
            if done.returncode != 0:
                raise RuntimeError(f"--self-test failed: {done.stderr[-2000:]}")
            figures = json.loads([x for x in done.stdout.splitlines() if x.strip()][-1])
            startups.append(float(figures["startup_s"]))
            rss.append(float(figures["rss_mb"]))
    return {"startup_s": statistics.median(startups), "rss_mb": statistics.median(rss),
            "wall_s": statistics.median(walls), "startup_max_s": max(startups)}


# ---------------------------------------------------------------------------------------------
# beat_cost_ratio_vs_sdk
# ---------------------------------------------------------------------------------------------


def measure_beat_cost(rounds: int, calls: int, profile: bool = False) -> dict[str, float]:
    import gate_api

    from gui.core.client import GateClient
    from gui.simulator import Simulator

    ours: list[float] = []
    sdk: list[float] = []
    ours_wall: list[float] = []
    sdk_wall: list[float] = []
    warmup = 15
    with profiled(profile, "beat cost"), contextlib.ExitStack() as stack:
        for r in range(rounds):
            # An exchange per client and round: like Gate, the simulator allows 200 requests
            # per 10 s per endpoint and account, whichever key signs them.
            sim_ours = stack.enter_context(Simulator(keys={KEY: SECRET}))
            sim_sdk = stack.enter_context(Simulator(keys={KEY: SECRET}))
            client = GateClient(sim_ours.base_url, KEY, SECRET)
            config = gate_api.Configuration(host=sim_sdk.base_url, key=KEY, secret=SECRET)
            api_client = gate_api.ApiClient(config)
            spot = gate_api.SpotApi(api_client)

            def our_beat(c: GateClient = client) -> None:
                c.spot_countdown(60, "BTC_USDT")

            def sdk_beat(s: Any = spot) -> None:
                s.countdown_cancel_all_spot(
                    gate_api.CountdownCancelAllSpotTask(timeout=60, currency_pair="BTC_USDT"))

            order = [(our_beat, ours, ours_wall), (sdk_beat, sdk, sdk_wall)]
            if r % 2:
                order.reverse()
            for beat, cpu, wall in order:
                for i in range(warmup + calls):
                    t0, w0 = time.thread_time(), time.perf_counter()
                    beat()
                    t1, w1 = time.thread_time(), time.perf_counter()
                    if i >= warmup:
                        cpu.append(t1 - t0)
                        wall.append(w1 - w0)
            client.close()
            with contextlib.suppress(Exception):
                api_client.close()
    ours_us = statistics.median(ours) * 1e6
    sdk_us = statistics.median(sdk) * 1e6
    return {"ratio": ours_us / sdk_us, "ours_us": ours_us, "sdk_us": sdk_us,
            "ours_mean_us": statistics.fmean(ours) * 1e6,
            "sdk_mean_us": statistics.fmean(sdk) * 1e6,
            "ours_wall_ms": statistics.median(ours_wall) * 1e3,
            "sdk_wall_ms": statistics.median(sdk_wall) * 1e3, "calls": float(len(ours))}


# ---------------------------------------------------------------------------------------------
# idle_cpu_pct: the app in its own process, armed on 20 targets, window shown
# ---------------------------------------------------------------------------------------------

def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def _beats_in(journal: Path) -> int:
    try:
        return journal.read_text().count('"event":"beat"')
    except OSError:
        return 0


def measure_idle_cpu(seconds: float, external_simulator: bool) -> dict[str, float]:
    """CPU of ``python -m gui`` armed on 20 targets (18 spot pairs and two futures scopes),
    window shown, as % of one core."""
    from gui.simulator.demo import build_markets

    pairs = list(build_markets(time.time()).spot_pairs)[:18]
    texts = [f"spot:{p}" for p in pairs] + ["futures:usdt:BTC_USDT", "futures:btc:all"]
    arms = [a for t in texts for a in ("--arm", t)]
    hz = os.sysconf("SC_CLK_TCK")
    sim: SimProcess | None = None
    with tempfile.TemporaryDirectory(prefix="gk-bench-idle-") as tmp:
        base = Path(tmp)
        if external_simulator:
            # The app alone: a profile whose key is in the tests' file keyring (a stand-in for
            # the OS keyring, under tmp), talking to a simulator in another process.
            sim = SimProcess()
            env = isolated_env(base, GATE_KILLSWITCH_TEST_KEYRING=str(base / "keyring.json"),
                               PYTHON_KEYRING_BACKEND="tests.subprocess_keyring."
                                                      "SubprocessTestKeyring")
            done = subprocess.run(
                [sys.executable, "-m", "gui", "keys", "set", "bench", "--base-url",
                 sim.base_url], input=f"{KEY}\n{SECRET}\n", env=env, cwd=ROOT,
                capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                raise RuntimeError(done.stderr)
            argv = ["--profile", "bench", *arms]
            journal = base / "data" / "journal.jsonl"
        else:
            env = isolated_env(base)
            argv = ["--demo", *arms]
            journal = base / "data" / "demo" / "journal.jsonl"
        proc = subprocess.Popen([sys.executable, "-m", "gui", *argv], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            end = time.monotonic() + 30
            while _beats_in(journal) < len(pairs):
                if time.monotonic() > end or proc.poll() is not None:
                    raise RuntimeError("the app did not arm its 20 targets")
                time.sleep(0.1)
            time.sleep(3.0)  # the list loads and the first order refresh after the first paint
            t0, c0 = time.monotonic(), _cpu_ticks(proc.pid)
            time.sleep(seconds)
            t1, c1 = time.monotonic(), _cpu_ticks(proc.pid)
            beats = _beats_in(journal)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
            if sim is not None:
                sim.close()
    return {"pct": 100.0 * (c1 - c0) / hz / (t1 - t0), "beats": float(beats)}


# ---------------------------------------------------------------------------------------------
# The window, in this process: arm latency, countdown error, loop lag
# ---------------------------------------------------------------------------------------------


class LagProbe:
    """A precise 10 ms timer; records how late each timeout comes."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.lags: list[float] = []
        self._last: float | None = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.lags.append(max(0.0, now - self._last - 0.010))
        self._last = now

    def start(self) -> None:
        self._last = None
        self.timer.start()

    def take(self) -> list[float]:
        lags, self.lags = self.lags, []
        return lags


async def _until(cond: Callable[[], bool], seconds: float, what: str,
                 step: float = 0.005) -> None:
    end = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > end:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(step)


def gui_targets(sim: SimProcess, count: int) -> list[Any]:
    from gui.core.client import GateClient
    from gui.core.targets import parse_target

    with GateClient(sim.base_url) as client:
        pairs = [p.id for p in client.spot_pairs()]
        unders = [u.name for u in client.option_underlyings()]
        contracts = [c.name for u in unders for c in client.option_contracts(u)]
        perpetuals = [f"futures:{s}:{c.name}" for s in ("usdt", "btc")
                      for c in client.futures_contracts(s)]
    # Pairs and contracts only: the picker drops a target that a broader chosen one covers
    # (spot:all covers every pair, an underlying its contracts). Futures come second, so that
    # every count from 2 up has some, and the counts (and so the run) stay as they were.
    texts = ([f"spot:{pairs[0]}"] + perpetuals + [f"spot:{p}" for p in pairs[1:]]
             + [f"options:{c}" for c in contracts])
    if count > len(texts):
        raise ValueError(f"the simulator has only {len(texts)} separate scopes")
    return [parse_target(t) for t in texts[:count]]


def quiet_offscreen_noise() -> None:
    """Drop the two warnings the offscreen platform always prints (docs/ARCHITECTURE.md,
    "Tests")."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    noise = ("This plugin does not support propagateSizeHints()",
             "This plugin does not support raise()")

    def handler(kind: QtMsgType, _context: Any, message: str) -> None:
        if message not in noise:
            print(message, file=sys.stderr)

    qInstallMessageHandler(handler)


def offscreen_app(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """Offscreen Qt with the app's theme, and the app's directories under a new temporary one
    (returned: the caller's ``Path(tmp.name)`` is where settings and the journal go)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QT_API"] = "pyside6"
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    for name in ("config", "data", "cache", "state"):
        os.environ[f"GATE_KILLSWITCH_{name.upper()}_DIR"] = str(Path(tmp.name) / name)
    import PySide6.QtWidgets  # noqa: F401  (before qasync)
    from PySide6.QtWidgets import QApplication

    from gui.app import apply_theme

    quiet_offscreen_noise()
    app = QApplication.instance() or QApplication(["gate-killswitch-bench"])
    assert isinstance(app, QApplication)
    apply_theme(app)
    return tmp


def run_scenario(scenario: Coroutine[Any, Any, None], sim: SimProcess,
                 tmp: tempfile.TemporaryDirectory[str]) -> None:
    """Run ``scenario`` on a qasync loop over the application, then close the simulator and
    remove the temporary directory, whatever happened."""
    import qasync
    from PySide6.QtWidgets import QApplication

    loop = qasync.QEventLoop(QApplication.instance())
    asyncio.set_event_loop(loop)
    try:
        with loop:
            loop.run_until_complete(scenario)
    finally:
        asyncio.set_event_loop(None)
        sim.close()
        with contextlib.suppress(OSError):
            tmp.cleanup()


def measure_window(quick: bool, profile: str | None) -> dict[str, Any]:
    tmp = offscreen_app("gk-bench-gui-")
    base = Path(tmp.name)
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from gui.controller import AppController
    from gui.core.client import GateClient
    from gui.core.heartbeat import State
    from gui.core.journal import Journal
    from gui.core.settings import SettingsStore
    from gui.options import GuiOptions, Phase

    sim = SimProcess(skew=SKEW_S)
    results: dict[str, Any] = {}

    async def scenario() -> None:
        controller = AppController(
            GuiOptions(timeout=60, interval=15.0), settings_store=SettingsStore(base / "config"),
            journal=Journal(base / "data"), client=GateClient(sim.base_url, KEY, SECRET),
            client_label="Simulator (child process)", cache_key="bench", use_tray=False)
        window = controller.window
        window.resize(1240, 800)
        controller.start()
        await _until(lambda: controller.phase >= Phase.PAINTED, 20, "the first paint")
        await _until(lambda: window.picker.pair_list.count() > 0, 20, "the pair list")
        probe = LagProbe()
        probe.start()
        try:
            await arm_latency(controller, window, probe)
            await countdown_error(controller, window)
            await loop_lag(controller, window, probe)
        finally:
            probe.timer.stop()
            await controller.quit_now()

    async def click_and_wait(window: Any, mode: str) -> float:
        button = window.arm_button
        await _until(button.isEnabled, 10, "the big button")
        pressed = time.monotonic()
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        await _until(lambda: window.mode == mode, 30, f"mode {mode}")
        return pressed

    async def stop_all(controller: Any, window: Any) -> float:
        began = time.monotonic()
        await click_and_wait(window, "stopping")
        await _until(lambda: window.mode == "arm", 120, "every stop confirmed")
        return time.monotonic() - began

    async def arm_latency(controller: Any, window: Any, probe: LagProbe) -> None:
        presses = 3 if quick else 9
        targets = gui_targets(sim, 1)
        latencies = []
        with profiled(profile == "arm", "ARM to first beat"):
            for _ in range(presses):
                window.picker.set_selected(targets)
                await asyncio.sleep(0.3)  # a person's pause: nothing left over from before
                pressed = await click_and_wait(window, "stop")
                first: list[list[Any]] = []

                def beat_seen(pressed: float = pressed, first: list[list[Any]] = first) -> bool:
                    first[:] = [r for r in sim.requests(ENDPOINTS[0], since=pressed) if r[3]]
                    return bool(first)

                await _until(beat_seen, 10, "the first beat", step=0.002)
                latencies.append((first[0][0] - pressed) * 1000)
                await _until(lambda: all(c.state is State.ARMED for c in window.cards.values()),
                             10, "armed")
                await stop_all(controller, window)
        results["arm_latency_ms"] = statistics.median(latencies)
        results["arm_latency_first_ms"] = latencies[0]
        results["arm_latency_max_ms"] = max(latencies)

    async def countdown_error(controller: Any, window: Any) -> None:
        targets = gui_targets(sim, 3)
        window.picker.set_selected(targets)
        await click_and_wait(window, "stop")
        await _until(lambda: len(window.cards) == 3 and all(
            c.state is State.ARMED for c in window.cards.values()), 10, "3 armed")
        errors: list[float] = []
        text_off = 0
        end = time.monotonic() + (3.0 if quick else 10.0)
        while time.monotonic() < end:
            truth = sim.countdowns()
            wall, mono = time.time(), time.monotonic()
            for target, card in window.cards.items():
                status = card.status
                trigger = truth.get(str(target))
                if status is None or trigger is None or status.trigger_time_ms != trigger:
                    continue  # a beat landed between the two readings
                shown = status.time_left(mono)
                if shown is None:
                    continue
                true_left = trigger / 1000 - (wall + SKEW_S)
                errors.append(abs(shown - true_left) * 1000)
                # What the card says is the same time rounded up to whole seconds.
                card.tick(mono)
                number = int(card.countdown.text().split()[0])
                if not (true_left - 0.2 <= number <= true_left + 1.2):
                    text_off += 1
            await asyncio.sleep(0.05)
        results["countdown_error_ms"] = max(errors)
        results["countdown_samples"] = len(errors)
        results["countdown_text_off"] = text_off
        await stop_all(controller, window)

    async def loop_lag(controller: Any, window: Any, probe: LagProbe) -> None:
        targets = gui_targets(sim, 200)
        window.picker.set_selected(targets)
        await asyncio.sleep(0.5)
        probe.take()
        started = time.monotonic()
        with profiled(profile == "arming", "arming 200 targets"):
            await click_and_wait(window, "stop")
            await _until(lambda: len(window.cards) == 200 and all(
                c.state is State.ARMED for c in window.cards.values()), 60, "200 armed")
        arming = probe.take()
        results["arm_200_s"] = time.monotonic() - started
        # Long enough to hold a whole beat cycle (15 s): all 200 beat again within it.
        steady_s = 17.0 if quick else 45.0
        with profiled(profile == "lag", "200 targets armed"):
            await asyncio.sleep(steady_s)
        steady = probe.take()
        results["loop_lag_p99_ms"] = percentile(steady, 99) * 1000
        results["loop_lag_max_ms"] = max(steady) * 1000
        results["arm_burst_lag_p99_ms"] = percentile(arming, 99) * 1000
        results["arm_burst_lag_max_ms"] = max(arming) * 1000
        results["arm_burst_samples"] = len(arming)
        results["loop_lag_samples"] = len(steady)
        results["lost_ticks_pct"] = 100 * (1 - len(steady) * 0.010 / steady_s)
        if not quick:
            results["stop_200_s"] = await stop_all(controller, window)
        log = sim.requests()
        results["max_requests_per_10s_window"] = {
            path: busiest_10s([r[0] for r in log if r[1] == path])
            for path in sorted({r[1] for r in log})}

    run_scenario(scenario(), sim, tmp)
    return results


def profile_idle(seconds: float) -> None:
    """The idle scenario in this process (20 targets, window shown) under cProfile."""
    tmp = offscreen_app("gk-bench-prof-")
    base = Path(tmp.name)
    from gui.controller import AppController
    from gui.core.client import GateClient
    from gui.core.heartbeat import State
    from gui.core.journal import Journal
    from gui.core.settings import SettingsStore
    from gui.options import GuiOptions

    sim = SimProcess()

    async def scenario() -> None:
        targets = gui_targets(sim, 20)
        controller = AppController(
            GuiOptions(timeout=60, interval=15.0, arm=targets),
            settings_store=SettingsStore(base / "config"), journal=Journal(base / "data"),
            client=GateClient(sim.base_url, KEY, SECRET), client_label="Simulator",
            cache_key="bench", use_tray=False)
        controller.window.resize(1240, 800)
        controller.start()
        await _until(lambda: len(controller.window.cards) == 20 and all(
            c.state is State.ARMED for c in controller.window.cards.values()), 30, "armed")
        await asyncio.sleep(3.0)
        cpu0, t0 = time.process_time(), time.monotonic()
        with profiled(True, f"idle, 20 targets, {seconds:g} s"):
            await asyncio.sleep(seconds)
        say(f"in-process idle CPU (GUI + engine + request threads): "
            f"{100 * (time.process_time() - cpu0) / (time.monotonic() - t0):.2f} % of one core")
        await controller.quit_now()

    run_scenario(scenario(), sim, tmp)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        from PySide6 import __version__ as pyside
        from PySide6.QtCore import qVersion

        qt = f"Qt {qVersion()}, PySide6 {pyside}"
    except ImportError:
        qt = "no Qt"
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}, {qt}, "
            f"{sys.platform}")


def print_table(figures: list[Figure]) -> None:
    rows = [("figure", "value", "target", "")] + [f.row() for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks of gate-killswitch on loopback.")
    parser.add_argument("--quick", action="store_true", help="finish within a minute")
    parser.add_argument("--profile", choices=["idle", "lag", "arming", "beat", "arm"],
                        help="run that stage under cProfile (and print where time went)")
    parser.add_argument("--serve-simulator", metavar="SKEW", type=float,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_simulator is not None:
        serve_simulator(args.serve_simulator)
        return 0
    if args.profile == "idle":
        profile_idle(15.0 if args.quick else 60.0)
        return 0
    if args.profile == "beat":
        measure_beat_cost(2, 150, profile=True)
        return 0

    began = time.monotonic()
    say(f"bench{' --quick' if args.quick else ''}: {machine()}")
    say("startup (5 runs of --self-test)…")
    startup = measure_startup(5)
    say("startup of a bare PySide6 window on qasync (5 runs)…")
    bare_s = measure_bare_startup(5)
    ratio = startup["startup_s"] / bare_s
    say("beat cost: GateClient vs gate_api…")
    beat = measure_beat_cost(2 if args.quick else 6, 100 if args.quick else 150)
    say("the window: ARM latency, countdown error, 200 targets…")
    window = measure_window(args.quick, args.profile)
    idle_s = 15.0 if args.quick else 60.0
    say("silence: a hang right after a beat, until the target is amber…")
    silence = measure_silence(1 if args.quick else 3)
    say(f"idle CPU over {idle_s:g} s (demo app, 20 targets)…")
    idle = measure_idle_cpu(idle_s, external_simulator=False)
    idle_alone = None
    if not args.quick:
        say(f"idle CPU over {idle_s:g} s (the app alone, simulator in another process)…")
        idle_alone = measure_idle_cpu(idle_s, external_simulator=True)

    per_endpoint = window["max_requests_per_10s_window"]
    max_countdown = max((per_endpoint.get(p, 0) for p in ENDPOINTS), default=0)
    max_any = max(per_endpoint.values(), default=0)
    figures = [
        Figure("startup_s", "startup, process start to first paint (median of 5)",
               startup["startup_s"], "< 0.6 s", startup["startup_s"] < 0.6, " s", 3),
        Figure("startup_ratio_vs_bare", "  startup / a bare PySide6 window on qasync", ratio,
               "≤ 1.5", ratio <= 1.5, "×", 2),
        Figure("", "  a bare PySide6 window on qasync, to first paint (median of 5)", bare_s,
               "", None, " s", 3),
        Figure("", "  wall time of a --self-test run, spawn to exit (median)",
               startup["wall_s"], "", None, " s", 3),
        Figure("rss_mb", "resident memory, window shown (median)", startup["rss_mb"],
               "< 130 MB", startup["rss_mb"] < 130, " MB"),
        Figure("arm_latency_ms", "ARM click to first beat at the exchange (median)",
               window["arm_latency_ms"], "< 30 ms", window["arm_latency_ms"] < 30, " ms"),
        Figure("", "  first press of the session (measures the clock too)",
               window["arm_latency_first_ms"], "", None, " ms"),
        Figure("beat_cost_ratio_vs_sdk", "CPU per beat, GateClient / gate_api SDK",
               beat["ratio"], "≤ 1.0", beat["ratio"] <= 1.0, "", 2),
        Figure("", "  GateClient CPU per beat (median)", beat["ours_us"], "", None, " µs", 0),
        Figure("", "  gate_api CPU per beat (median)", beat["sdk_us"], "", None, " µs", 0),
        Figure("idle_cpu_pct", f"idle CPU, 20 targets armed, window shown ({idle_s:g} s)",
               idle["pct"], "< 1 %", idle["pct"] < 1.0, " %", 2),
    ]
    if idle_alone is not None:
        figures.append(Figure("", "  the same without the demo's in-process simulator",
                              idle_alone["pct"], "", None, " %", 2))
    figures += [
        Figure("loop_lag_p99_ms", "GUI loop lag p99, 200 targets armed", window[
            "loop_lag_p99_ms"], "< 20 ms", window["loop_lag_p99_ms"] < 20, " ms"),
        Figure("", "  worst lag once armed", window["loop_lag_max_ms"], "", None, " ms"),
        Figure("arm_burst_lag_p99_ms", "GUI loop lag p99 while the 200 arm (click to last ack)",
               window["arm_burst_lag_p99_ms"], "< 50 ms", window["arm_burst_lag_p99_ms"] < 50,
               " ms"),
        Figure("arm_burst_lag_max_ms", "  worst lag while the 200 arm",
               window["arm_burst_lag_max_ms"], "", None, " ms"),
        Figure("", "  time until all 200 were armed", window["arm_200_s"], "", None, " s"),
    ]
    if "stop_200_s" in window:
        figures.append(Figure("", "  STOP of 200 until each confirmed", window["stop_200_s"],
                              "", None, " s"))
    figures += [
        Figure("max_requests_per_10s_window", "busiest 10 s of one endpoint (any)",
               float(max_any), "≤ 200", max_any <= 200, "", 0),
        Figure("", "  of which a countdown endpoint", float(max_countdown), "", None, "", 0),
        *[Figure("", f"  {path}", float(n), "", None, "", 0)
          for path, n in sorted(per_endpoint.items(), key=lambda item: -item[1])[:4]],
        Figure("countdown_error_ms", "time left shown vs true deadline, clock 2 s off",
               window["countdown_error_ms"], "< 100 ms", window["countdown_error_ms"] < 100,
               " ms"),
        Figure("silence_to_amber_s", "a beat unanswered (hang) until the target is amber",
               silence["median_s"], "< 2.5 s", silence["median_s"] < 2.5, " s", 2),
        Figure("", "  the slowest of the trials", silence["max_s"], "", None, " s", 2),
    ]
    print_table(figures)
    print(f"machine: {machine()}; {time.monotonic() - began:.0f} s")
    by_key = {f.key: f.value for f in figures if f.key}
    print(json.dumps({key: None if by_key[key] is None else round(by_key[key], 3)
                      for key in JSON_KEYS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
