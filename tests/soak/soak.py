"""Soak: many targets armed for a long time while the exchange misbehaves at random.

    python tests/soak/soak.py [--targets 50] [--minutes 30] [--timeout 20] [--interval 5]
                              [--fire 3] [--seed N] [--journal-dir DIR]

Two phases against the simulator on loopback, with the real engine, client and journal:

1. **Faults that clear in time.** Faults come and go at random: added latency, 5xx answers,
   proxy HTML pages, connection resets, hung requests, answers that drip in a few bytes a second
   (a stalled gateway; the engine must cut them at their bound) and 429s, each on one target's
   scope, on
   a whole endpoint or on everything, each lasting less than ``--max-fault`` seconds (7.5), and
   a scope rests ``--quiet`` seconds (5) between two faults. With a 20 s countdown and a beat
   every 5 s that leaves every target time to recover: **no countdown may fire**, and the
   journal must hold every beat the exchange acknowledged (matched one by one, by scope and
   ``triggerTime``, against what the simulator processed), a beat answered while STOP was
   cancelling its worker included. Only a beat the exchange took after that scope's stop (a
   late one, which the engine's sweep clears) may be missing.
2. **Faults that outlast the deadline.** ``--fire`` chosen targets get a hang on their scope
   that is never cleared: **exactly those fire** on the exchange, and the engine reports each
   of them fired, once; every other target stays armed. Then everything is stopped and the
   exchange must hold no countdown.

``--minutes`` is the whole armed time: phase 2 takes about ``timeout + 10`` seconds of it.
A summary follows (beats sent and acknowledged, failures, retries, faults by kind, firings
expected and seen, the busiest 10 s per endpoint, CPU); the exit code is 0 when every check
held. ``tests/soak/test_soak.py`` runs a 2-minute version under pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from gui.core.client import GateClient  # noqa: E402
from gui.core.heartbeat import Engine, EngineEvent, EventKind, State  # noqa: E402
from gui.core.journal import Journal  # noqa: E402
from gui.core.targets import Target, parse_target  # noqa: E402
from gui.simulator import Simulator  # noqa: E402

KEY = "soak-key-0c5e1a7b93"
SECRET = "soak-secret-4f2d8b6e1c9a"
FAULT_KINDS = ("latency", "5xx", "html", "reset", "hang", "drip", "429")
RATE_WINDOW_S = 10.0


@dataclass
class SoakConfig:
    targets: int = 50
    minutes: float = 30.0
    timeout: int = 20
    interval: float = 5.0
    max_fault_s: float = 7.5
    quiet_s: float = 5.0
    mean_gap_s: float = 1.5  # mean time between two new faults (when a scope is free)
    max_latency_ms: int = 2500
    fire: int = 3
    seed: int | None = None
    request_timeout: float = 10.0
    # A hung request is never delivered late by the simulator, so the engine's sweep after a
    # stop (which covers Gate's 60 s signature window) need not last a minute here.
    late_window: float = 5.0
    journal_dir: Path | None = None
    report_path: Path | None = None  # where main() writes report_figures() as JSON
    progress: Callable[[str], None] | None = print
    progress_every_s: float = 30.0


@dataclass
class SoakReport:
    config: SoakConfig
    seed: int = 0
    targets: list[str] = field(default_factory=list)
    beats_sent: int = 0  # countdown requests (timeout > 0) that reached the exchange
    beats_acked: int = 0  # beats in the journal
    beats_processed: int = 0  # beats the exchange processed (answered 200)
    failures: int = 0
    retries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    fault_scopes: Counter[str] = field(default_factory=Counter)
    phase1_firings: list[str] = field(default_factory=list)
    chosen_to_fire: list[str] = field(default_factory=list)
    fired_on_exchange: list[str] = field(default_factory=list)
    reported_fired: list[str] = field(default_factory=list)
    journal_missing: int = 0
    journal_extra: int = 0
    landed_after_stop: int = 0  # beats the exchange took after the scope's stop, not journaled
    max_per_10s: dict[str, int] = field(default_factory=dict)
    stop_confirmed: bool = False
    countdowns_left: dict[str, int] = field(default_factory=dict)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        c = self.config
        busiest = ", ".join(f"{path} {n}" for path, n in sorted(self.max_per_10s.items()))
        faults = ", ".join(f"{k} {n}" for k, n in sorted(self.faults.items()))
        where = ", ".join(f"{k} {n}" for k, n in sorted(self.fault_scopes.items()))
        lines = [
            f"soak: {len(self.targets)} targets, {self.wall_s / 60:.1f} min armed, timeout "
            f"{c.timeout} s, a beat every {c.interval:g} s, seed {self.seed}",
            f"  beats sent             {self.beats_sent}",
            f"  beats acknowledged     {self.beats_acked} in the journal "
            f"({self.beats_processed} processed by the exchange; {self.journal_missing} "
            f"missing, {self.journal_extra} unknown, {self.landed_after_stop} landed after "
            "their scope's stop)",
            f"  failures               {self.failures}",
            f"  retries                {self.retries}",
            f"  faults injected        {sum(self.faults.values())} ({faults}); on {where}",
            f"  firings, phase 1       expected 0, seen {len(self.phase1_firings)}"
            + (f" ({', '.join(self.phase1_firings)})" if self.phase1_firings else ""),
            f"  firings, phase 2       expected {len(self.chosen_to_fire)}, seen on the "
            f"exchange {len(self.fired_on_exchange)}, reported fired "
            f"{len(self.reported_fired)}",
            f"  stop confirmed         {self.stop_confirmed}; countdowns left "
            f"{len(self.countdowns_left)}",
            f"  busiest 10 s           {busiest} (limit 200 per endpoint)",
            f"  CPU                    {self.cpu_s:.1f} s "
            f"({100 * self.cpu_s / max(self.wall_s, 1e-9):.1f} % of one core)",
            "  result                 " + ("OK" if self.ok else "FAILED: "
                                            + "; ".join(self.problems)),
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def pick_targets(sim: Simulator, count: int) -> list[Target]:
    """A few spot pairs, a few futures scopes of both settles, the other pairs, then the
    all-markets scopes and option underlyings and contracts."""
    with GateClient(sim.base_url) as client:
        pairs = [p.id for p in client.spot_pairs() if p.tradable]
        underlyings = [u.name for u in client.option_underlyings()]
        contracts = [c.name for u in underlyings for c in client.option_contracts(u)]
    perpetuals = ["futures:usdt:BTC_USDT", "futures:usdt:ETH_USDT", "futures:btc:BTC_USD",
                  "futures:usdt:all", "futures:btc:all"]
    texts = ([f"spot:{p}" for p in pairs[:3]] + perpetuals + [f"spot:{p}" for p in pairs[3:]]
             + ["spot:all", "options:all"]
             + [f"options:{u}" for u in underlyings] + [f"options:{c}" for c in contracts])
    if count > len(texts):
        raise ValueError(f"the simulator has only {len(texts)} scopes")
    return [parse_target(t) for t in texts[:count]]


def busiest_window(monos: list[float], window: float = RATE_WINDOW_S) -> int:
    monos = sorted(monos)
    best, start = 0, 0
    for end, t in enumerate(monos):
        while monos[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass
class _Fault:
    ids: list[int]
    kind: str
    covered: frozenset[Target]
    until: float


class FaultMaker:
    """Adds faults at random and clears each before ``max_fault_s``; never two on one scope,
    and a scope rests ``quiet_s`` after a fault before the next."""

    def __init__(self, sim: Simulator, targets: list[Target], config: SoakConfig,
                 rng: random.Random, report: SoakReport) -> None:
        self.sim = sim
        self.targets = targets
        self.config = config
        self.rng = rng
        self.report = report
        self.active: list[_Fault] = []
        self.rest_until: dict[Target, float] = dict.fromkeys(targets, 0.0)
        self.next_at = time.monotonic() + rng.expovariate(1 / config.mean_gap_s)
        self.last_clear = 0.0

    def step(self, now: float) -> None:
        for fault in [f for f in self.active if f.until <= now]:
            self._clear(fault, now)
        if now < self.next_at:
            return
        self.next_at = now + self.rng.expovariate(1 / self.config.mean_gap_s)
        roll = self.rng.random()
        if roll < 0.7:
            target = self.rng.choice(self.targets)
            covered, where, options = frozenset([target]), "a target", {"scope": str(target)}
        elif roll < 0.85:
            product = self.rng.choice(["spot", "options", "futures:usdt", "futures:btc"])
            covered = frozenset(t for t in self.targets if t.product.value == product)
            # "futures:usdt" is the endpoint /futures/usdt/countdown_cancel_all.
            path = f"/{product.replace(':', '/')}/countdown_cancel_all"
            where, options = "an endpoint", {"path": path}
        else:
            covered, where, options = frozenset(self.targets), "everything", {}
        if not covered or any(self.rest_until[t] > now for t in covered):
            return
        kind = self.rng.choice(FAULT_KINDS)
        ids = [self._add(kind, options)]
        duration = self.rng.uniform(0.5, self.config.max_fault_s)
        self.active.append(_Fault(ids, kind, covered, now + duration))
        for target in covered:
            self.rest_until[target] = float("inf")
        self.report.faults[kind] += 1
        self.report.fault_scopes[where] += 1

    def _add(self, kind: str, options: dict[str, Any]) -> int:
        add = self.sim.add_fault
        if kind == "latency":
            return add("latency", latency_ms=self.rng.randint(200, self.config.max_latency_ms),
                       **options)
        if kind == "5xx":
            return add("status", status=self.rng.choice([500, 502, 503, 504]), **options)
        if kind == "html":
            return add("html", status=self.rng.choice([502, 503, 403]), **options)
        if kind == "reset":
            return add("drop", **options)
        if kind == "hang":
            return add("hang", **options)
        if kind == "drip":
            return add("drip", rate_bps=self.rng.uniform(2.0, 20.0), **options)
        return add("status", status=429, **options)

    def _clear(self, fault: _Fault, now: float) -> None:
        for fault_id in fault.ids:
            self.sim.clear_faults(fault_id)
        self.active.remove(fault)
        for target in fault.covered:
            self.rest_until[target] = now + self.config.quiet_s
        self.last_clear = now

    def clear_all(self) -> None:
        now = time.monotonic()
        for fault in list(self.active):
            self._clear(fault, now)


# ---------------------------------------------------------------------------------------------
# The soak
# ---------------------------------------------------------------------------------------------


async def _until(cond: Callable[[], bool], seconds: float, step: float = 0.05) -> bool:
    end = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(step)
    return True


async def _soak(config: SoakConfig, report: SoakReport, sim: Simulator,
                journal_dir: Path) -> None:
    say = config.progress or (lambda _text: None)
    rng = random.Random(report.seed)
    targets = pick_targets(sim, config.targets)
    report.targets = [str(t) for t in targets]
    # scope, timeout, triggerTime, mono; in the order the exchange processed them (the lock is
    # held across the call, so a beat and a stop racing each other are listed as they ran)
    processed: list[tuple[str, int, int, float]] = []
    lock = threading.Lock()
    set_countdown = sim.exchange.set_countdown

    def recording_set_countdown(scope: str, timeout_s: int) -> int:
        with lock:
            trigger = set_countdown(scope, timeout_s)
            processed.append((scope, timeout_s, trigger, time.monotonic()))
        return trigger

    # The simulator's own view of every countdown it processed (test instrumentation).
    sim.exchange.set_countdown = recording_set_countdown  # type: ignore[method-assign]

    client = GateClient(sim.base_url, KEY, SECRET, timeout=config.request_timeout)
    journal = Journal(journal_dir, backups=1000)
    engine = Engine(client, journal=journal, request_timeout=config.request_timeout,
                    late_window=config.late_window, rng=random.Random(rng.random()))
    events: list[tuple[float, EngineEvent]] = []
    engine.subscribe(lambda e: events.append((time.monotonic(), e)))
    faults = FaultMaker(sim, targets, config, rng, report)
    total_s = config.minutes * 60
    phase2_s = config.timeout + 10.0
    phase1_s = max(total_s - phase2_s, config.timeout * 2.0)
    started = time.monotonic()
    stop_mono = float("inf")
    try:
        await asyncio.get_running_loop().run_in_executor(None, client.sync_clock)
        engine.arm(targets, config.timeout, config.interval)
        if not await _until(lambda: all(s.state is State.ARMED for s in engine.statuses()),
                            config.timeout):
            report.problems.append("not every target was armed in time")
        say(f"soak: {len(targets)} targets armed; phase 1 (faults that clear in time) for "
            f"{phase1_s:.0f} s, seed {report.seed}")
        next_progress = time.monotonic() + config.progress_every_s
        while time.monotonic() - started < phase1_s:
            now = time.monotonic()
            faults.step(now)
            if now >= next_progress:
                next_progress = now + config.progress_every_s
                states = Counter(s.state.value for s in engine.statuses())
                failed = sum(1 for _, e in events if e.kind is EventKind.BEAT_FAILED)
                say(f"  {now - started:6.0f} s: beats {len(processed)}, failures {failed}, "
                    f"faults {sum(report.faults.values())} ({len(faults.active)} active), "
                    f"states {dict(states)}")
            await asyncio.sleep(0.1)
        faults.clear_all()
        cleared = time.monotonic()
        # Every target beats once more after the last fault, or the check below says which.
        await _until(lambda: all((s.last_ack_mono or 0) > cleared for s in engine.statuses()),
                     config.timeout)
        report.phase1_firings = sorted({f.scope for f in sim.firings()})
        bad = {str(s.target): s.state.value for s in engine.statuses()
               if s.state is not State.ARMED}
        if report.phase1_firings:
            report.problems.append(f"phase 1 fired: {', '.join(report.phase1_firings)}")
        if bad:
            report.problems.append(f"phase 1 left targets not armed: {bad}")

        # Phase 2: hangs that outlast the deadline, on chosen targets only.
        chosen = rng.sample(targets, min(config.fire, len(targets)))
        report.chosen_to_fire = sorted(str(t) for t in chosen)
        say(f"soak: phase 2: hanging {', '.join(report.chosen_to_fire)} until they fire")
        phase2_started = time.monotonic()
        for target in chosen:
            sim.add_fault("hang", scope=str(target))
        fired_ok = await _until(
            lambda: all(engine.status(t).state is State.FIRED for t in chosen)  # type: ignore[union-attr]
            and len({f.scope for f in sim.firings()}) >= len(chosen),
            config.timeout + 10.0)
        if not fired_ok:
            report.problems.append("the chosen targets did not all fire in time")
        await asyncio.sleep(1.0)  # anything else that would wrongly fire has had its chance
        report.fired_on_exchange = sorted({f.scope for f in sim.firings()})
        report.reported_fired = sorted(str(e.target) for t, e in events
                                       if e.kind is EventKind.FIRED and t >= phase2_started)
        if report.fired_on_exchange != report.chosen_to_fire:
            report.problems.append(f"fired on the exchange {report.fired_on_exchange}, "
                                   f"expected {report.chosen_to_fire}")
        if report.reported_fired != report.chosen_to_fire:
            report.problems.append(f"reported fired {report.reported_fired}, expected "
                                   f"{report.chosen_to_fire}")
        others = {str(s.target): s.state.value for s in engine.statuses()
                  if s.target not in chosen and s.state is not State.ARMED}
        if others:
            report.problems.append(f"targets not chosen to fire are not armed: {others}")

        sim.clear_faults()
        stop_mono = time.monotonic()
        results = await engine.disarm()
        # The fired ones stay FIRED through the stop (their cards must not turn "disarmed").
        report.stop_confirmed = all(ok for t, ok in results.items() if t not in chosen)
        if not report.stop_confirmed:
            report.problems.append("some stops were not confirmed: "
                                   f"{[str(t) for t, ok in results.items() if not ok]}")
        unfired = {str(t): s.state.value for t in chosen
                   if (s := engine.status(t)) is not None and s.state is not State.FIRED}
        if unfired:
            report.problems.append(f"fired targets no longer say FIRED after the stop: {unfired}")
        await engine.wait_sweeps(timeout=config.late_window + 30)
        report.countdowns_left = sim.countdowns()
        if report.countdowns_left:
            report.problems.append(f"countdowns left on the exchange: {report.countdowns_left}")
    finally:
        faults.clear_all()
        sim.clear_faults()
        report.wall_s = time.monotonic() - started
        await engine.shutdown(disarm=False)
        client.close()
        journal.close()

    # -- the journal against the simulator's view --------------------------------------------
    records = journal.recent(10**8)
    journaled = [(r.get("target"), r.get("trigger_time_ms")) for r in records
                 if r.get("event") == "beat"]
    with lock:
        history = list(processed)
    # A beat answered while STOP cancelled its worker is journaled like any other; only one
    # the exchange took after that scope's stop (a late beat the sweep clears) may be missing.
    stopped: set[str] = set()
    beats: list[tuple[str, int]] = []
    late: set[tuple[str, int]] = set()
    for scope, timeout, trig, mono in history:
        if not timeout:
            if mono >= stop_mono:
                stopped.add(scope)
            continue
        beats.append((scope, trig))
        if scope in stopped:
            late.add((scope, trig))
    by_exchange = set(beats)
    in_journal = set(journaled)
    report.beats_processed = len(beats)
    report.beats_acked = len(journaled)
    report.journal_missing = len(by_exchange - late - in_journal)
    report.journal_extra = len(in_journal - by_exchange)
    report.landed_after_stop = len(late - in_journal)
    if len(journaled) != len(in_journal):
        report.problems.append("the journal holds a beat twice")
    if report.journal_missing:
        report.problems.append(f"{report.journal_missing} acknowledged beats are not in the "
                               "journal")
    if report.journal_extra:
        report.problems.append(f"{report.journal_extra} journal beats the exchange never "
                               "processed")

    requests = sim.requests()
    report.beats_sent = sum(1 for r in requests if r.path.endswith("/countdown_cancel_all")
                            and r.timeout)
    report.failures = sum(1 for _, e in events if e.kind is EventKind.BEAT_FAILED)
    report.retries = sum(1 for _, e in events
                         if e.kind is EventKind.RETRYING and not e.fields.get("stopping"))
    paths = {r.path for r in requests}
    report.max_per_10s = {p: busiest_window([r.mono for r in requests if r.path == p])
                          for p in paths}
    over = {p: n for p, n in report.max_per_10s.items() if n > 200}
    if over:
        report.problems.append(f"more than 200 requests in 10 s: {over}")


def run_soak(config: SoakConfig) -> SoakReport:
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    report = SoakReport(config=config, seed=seed)
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory(prefix="gate-killswitch-soak-") as tmp:
        journal_dir = config.journal_dir or Path(tmp) / "journal"
        with Simulator(keys={KEY: SECRET}) as sim:
            asyncio.run(_soak(config, report, sim, journal_dir))
    report.cpu_s = time.process_time() - cpu0
    return report


def parse_args(argv: list[str] | None = None) -> SoakConfig:
    defaults = SoakConfig()
    parser = argparse.ArgumentParser(
        prog="soak.py", description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--targets", type=int, default=defaults.targets)
    parser.add_argument("--minutes", type=float, default=defaults.minutes,
                        help="the whole armed time, both phases")
    parser.add_argument("--timeout", type=int, default=defaults.timeout)
    parser.add_argument("--interval", type=float, default=defaults.interval)
    parser.add_argument("--max-fault", type=float, default=defaults.max_fault_s,
                        help="seconds a fault lasts at most in phase 1")
    parser.add_argument("--quiet", type=float, default=defaults.quiet_s,
                        help="seconds a scope rests between two faults")
    parser.add_argument("--fire", type=int, default=defaults.fire,
                        help="targets made to fire in phase 2")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--journal-dir", type=Path, default=None,
                        help="keep the journal here (default: a temporary directory)")
    parser.add_argument("--json", type=Path, default=None, dest="json_path",
                        help="also write the report's figures here as JSON")
    args = parser.parse_args(argv)
    return dataclasses.replace(
        defaults, targets=args.targets, minutes=args.minutes, timeout=args.timeout,
        interval=args.interval, max_fault_s=args.max_fault, quiet_s=args.quiet,
        fire=args.fire, seed=args.seed, journal_dir=args.journal_dir,
        report_path=args.json_path)


def report_figures(report: SoakReport) -> dict[str, Any]:
    """What the tests check, as JSON-ready values."""
    return {
        "ok": report.ok, "problems": report.problems, "summary": report.summary(),
        "phase1_firings": report.phase1_firings, "chosen_to_fire": report.chosen_to_fire,
        "fired_on_exchange": report.fired_on_exchange, "reported_fired": report.reported_fired,
        "journal_missing": report.journal_missing, "journal_extra": report.journal_extra,
        "beats_acked": report.beats_acked, "failures": report.failures,
        "retries": report.retries, "max_per_10s": report.max_per_10s,
    }


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    # The engine logs every failure as a warning; the summary says what matters.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    report = run_soak(config)
    print(report.summary(), flush=True)
    if config.report_path is not None:
        config.report_path.write_text(json.dumps(report_figures(report)))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
