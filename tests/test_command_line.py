"""The window's start parses its options without loading the terminal commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gui.__main__ import build_parser, wants_command

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("argv", "named"), [
    ([], False),
    (["--demo", "--arm", "spot:BTC_USDT", "--timeout", "30", "--self-test"], False),
    (["--profile", "run"], False),  # a profile named like a command is still a profile
    (["--arm=spot:all", "--autostart"], False),
    (["run", "--demo", "--target", "spot:BTC_USDT"], True),
    (["--profile", "main", "keys", "list"], True),
    (["--help"], True),
    (["--prof", "main"], True),  # an abbreviation: in doubt, the whole command line
])
def test_only_a_command_line_naming_a_command_needs_the_commands(argv: list[str],
                                                                 named: bool) -> None:
    assert wants_command(argv) is named
    if not named and "--help" not in argv:
        # The short parser reads such a command line exactly as the whole one does.
        assert vars(build_parser(commands=False).parse_args(argv)) \
            == vars(build_parser().parse_args(argv))


def test_the_windows_options_load_no_terminal_front_end_keyring_or_requests() -> None:
    code = ("import json, sys\n"
            "from gui.__main__ import build_parser, wants_command\n"
            "argv = ['--demo', '--arm', 'spot:BTC_USDT']\n"
            "build_parser(commands=wants_command(argv)).parse_args(argv)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('gui.cli')\n"
            "    or m.split('.')[0] in ('keyring', 'requests'))))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []
