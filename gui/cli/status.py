"""``gate-killswitch status [--profile NAME] [--json] [--check]``: what this computer left armed.

Read from the state files (gui/core/armed.py) with no network: per profile and target, live
(time left and trigger time), fired (when) or disarmed. ``--check`` also lists the open orders
in each live scope, which needs the profile's key and the network.

Exit codes: 0 nothing is live; 1 something is (or may be); 2 bad input or an unreadable state
file; 3 no usable OS keyring (``--check`` only).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from gui.core.armed import (
    ArmedError,
    Reconciled,
    Verdict,
    load,
    profiles_with_files,
    reconcile,
)
from gui.core.clock import clock_text
from gui.core.phrases import counted, format_left
from gui.core.settings import is_valid_profile_name

EXIT_NOTHING_LIVE = 0
EXIT_LIVE = 1
EXIT_BAD_INPUT = 2
EXIT_NO_KEYRING = 3


def add_status_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = subparsers.add_parser(
        "status", help="what this computer left armed (no network needed)",
        description="Say, per profile and target, whether a countdown this computer armed may "
                    "still be running on the exchange (live), ran out (fired) or was stopped "
                    "(disarmed). Read from the state file; no network needed.",
        epilog="Exit codes: 0 nothing is live, 1 something is (or may be), 2 bad input or an "
               "unreadable state file, 3 no usable OS keyring (--check).")
    status.add_argument("--profile", metavar="NAME", help="only this profile")
    status.add_argument("--json", action="store_true", help="print JSON, one object")
    status.add_argument("--check", action="store_true",
                        help="also list the open orders in each live scope (uses the network)")


def _open_orders(profile: str, found: list[Reconciled]) -> dict[str, Any]:
    """Target text -> list of order dicts, or an error text. Raises KeyringUnavailable."""
    from gui.core.client import GateClient
    from gui.core.errors import GateError
    from gui.core.keys import KeyringUnavailable, KeysError, KeyStore, ProfileStore
    from gui.core.orders import fetch_open_orders
    from gui.core.settings import SettingsStore

    targets = [r.target for r in found]
    out: dict[str, Any] = {}
    try:
        profiles = ProfileStore(SettingsStore(), KeyStore())
        base = profiles.profile(profile).base_url
        creds = profiles.credentials(profile)
    except KeyringUnavailable:
        raise
    except KeysError as exc:
        return {t.text: f"cannot check: {exc}" for t in targets}
    client = GateClient(base, creds.key, creds.secret)
    try:
        for target, orders in fetch_open_orders(client, targets).items():
            if isinstance(orders, GateError):
                out[target.text] = f"cannot check: {orders}"
            else:
                out[target.text] = [{"market": o.market, "id": o.id, "side": o.side,
                                     "amount": o.amount, "price": o.price, "left": o.left}
                                    for o in orders]
    finally:
        client.close()
    return out


def describe(found: Reconciled) -> str:
    """One line for a terminal."""
    entry = found.entry
    if found.verdict is Verdict.LIVE:
        left = f"{format_left(found.seconds_left)} left" if found.seconds_left is not None else ""
        latest = " at the latest" if found.at_the_latest else ""
        return (f"LIVE      {entry.target:<36} the exchange cancels at "
                f"{clock_text(found.when_ms)}{latest} ({left}; timeout {entry.timeout} s)")
    if found.verdict is Verdict.FIRED:
        return (f"FIRED     {entry.target:<36} at {clock_text(found.when_ms)}"
                f"{' at the latest' if found.at_the_latest else ''}: the exchange cancelled "
                "its orders")
    return f"disarmed  {entry.target:<36} the exchange confirmed the stop"


def run_status(args: argparse.Namespace, *, stdout: TextIO | None = None,
               stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if args.profile is not None and not is_valid_profile_name(args.profile):
        print(f"gate-killswitch status: not a profile name: {args.profile!r}", file=err)
        return EXIT_BAD_INPUT
    names = [args.profile] if args.profile is not None else profiles_with_files()
    report: dict[str, list[Reconciled]] = {}
    for name in names:
        try:
            record = load(name)
        except ArmedError as exc:
            print(f"gate-killswitch status: {exc}", file=err)
            return EXIT_BAD_INPUT
        report[name] = reconcile(record) if record is not None else []
    orders: dict[str, dict[str, Any]] = {}
    if args.check:
        from gui.core.keys import KeyringUnavailable

        for name, found in report.items():
            live = [r for r in found if r.verdict is Verdict.LIVE]
            if not live:
                continue
            try:
                orders[name] = _open_orders(name, live)
            except KeyringUnavailable as exc:
                print(f"gate-killswitch status: {exc}", file=err)
                return EXIT_NO_KEYRING
    any_live = any(r.verdict is Verdict.LIVE for found in report.values() for r in found)
    if args.json:
        body = {"live": any_live, "profiles": {
            name: [dict(r.as_json(), **({"open_orders": orders[name].get(r.entry.target)}
                                         if name in orders and r.verdict is Verdict.LIVE
                                         else {}))
                   for r in found]
            for name, found in report.items()}}
        print(json.dumps(body, indent=1, sort_keys=True), file=out)
    else:
        if not any(report.values()):
            print("Nothing this computer armed is on record"
                  + (f" for profile {args.profile}." if args.profile else "."), file=out)
        for name, found in report.items():
            if not found:
                continue
            print(f"Profile {name}:", file=out)
            for r in found:
                print("  " + describe(r), file=out)
                listed = orders.get(name, {}).get(r.entry.target)
                if isinstance(listed, str):
                    print(f"            {listed}", file=out)
                elif isinstance(listed, list):
                    print(f"            {counted(len(listed), 'open order')} in this scope now",
                          file=out)
                    for o in listed:
                        print(f"            {o['market']} {o['side']} {o['left']} @ "
                              f"{o['price']} (id {o['id']})", file=out)
    return EXIT_LIVE if any_live else EXIT_NOTHING_LIVE
