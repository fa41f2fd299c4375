"""The headless runner: ``gate-killswitch run --profile NAME --target T ...``.

The same engine as the window, on plain asyncio. It prints a line per beat and every failure;
SIGINT or SIGTERM disarms every target and exits 0 once the exchange acknowledged each stop in
time (1, naming the targets, when a stop could not be confirmed, or came after the countdown had
run out: those fired). SIGKILL leaves the countdowns armed, and the
exchange fires them: that is the point of a dead man's switch.

SIGHUP (the terminal closed, the SSH link dropped) stops the beats without a disarm, journals
what is left to fire, and exits 1: nobody is watching any more, and a dead man's switch whose
watcher is gone must fire, not leave the orders unguarded. A runner started under ``nohup``
(SIGHUP ignored) keeps running. Output that cannot be written (a closed pipe, a full disk) is
dropped; it never keeps a signal from stopping the runner.

Exit codes: 0 stopped cleanly; 1 a stop was not confirmed or came too late (fired), or every
target ended (fired or refused), or a hang-up left them to fire; 2 bad input (more targets than
the rate budget can keep alive, too); 3 no usable OS keyring; 4 another process on this
computer (the window, another runner) already beats one of the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from gui.core.arm_request import check_arm_request
from gui.core.armed import ArmedRecorder, Verdict, reconcile_at_start
from gui.core.client import GateClient
from gui.core.errors import GateError, InvalidInputError
from gui.core.heartbeat import (
    DEFAULT_TIMEOUT_S,
    Engine,
    EngineEvent,
    EventKind,
    State,
)
from gui.core.journal import Journal, JournalError
from gui.core.keys import KeyringUnavailable, KeysError, KeyStore, ProfileStore
from gui.core.orders import fetch_open_orders
from gui.core.owners import OwnedElsewhere, Owners
from gui.core.phrases import counted, seconds_text
from gui.core.settings import SettingsStore
from gui.core.targets import Target, TargetError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NO_KEYRING = 3
EXIT_OWNED = 4
# How long a stop waits for the sweep that clears late beats (Gate's 60 s signature window).
SWEEP_WAIT_S = 75.0


def add_run_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser(
        "run", help="keep countdowns alive without the window (a server, a terminal)",
        description="Arm the targets and keep their countdowns alive until SIGINT or SIGTERM, "
                    "which disarm every target before exiting.",
        epilog="Targets: spot:BTC_USDT, spot:all, options:BTC_USDT (an underlying), "
               "options:BTC_USDT-20241001-46000-C (a contract), options:all, "
               "futures:usdt:BTC_USDT, futures:usdt:all, futures:btc:BTC_USD, futures:btc:all "
               "(futures: cancels open orders; positions stay open). Exit codes: 0 "
               "stopped cleanly, 1 a stop was not confirmed or came too late (fired) or "
               "every target ended, 2 bad input, 3 no usable OS keyring, 4 another process "
               "on this computer already beats one of the targets.")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--profile", metavar="NAME", help="the profile whose key to use")
    source.add_argument("--demo", action="store_true",
                        help="run against the built-in simulator with demo keys")
    run.add_argument("--target", "-t", metavar="T", action="append", required=True,
                     dest="targets", help="a scope to protect (repeat for more)")
    run.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_S, metavar="S",
                     help="countdown length in seconds (at least 5; default 60)")
    run.add_argument("--interval", type=float, default=None, metavar="S",
                     help="seconds between beats (default timeout/4; must be below timeout)")


class _Printer:
    """The runner's terminal output. A failed write never reaches the engine or the stop:
    a closed pipe (``| head -1``, a closed terminal) ends the output quietly, and any other
    failure (a full disk) drops that line and tries the next one."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.closed = False

    def line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.write(f"{stamp} {text}")

    def write(self, text: str) -> None:
        if self.closed:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:
            self.closed = True
            _silence(self.out)
        except (OSError, ValueError):  # a full disk; a stream closed under us
            pass

    def event(self, engine: Engine, event: EngineEvent) -> None:
        status = event.status
        name = str(event.target) if event.target else "-"
        if event.kind is EventKind.BEAT_OK and status is not None:
            left = status.time_left(engine.clock.monotonic())
            latency = (status.last_latency or 0.0) * 1000
            self.line(f"{name:<36} beat ok {left or 0.0:7.1f} s left "
                      f"(±{status.uncertainty * 1000:.0f} ms)  latency {latency:.0f} ms")
        elif event.kind in (EventKind.BEAT_FAILED, EventKind.FIRED, EventKind.ERROR,
                            EventKind.DISARM_FAILED, EventKind.DISARMED, EventKind.STOPPING,
                            EventKind.TIME_SHORT, EventKind.WARNING, EventKind.CLOCK,
                            EventKind.OVERDUE,
                            EventKind.ARMING):
            label = {EventKind.FIRED: "FIRED", EventKind.ERROR: "ERROR",
                     EventKind.DISARM_FAILED: "NOT STOPPED"}.get(event.kind, "")
            # An ERROR's message already holds its reason; a firing's says only when.
            reason = f" {status.reason}" if status is not None and status.reason and \
                event.kind is EventKind.FIRED else ""
            self.line(f"{label + ' ' if label else ''}{event.message}{reason}")


