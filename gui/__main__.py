"""Command line: the window by default, ``run`` for the headless runner, ``keys`` for profiles.

    gate-killswitch [--demo] [--profile NAME] [--arm T ...] [--timeout S] [--interval S]
                    [--autostart] [--self-test]
    gate-killswitch run (--profile NAME | --demo) --target T [--target T ...]
    gate-killswitch keys (set|list|delete|test) ...
"""

from __future__ import annotations

import argparse
import sys
import time

PROCESS_START = time.time()


def build_parser() -> argparse.ArgumentParser:
    from gui import __version__
    from gui.cli.keys import add_keys_parser
    from gui.cli.runner import add_run_parser

    parser = argparse.ArgumentParser(
        prog="gate-killswitch",
        description="Keeps Gate's server-side dead man's switch (countdown_cancel_all) alive "
                    "for the spot pairs and options you choose.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--demo", action="store_true",
                        help="run against the built-in simulated exchange (no account needed)")
    parser.add_argument("--profile", metavar="NAME", help="use this profile's key")
    parser.add_argument("--arm", metavar="TARGET", action="append", default=[],
                        help="start armed on this target (repeatable), e.g. spot:BTC_USDT")
    parser.add_argument("--timeout", type=int, default=None, metavar="S",
                        help="countdown length in seconds for --arm (default 60)")
    parser.add_argument("--interval", type=float, default=None, metavar="S",
                        help="seconds between beats for --arm (default timeout/4)")
    parser.add_argument("--autostart", action="store_true",
                        help="started at login: begin disarmed, in the tray if there is one")
    parser.add_argument("--self-test", action="store_true",
                        help="show the window, print startup figures as JSON, and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_run_parser(commands)
    add_keys_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from gui.core.logsetup import setup_logging

    if args.command == "keys":
        from gui.cli.keys import run_keys

        setup_logging(None)
        return run_keys(args)
    from gui.core.journal import data_dir

    setup_logging(data_dir())
    if args.command == "run":
        from gui.cli.runner import run_command

        return run_command(args)
    from gui.core.errors import InvalidInputError
    from gui.core.heartbeat import check_interval
    from gui.core.targets import TargetError, parse_target

    try:
        arm = [parse_target(t) for t in args.arm]
        if args.timeout is not None or args.interval is not None:
            check_interval(args.timeout or 60, args.interval)
    except (TargetError, InvalidInputError) as exc:
        parser.error(str(exc))
    from gui.app import run_gui
    from gui.controller import GuiOptions

    return run_gui(GuiOptions(demo=args.demo, profile=args.profile, arm=arm,
                              timeout=args.timeout, interval=args.interval,
                              self_test=args.self_test, start_hidden=args.autostart,
                              process_start=PROCESS_START))


if __name__ == "__main__":
    sys.exit(main())
