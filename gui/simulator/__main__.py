"""Run the simulator standalone: ``python -m gui.simulator --port 0 --key K --secret S``.

The first line on stdout is the base URL (``http://127.0.0.1:PORT/api/v4``), so a script or a
test can start it with port 0 and read where it listens. It serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from gui.simulator.demo import DEMO_KEY, DEMO_SECRET
from gui.simulator.server import Simulator

EXIT_BAD_ARGS = 2


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535 (0 = any free port): {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gui.simulator",
        description="A Gate APIv4-compatible exchange on loopback, for demos and tests. "
                    "Prints its base URL as the first line on stdout.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on "
                        "(default 127.0.0.1; the control API answers loopback clients only)")
    parser.add_argument("--port", type=_port, default=0, help="port; 0 picks a free one")
    parser.add_argument("--key", help="API key with read-write access to spot, options and "
                        "futures")
    parser.add_argument("--secret", help="secret of --key")
    parser.add_argument("--read-only-key", help="an extra API key that may only read")
    parser.add_argument("--read-only-secret", help="secret of --read-only-key")
    parser.add_argument("--demo", action="store_true",
                        help=f"start with open demo orders; without --key, use the demo key "
                             f"{DEMO_KEY} / {DEMO_SECRET}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    key, secret = args.key, args.secret
    if (key is None) != (secret is None):
        parser.error("--key and --secret go together")
    if key is None:
        if not args.demo:
            parser.error("give --key and --secret, or --demo to use the demo key")
        key, secret = DEMO_KEY, DEMO_SECRET
    if (args.read_only_key is None) != (args.read_only_secret is None):
        parser.error("--read-only-key and --read-only-secret go together")
    if args.read_only_key is not None and args.read_only_key == key:
        parser.error("--read-only-key must differ from --key")
    read_only = ({} if args.read_only_key is None
                 else {args.read_only_key: args.read_only_secret})

    simulator = Simulator(keys={key: secret}, read_only_keys=read_only, demo=args.demo,
                          host=args.host, port=args.port)
    try:
        simulator.start()
    except OSError as exc:
        print(f"python -m gui.simulator: cannot listen on {args.host}:{args.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_ARGS

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        print(simulator.base_url, flush=True)
        print(f"control API: {simulator.control_url}/state; key {key}"
              f"{' (demo)' if key == DEMO_KEY else ''}; stop with Ctrl+C",
              file=sys.stderr, flush=True)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop_requested.wait(0.5):
            pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