def _silence(stream: TextIO) -> None:
    """Point ``stream``'s descriptor at the null device: its reader is gone, and Python's own
    flush at exit would otherwise complain about the broken pipe."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


@contextlib.contextmanager
def _demo_exchange() -> Iterator[tuple[str, str, str]]:
    from gui.simulator import DEMO_KEY, DEMO_SECRET, Simulator

    with Simulator(keys={DEMO_KEY: DEMO_SECRET}, demo=True) as sim:
        yield sim.base_url, DEMO_KEY, DEMO_SECRET


def run_command(args: argparse.Namespace, *, stdout: TextIO | None = None,
                stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        request = check_arm_request(args.targets, args.timeout, args.interval)
    except (TargetError, InvalidInputError) as exc:
        print(f"gate-killswitch run: {exc}", file=err)
        return EXIT_BAD_INPUT
    targets, interval = request.targets, request.interval
    try:
        Journal().check()
    except JournalError as exc:
        print(f"gate-killswitch run: {exc}", file=err)
        return EXIT_BAD_INPUT
    for note in request.notes():
        print(note, file=err)
    with contextlib.ExitStack() as stack:
        if args.demo:
            base_url, key, secret = stack.enter_context(_demo_exchange())
            _Printer(out).write(f"DEMO: simulated exchange at {base_url}; no real orders.")
        else:
            try:
                profiles = ProfileStore(SettingsStore(), KeyStore())
                profile = profiles.profile(args.profile)
                creds = profiles.credentials(args.profile)
            except KeyringUnavailable as exc:
                print(f"gate-killswitch run: {exc}", file=err)
                return EXIT_NO_KEYRING
            except KeysError as exc:
                print(f"gate-killswitch run: {exc}", file=err)
                return EXIT_BAD_INPUT
            base_url, key, secret = profile.base_url, creds.key, creds.secret
            # One owner per countdown on this computer; the demo's exchange is our own.
            owners = Owners(args.profile, "the runner (gate-killswitch run --profile "
                                          f"{args.profile})")
            try:
                owners.claim(targets)
            except (OwnedElsewhere, OSError) as exc:
                print(f"gate-killswitch run: {exc}", file=err)
                return EXIT_OWNED
            stack.callback(owners.release_all)
        client = GateClient(base_url, key, secret)
        stack.callback(client.close)
        # The demo's exchange ends with this process: nothing it arms can outlive it.
        recorder = None if args.demo else ArmedRecorder(args.profile, base_url)
        return asyncio.run(_run(client, targets, args.timeout, interval, out, err, recorder))
    return EXIT_FAILED  # pragma: no cover (the with block returns)


async def _run(client: GateClient, targets: list[Target], timeout: int, interval: float,
               out: TextIO, err: TextIO, recorder: ArmedRecorder | None = None) -> int:
    journal = Journal()
    journal.set_context(profile=recorder.profile if recorder else "demo")
    engine = Engine(client, journal=journal, recorder=recorder)
    printer = _Printer(out)
    complain = _Printer(err)
    journal.write("start", front_end="runner", targets=[str(t) for t in targets],
                  timeout=timeout, interval=interval, message="the runner started")
    left = await _reconcile(client, recorder, targets, printer, journal) if recorder else {}
    engine.subscribe(lambda e: printer.event(engine, e))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals_seen = 0
    hung_up = False

    def on_signal(signum: int) -> None:
        nonlocal signals_seen, hung_up
        # The stop first: whatever happens to the output below, the runner stops.
        stop.set()
        signals_seen += 1
        if signals_seen == 1:
            hung_up = signum == _SIGHUP
            if hung_up:
                armed = counted(len(engine.armed_targets), "target")
                printer.line("SIGHUP (the terminal closed): no more beats; the exchange fires "
                             f"{armed} when their countdowns run out.")
            else:
                printer.line(f"{signal.Signals(signum).name}: disarming "
                             f"{counted(len(engine.armed_targets), 'target')}…")
        elif not hung_up:
            printer.line("Second signal: exiting without waiting; the exchange's countdowns "
                         "may still be armed and will fire.")
            raise SystemExit(EXIT_FAILED)

    _install_signals(loop, on_signal)
    try:
        try:
            await loop.run_in_executor(None, client.sync_clock)
        except GateError as exc:
            printer.line(f"Could not read the exchange's clock yet ({exc}); arming anyway.")
        try:
            engine.arm(targets, timeout, interval, left=left)
        except InvalidInputError as exc:  # more than the rate budget can keep alive
            complain.write(f"gate-killswitch run: {exc}")
            return EXIT_BAD_INPUT
        printer.line(f"Armed {counted(len(targets), 'target')}: timeout {timeout} s, a beat "
                     f"every {seconds_text(interval)} s. Ctrl+C (SIGINT) or SIGTERM disarms "
                     "and exits.")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            if not engine.armed_targets and not stop.is_set():
                if engine.sweeping:
                    printer.line(_SWEEP_WAIT_TEXT)
                await engine.wait_sweeps(timeout=SWEEP_WAIT_S)
                if engine.armed_targets:
                    continue  # a beat answered late proved one never fired: it beats again
                ended = [s for s in engine.statuses() if s.state in (State.FIRED, State.ERROR)]
                names = ", ".join(str(s.target) for s in ended)
                complain.write(f"gate-killswitch run: nothing left to keep alive ({names}); "
                               "exiting.")
                return EXIT_FAILED
        if hung_up:
            _journal_hangup(journal, engine)
            return EXIT_FAILED
        results = await engine.disarm()
        failed = [t for t, ok in results.items() if not ok]
        fired = [t for t in results if (s := engine.status(t)) and s.state is State.FIRED]
        if engine.sweeping:
            printer.line(_SWEEP_WAIT_TEXT)
            await engine.wait_sweeps(timeout=SWEEP_WAIT_S)
        unconfirmed = [t for t in failed if t not in fired]
        if fired:
            complain.write("gate-killswitch run: FIRED before the stop was confirmed (the "
                           "exchange cancelled their orders): "
                           + ", ".join(str(t) for t in fired))
        if unconfirmed:
            complain.write("gate-killswitch run: the exchange did not confirm the stop of: "
                           + ", ".join(str(t) for t in unconfirmed))
        if failed or fired:
            return EXIT_FAILED
        printer.line(f"Disarmed {counted(len(results), 'target')}; the exchange confirmed each.")
        return EXIT_OK
    finally:
        await engine.shutdown(disarm=False)
        if recorder is not None and not await loop.run_in_executor(None, recorder.flush):
            printer.line("Could not finish writing what was left armed; `status` may be behind.")
        journal.write("exit", front_end="runner", message="the runner stopped")
        journal.close()


_SWEEP_WAIT_TEXT = ("A beat of unknown fate could still reach the exchange; clearing the "
                    "countdowns until it no longer can (at most about a minute)…")


def _journal_hangup(journal: Journal, engine: Engine) -> None:
    """What a hang-up leaves to fire, and when at the latest, in the journal."""
    left = [s for s in engine.statuses() if s.state.live]
    journal.write("hangup", targets=[str(s.target) for s in left],
                  trigger_time_ms={str(s.target): s.trigger_time_ms for s in left},
                  note="SIGHUP: beats stopped without a disarm; the exchange fires each "
                       "countdown (a beat still in flight may extend it by its timeout)")


_SIGHUP: int | None = getattr(signal, "SIGHUP", None)


async def _reconcile(client: GateClient, recorder: ArmedRecorder, targets: list[Target],
                     printer: _Printer, journal: Journal) -> dict[Target, int]:
    """Say what earlier runs of this profile left: live countdowns (resumed only when asked
    for) and ones that fired meanwhile, with their scopes' open orders now. Returns the trigger
    time each resumed one was left with (a first beat taken after it means it fired)."""
    found, problem = reconcile_at_start(recorder, set(targets), journal)
    if problem:
        printer.line(f"Cannot tell what an earlier run left armed: {problem}")
    fired = [r.target for r in found if r.verdict is Verdict.FIRED]
    orders: dict[Target, Any] = {}
    if fired:
        orders = await asyncio.get_running_loop().run_in_executor(
            None, fetch_open_orders, client, fired)
    for r in found:
        line = f"{r.entry.target}: {r.text()}"
        if r.verdict is Verdict.LIVE:
            line += ("; resuming it" if r.target in targets else
                     "; not resumed (not among --target): arm it to keep it alive")
        else:
            now = orders.get(r.target)
            line += (f"; {counted(len(now), 'open order')} in this scope now"
                     if isinstance(now, list) else f"; open orders unknown ({now})")
        printer.line(line)
    return {r.target: r.entry.trigger_time_ms for r in found
            if r.verdict is Verdict.LIVE and r.target in targets and r.entry.trigger_time_ms}



def _install_signals(loop: asyncio.AbstractEventLoop, handler: Callable[[int], None]) -> None:
    signums: list[int] = [signal.SIGINT, signal.SIGTERM]
    # A hang-up stops the beats (see the module docstring), unless the runner was started to
    # ignore it (nohup): that choice is the person's, and is kept.
    if _SIGHUP is not None and signal.getsignal(_SIGHUP) is not signal.SIG_IGN:
        signums.append(_SIGHUP)
    for signum in signums:
        try:
            loop.add_signal_handler(signum, handler, signum)
        except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
            signal.signal(signum, lambda s, _f: loop.call_soon_threadsafe(handler, s))
