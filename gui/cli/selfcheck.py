"""``gate-killswitch selfcheck``: watch Gate's countdown cancel one test order on your account.

The steps are :mod:`gui.core.selfcheck`'s. On a live profile the exact order is shown and
confirmed first (``--yes`` for scripts; without a terminal, ``--yes`` is required); the demo
and TestNet ask nothing. SIGINT or SIGTERM midway stops the watch and cleans up before
exiting: the test order is cancelled and the countdown ended.

Exit codes: 0 PASS with nothing left behind; 1 FAIL, an error, a stop, or anything left
behind; 2 bad input or a refusal (nothing was changed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from gui.core.client import GateClient
from gui.core.errors import GateError
from gui.core.journal import Journal, JournalError
from gui.core.keys import KeyringUnavailable, KeysError, KeyStore, ProfileStore
from gui.core.owners import OwnedElsewhere, Owners
from gui.core.selfcheck import Outcome, Refused, Report, SelfCheck, is_live
from gui.core.settings import SettingsStore
from gui.core.targets import Target, TargetError, parse_target

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_REFUSED = 2
PROG = "gate-killswitch selfcheck"


def add_selfcheck_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
                         ) -> None:
    check = subparsers.add_parser(
        "selfcheck", help="prove the countdown on your account with one test order",
        description="Place one post-only test order far from the market in the target's scope, "
                    "arm a 5-second countdown with no beat, and watch Gate cancel it. Refuses a "
                    "scope with open orders; leaves nothing behind in any outcome.",
        epilog="Exit codes: 0 PASS, 1 FAIL (or an error, a stop, something left behind), 2 bad "
               "input or a refusal (nothing was changed).")
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--profile", metavar="NAME", help="the profile whose key to use")
    source.add_argument("--demo", action="store_true",
                        help="run against the built-in simulator with demo keys")
    check.add_argument("--target", "-t", metavar="T", required=True,
                       help="the scope to check, e.g. spot:BTC_USDT, options:BTC_USDT, "
                            "futures:usdt:all")
    check.add_argument("--price-orders", action="store_true",
                       help="also place one price-triggered order and report whether the "
                            "countdown cancels it (spot and futures)")
    check.add_argument("--yes", action="store_true",
                       help="on a live account, place the order without asking")
    check.add_argument("--json", action="store_true",
                       help="print the result as one JSON object")


class _Out:
    """Progress for a person: stdout, or stderr when stdout carries the JSON."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def line(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(text, file=self.stream, flush=True)


def run_selfcheck(args: argparse.Namespace, *, stdout: TextIO | None = None,
                  stderr: TextIO | None = None, stdin: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    said = _Out(err if args.json else out)

    def refuse(message: str) -> int:
        if args.json:
            _Out(out).line(json.dumps({"outcome": "REFUSED", "target": args.target,
                                       "message": message}))
        _Out(err).line(f"{PROG}: {message}")
        return EXIT_REFUSED

    try:
        target = parse_target(args.target)
    except TargetError as exc:
        return refuse(str(exc))
    try:
        Journal().check()
    except JournalError as exc:
        return refuse(str(exc))
    with contextlib.ExitStack() as stack:
        if args.demo:
            base_url, key, secret = stack.enter_context(_demo_exchange())
            said.line(f"DEMO: simulated exchange at {base_url}; no real orders.")
        else:
            try:
                profiles = ProfileStore(SettingsStore(), KeyStore())
                profile = profiles.profile(args.profile)
                creds = profiles.credentials(args.profile)
            except (KeyringUnavailable, KeysError) as exc:
                return refuse(str(exc))
            base_url, key, secret = profile.base_url, creds.key, creds.secret
            # The window or a runner beating this very scope would re-arm it: no check then.
            owners = Owners(args.profile, f"the self-check ({PROG} --profile {args.profile})")
            try:
                owners.claim([target])
            except (OwnedElsewhere, OSError) as exc:
                return refuse(str(exc))
            stack.callback(owners.release_all)
        client = GateClient(base_url, key, secret)
        stack.callback(client.close)
        journal = Journal()
        stack.callback(journal.close)
        return confirm_and_run(client, target, args, journal,
                               live=not args.demo and is_live(base_url), stdout=out,
                               stderr=err, stdin=stdin or sys.stdin)
    return EXIT_FAIL  # pragma: no cover (the with block returns)


def confirm_and_run(client: GateClient, target: Target, args: argparse.Namespace,
                    journal: Journal, *, live: bool, stdout: TextIO, stderr: TextIO,
                    stdin: TextIO) -> int:
    """Plan, confirm on a live account, run, report; the exit code."""
    out, err = stdout, stderr
    said = _Out(err if args.json else out)
    stop = threading.Event()
    try:
        check = SelfCheck(client, target, price_orders=args.price_orders, journal=journal,
                          stop=stop, say=said.line)
        plan = check.prepare()
        said.line("The self-check will place this order:" if live else "Test order:")
        for line in plan.lines():
            said.line(f"  {line}")
        if live and not args.yes:
            answer = _ask(stdin, err)
            if answer is None:
                return _finish(Report(Outcome.REFUSED, target, plan=plan, message=(
                    "A live account needs a confirmation: run in a terminal, or add --yes. "
                    "Nothing was placed.")), args, out, err)
            if answer.strip().lower() not in ("y", "yes"):
                return _finish(Report(Outcome.REFUSED, target, plan=plan,
                                      message="Not confirmed; nothing was placed."),
                               args, out, err)
    except Refused as exc:
        return _finish(Report(Outcome.REFUSED, target, message=str(exc)), args, out, err)
    except GateError as exc:
        return _finish(Report(Outcome.ERROR, target, message=f"Nothing was placed: {exc}"),
                       args, out, err)
    except KeyboardInterrupt:
        # Before anything is placed, Ctrl+C simply ends it: nothing to clean up.
        return _finish(Report(Outcome.STOPPED, target, message="Stopped; nothing was placed."),
                       args, out, err)
    with _stop_on_signals(stop, said):
        report = check.run(plan)
    return _finish(report, args, out, err)


def _ask(stdin: TextIO, err: TextIO) -> str | None:
    """The person's answer, or None when nobody can answer (no terminal, end of input)."""
    if not stdin.isatty():
        return None
    try:
        print("Place this order on your live account? [y/N] ", end="", file=err, flush=True)
        return stdin.readline() or None
    except (OSError, ValueError):  # Ctrl+C is the caller's: a stop, not a missing answer
        return None


def _finish(report: Report, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.json:
        _Out(out).line(json.dumps(report.to_json()))
    else:
        stream = err if report.outcome is Outcome.REFUSED else out
        for line in report.lines():
            _Out(stream).line(line if report.outcome is not Outcome.REFUSED else f"{PROG}: {line}")
    return report.exit_code


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, said: _Out) -> Iterator[None]:
    """SIGINT and SIGTERM ask the check to stop and clean up; they never end it midway."""
    def handler(signum: int, _frame: object) -> None:
        if not stop.is_set():
            said.line(f"{signal.Signals(signum).name}: stopping; cancelling the test order and "
                      "ending the countdown…")
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def _demo_exchange() -> Iterator[tuple[str, str, str]]:
    from gui.simulator import DEMO_KEY, DEMO_SECRET, Simulator

    # No demo orders: the self-check refuses a scope with open orders.
    with Simulator(keys={DEMO_KEY: DEMO_SECRET}) as sim:
        yield sim.base_url, DEMO_KEY, DEMO_SECRET
