"""Command line: the window by default, ``run`` for the headless runner, ``keys`` for profiles.

    gate-killswitch [--demo] [--profile NAME] [--arm T ...] [--timeout S] [--interval S]
                    [--autostart] [--self-test]
    gate-killswitch run (--profile NAME | --demo) --target T [--target T ...]
    gate-killswitch keys (set|list|delete|test) ...
    gate-killswitch status [--profile NAME] [--json] [--check]
    gate-killswitch selfcheck (--profile NAME | --demo) --target T [--price-orders] [--yes]
                              [--json]
"""

from __future__ import annotations

import argparse
import sys
import time

PROCESS_START = time.time()

#: the window's options that take a value: the word after one is never the command
_VALUED = ("--profile", "--arm", "--timeout", "--interval")


def wants_command(argv: list[str]) -> bool:
    """Whether ``argv`` may name a command (or asks for help): only then are the terminal
    front-ends (gui/cli: the engine, the client, the keyring) imported to parse it. The window
    alone, the usual start, shows its first paint without them. In doubt, True."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in _VALUED:
            skip = True
        elif token in ("-h", "--help", "--") or not token.startswith("-"):
            return True
    return False


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``commands=False`` leaves the commands' own options out (for
    an ``argv`` that names none: :func:`wants_command`), which parses such an argv the same."""
    from gui import __version__

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
    chosen = parser.add_subparsers(dest="command", metavar="COMMAND")
    if commands:
        from gui.cli.keys import add_keys_parser
        from gui.cli.runner import add_run_parser
        from gui.cli.selfcheck import add_selfcheck_parser
        from gui.cli.status import add_status_parser

        add_run_parser(chosen)
        add_keys_parser(chosen)
        add_status_parser(chosen)
        add_selfcheck_parser(chosen)
    return parser


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    parser = build_parser(commands=wants_command(given))
    args = parser.parse_args(given)
    from gui.core.logsetup import setup_logging

    if args.command == "keys":
        from gui.cli.keys import run_keys

        setup_logging(None)
        return run_keys(args)
    if args.command == "status":
        from gui.cli.status import run_status

        setup_logging(None)
        return run_status(args)
    from gui.core.journal import data_dir

    if args.command == "run":
        # The runner prints every engine event on stdout itself: once is enough.
        setup_logging(data_dir(), console_skips=("gui.core.heartbeat",))
    else:
        setup_logging(data_dir())
    if args.command == "run":
        from gui.cli.runner import run_command

        return run_command(args)
    if args.command == "selfcheck":
        from gui.cli.selfcheck import run_selfcheck

        return run_selfcheck(args)
    from gui.core.arm_request import check_arm_request
    from gui.core.errors import InvalidInputError
    from gui.core.targets import TargetError

    try:
        request = check_arm_request(args.arm, args.timeout, args.interval)
    except (TargetError, InvalidInputError) as exc:
        parser.error(str(exc))
    # Said here too: a window that arms at start may be behind others, or in the tray.
    for note in request.notes():
        print(f"gate-killswitch: {note}", file=sys.stderr)
    from gui.app import run_gui
    from gui.core.arm_request import ForwardedRequest
    from gui.options import GuiOptions

    # What a window already running is asked to do, should there be one (no secret in it).
    launch = ForwardedRequest(arm=[str(t) for t in request.targets], timeout=args.timeout,
                              interval=args.interval, profile=args.profile, demo=args.demo)
    return run_gui(GuiOptions(demo=args.demo, profile=args.profile, arm=request.targets,
                              timeout=args.timeout, interval=args.interval,
                              self_test=args.self_test, start_hidden=args.autostart,
                              process_start=PROCESS_START, launch=launch))


if __name__ == "__main__":
    sys.exit(main())
