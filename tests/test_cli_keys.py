"""The ``keys`` commands: set, list, delete, test; exit codes; secrets never shown or written."""

from __future__ import annotations

import argparse
import getpass
import io
import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gui.cli import keys as cli_keys
from gui.cli.keys import add_keys_parser, run_keys
from gui.core.errors import AuthenticationError, NetworkError
from gui.core.keys import SERVICE, Credentials, KeyStore, ProfileStore
from gui.core.settings import Profile, Settings, SettingsStore
from gui.core.urls import LIVE_URL, TESTNET_URL
from tests.memkeyring import LockedKeyring, MemoryKeyring, PlaintextKeyring, no_backend

KEY = "4a7e0c9b2d5f8a1e3c6b9d0f2a4c6e8b"
SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0" + "a1b2c3d4e5f60718293a4b5c6d7e8f90"
KEY2 = "c" * 32
SECRET2 = "d" * 64


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gate-killswitch")
    add_keys_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    cfg: Path
    backend: Any
    factory_calls: list[tuple[str, Credentials]] = field(default_factory=list)

    @property
    def profiles(self) -> ProfileStore:
        return ProfileStore(SettingsStore(self.cfg), KeyStore(self.backend))

    def run(self, *argv: str, stdin: str | io.StringIO = "", client: Any = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        stream = io.StringIO(stdin) if isinstance(stdin, str) else stdin

        def factory(base_url: str, credentials: Credentials) -> Any:
            self.factory_calls.append((base_url, credentials))
            return client

        code = run_keys(parse("keys", *argv), profiles=self.profiles, stdin=stream,
                        stdout=out, stderr=err,
                        client_factory=factory if client is not None else None)
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(cfg: Path, memory: MemoryKeyring) -> Cli:
    return Cli(cfg, memory)


def assert_no_secrets(result: Result, *dirs: Path, secrets: tuple[str, ...] = (SECRET, SECRET2,
                                                                           KEY, KEY2)) -> None:
    for secret in secrets:
        assert secret not in result.out and secret not in result.err
        for directory in dirs:
            if directory.exists():
                for path in directory.rglob("*"):
                    if path.is_file():
                        assert secret.encode() not in path.read_bytes(), path


# -- set ------------------------------------------------------------------------------------------

def test_set_from_stdin_lines(cli: Cli, memory: MemoryKeyring, cfg: Path) -> None:
    result = cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n")
    assert result.code == 0, result.err
    assert result.out == (f"Saved profile main ({LIVE_URL}); key and secret are in the OS "
                          f"keyring ({MemoryKeyring.name}).\n")
    assert result.err == ""
    assert json.loads(memory.entries[(SERVICE, "main")]) == {"key": KEY, "secret": SECRET}
    assert SettingsStore(cfg).load().profiles["main"].base_url == LIVE_URL
    assert_no_secrets(result, cfg)


@pytest.mark.parametrize(("flags", "url"), [
    ((), LIVE_URL),
    (("--live",), LIVE_URL),
    (("--testnet",), TESTNET_URL),
    (("--base-url", "http://127.0.0.1:8123/api/v4/"), "http://127.0.0.1:8123/api/v4"),
])
def test_set_base_url_choices(cli: Cli, cfg: Path, flags: tuple[str, ...], url: str) -> None:
    result = cli.run("set", "p", *flags, stdin=f"{KEY}\r\n  {SECRET}  \n")
    assert result.code == 0, result.err
    assert f"({url})" in result.out
    assert SettingsStore(cfg).load().profiles["p"].base_url == url


def test_set_flags_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        parse("keys", "set", "p", "--live", "--testnet")


def test_set_replaces_a_profile(cli: Cli, memory: MemoryKeyring) -> None:
    assert cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n").code == 0
    result = cli.run("set", "main", "--testnet", stdin=f"{KEY2}\n{SECRET2}\n")
    assert result.code == 0
    assert KeyStore(memory).load("main") == Credentials(KEY2, SECRET2)


@pytest.mark.parametrize(("argv", "stdin", "words"), [
    (("set", "bad/name"), f"{KEY}\n{SECRET}\n", "profile name"),
    (("set", "main", "--base-url", "http://example.com/api/v4"), f"{KEY}\n{SECRET}\n",
     "plain http"),
    (("set", "main", "--base-url", "https://example.com/"), f"{KEY}\n{SECRET}\n", "/api/v4"),
    (("set", "main"), f"{KEY}\n", "two lines"),
    (("set", "main"), "", "two lines"),
    (("set", "main"), f"{KEY}\nshort\n", "5 characters"),
    (("set", "main"), f"{KEY}\n{SECRET[:30]} {SECRET[30:]}\n", "spaces"),
    (("set", "main"), f"{KEY}\n{SECRET[:30]}\x07{SECRET[30:]}\n", "printable ASCII"),
    (("set", "main"), f"{KEY}\n{KEY}\n", "same"),
])
def test_set_bad_input(cli: Cli, memory: MemoryKeyring, cfg: Path, argv: tuple[str, ...],
                       stdin: str, words: str) -> None:
    result = cli.run(*argv, stdin=stdin)
    assert result.code == 2
    assert words in result.err and result.err.startswith("error: ")
    assert result.out == ""
    assert memory.entries == {} and not cfg.exists()
    assert_no_secrets(result, cfg, secrets=(SECRET, KEY, SECRET[:30], SECRET[30:]))


def test_set_checks_url_before_reading_keys(cli: Cli) -> None:
    stdin = io.StringIO(f"{KEY}\n{SECRET}\n")
    assert cli.run("set", "main", "--base-url", "ftp://x/api/v4", stdin=stdin).code == 2
    assert stdin.tell() == 0  # nobody was asked to type a key for a profile that cannot be saved


@pytest.mark.parametrize(("backend", "words"), [
    (no_backend, "GNOME Keyring"),
    (PlaintextKeyring, "plain file"),
    (LockedKeyring, "unlock your keyring"),
])
def test_set_without_usable_keyring(cfg: Path, backend: Any, words: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")  # the fix named is the Linux one
    kr = backend()
    result = Cli(cfg, kr).run("set", "main", stdin=f"{KEY}\n{SECRET}\n")
    assert result.code == 3
    assert words in result.err and "Nothing was changed" in result.err
    assert "apt install gnome-keyring" in result.err
    assert result.out == ""
    assert not cfg.exists()
    if isinstance(kr, MemoryKeyring):
        assert kr.entries == {}
    assert_no_secrets(result, cfg)


def test_set_when_settings_cannot_be_written(cli: Cli, memory: MemoryKeyring, cfg: Path) -> None:
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("a file where the config directory should be")
    result = cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n")
    assert result.code == 1
    assert "not saved" in result.err
    assert memory.entries == {}  # the keyring write was undone
    assert_no_secrets(result, cfg.parent)


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_set_from_terminal_uses_getpass(cli: Cli, memory: MemoryKeyring,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []
    answers = iter([KEY, SECRET])

    def fake_getpass(prompt: str = "", stream: Any = None) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(cli_keys.getpass, "getpass", fake_getpass)
    result = cli.run("set", "main", stdin=FakeTty("must not be read\n"))
    assert result.code == 0, result.err
    assert len(prompts) == 2 and "key" in prompts[0].lower() and "secret" in prompts[1].lower()
    assert KeyStore(memory).load("main") == Credentials(KEY, SECRET)
    assert_no_secrets(result)


def test_set_from_terminal_cancelled(cli: Cli, memory: MemoryKeyring,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def cancelled(prompt: str = "", stream: Any = None) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_keys.getpass, "getpass", cancelled)
    result = cli.run("set", "main", stdin=FakeTty())
    assert result.code == 2 and "nothing was saved" in result.err
    assert memory.entries == {}


def test_set_refuses_a_terminal_that_would_echo(cli: Cli, memory: MemoryKeyring,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []

    def echoing_getpass(prompt: str = "", stream: Any = None) -> str:
        # What getpass does where it cannot turn echo off: warn, then read with echo.
        warnings.warn("Can not control echo on the terminal.", getpass.GetPassWarning,
                      stacklevel=2)
        read.append(prompt)
        return KEY

    monkeypatch.setattr(cli_keys.getpass, "getpass", echoing_getpass)
    result = cli.run("set", "main", stdin=FakeTty())
    assert result.code == 2 and "cannot hide" in result.err
    assert read == [] and memory.entries == {}


# -- list and delete ------------------------------------------------------------------------------

def test_list(cli: Cli, memory: MemoryKeyring, cfg: Path) -> None:
    empty = cli.run("list")
    assert empty.code == 0 and "No profiles" in empty.out
    assert cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n").code == 0
    assert cli.run("set", "test net", "--testnet", stdin=f"{KEY2}\n{SECRET2}\n").code == 0
    del memory.entries[(SERVICE, "test net")]
    result = cli.run("list")
    assert result.code == 0
    rows = [line.split() for line in result.out.splitlines()]
    assert rows[0] == ["NAME", "BASE", "URL", "KEYS", "DEFAULT"]
    # The first profile saved is the one the window opens without --profile.
    assert rows[1] == ["main", LIVE_URL, "stored", "yes"]
    assert rows[2] == ["test", "net", TESTNET_URL, "missing"]
    assert result.err == ""
    assert_no_secrets(result, cfg)


def test_list_with_locked_keyring_lists_from_the_settings(cfg: Path) -> None:
    SettingsStore(cfg).save(Settings(profiles={"main": Profile("main", LIVE_URL),
                                               "test": Profile("test", TESTNET_URL)},
                                     last_profile="test"))
    before = (cfg / "settings.json").read_bytes()
    result = Cli(cfg, LockedKeyring()).run("list")
    # Listing worked: 0. Only "are the keys stored" needed the keyring, and says so.
    assert result.code == 0, result.err
    rows = [line.split() for line in result.out.splitlines()]
    assert rows == [["NAME", "BASE", "URL", "KEYS", "DEFAULT"], ["main", LIVE_URL, "unknown"],
                    ["test", TESTNET_URL, "unknown", "yes"]]
    assert result.err.count("unlock your keyring") == 1
    assert "could not be checked" in result.err
    assert (cfg / "settings.json").read_bytes() == before


def test_delete(cli: Cli, memory: MemoryKeyring, cfg: Path) -> None:
    assert cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n").code == 0
    result = cli.run("delete", "main")
    assert result.code == 0 and "Deleted profile main" in result.out
    assert memory.entries == {}
    assert SettingsStore(cfg).load().profiles == {}
    again = cli.run("delete", "main")
    assert again.code == 2 and "no profile named 'main'" in again.err


def test_delete_with_locked_keyring_changes_nothing(cli: Cli, cfg: Path) -> None:
    assert cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n").code == 0
    before = (cfg / "settings.json").read_bytes()
    result = Cli(cfg, LockedKeyring()).run("delete", "main")
    assert result.code == 3
    assert (cfg / "settings.json").read_bytes() == before


# -- test -----------------------------------------------------------------------------------------

@dataclass
class FakeCheck:
    spot: str
    options: str
    details: dict[str, str] = field(default_factory=dict)


class FakeClient:
    def __init__(self, check: FakeCheck | None = None, error: Exception | None = None) -> None:
        self.check = check
        self.error = error
        self.timeouts: list[float] = []
        self.closed = False

    def check_key(self, timeout: float = 10.0) -> FakeCheck:
        self.timeouts.append(timeout)
        if self.error is not None:
            raise self.error
        assert self.check is not None
        return self.check

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(("spot", "options", "code", "words"), [
    ("read-write", "read-write", 0, "armed for: spot, options"),
    ("read-write", "none", 0, "armed for: spot."),
    ("read-only", "unknown", 0, "read-only"),
    ("none", "none", 1, "neither"),
    ("unknown", "none", 1, "neither"),
])
def test_test_command(cli: Cli, cfg: Path, spot: str, options: str, code: int,
                      words: str) -> None:
    assert cli.run("set", "main", "--testnet", stdin=f"{KEY}\n{SECRET}\n").code == 0
    client = FakeClient(FakeCheck(spot, options, {"spot": "can read and write"}))
    result = cli.run("test", "main", "--timeout", "4", client=client)
    assert result.code == code, result.err
    assert words in result.out
    assert f"spot         {spot} (can read and write)" in result.out
    assert f"options      {options}" in result.out
    # A check that says nothing of futures (an older client) shows them as unknown.
    assert "futures usdt unknown" in result.out
    assert cli.factory_calls == [(TESTNET_URL, Credentials(KEY, SECRET))]
    assert client.timeouts == [4.0] and client.closed
    assert_no_secrets(result, cfg)


def test_test_command_gate_error(cli: Cli, cfg: Path) -> None:
    assert cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n").code == 0
    error = AuthenticationError("invalid key provided", label="INVALID_KEY", status=401)
    client = FakeClient(error=error)
    result = cli.run("test", "main", client=client)
    assert result.code == 1
    assert str(error) in result.err and client.closed
    assert_no_secrets(result, cfg)


def test_test_command_masks_a_secret_in_an_error(cli: Cli) -> None:
    assert cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n").code == 0
    client = FakeClient(error=NetworkError(f"proxy said: bad header {SECRET}"))
    result = cli.run("test", "main", client=client)
    assert result.code == 1 and "***" in result.err
    assert_no_secrets(result)


def test_test_unknown_profile_and_missing_keys(cli: Cli, memory: MemoryKeyring) -> None:
    client = FakeClient(FakeCheck("read-write", "read-write"))
    unknown = cli.run("test", "nope", client=client)
    assert unknown.code == 2 and "no profile named 'nope'" in unknown.err
    assert cli.run("set", "main", stdin=f"{KEY}\n{SECRET}\n").code == 0
    memory.entries.clear()
    missing = cli.run("test", "main", client=client)
    assert missing.code == 1 and "keys set main" in missing.err
    assert cli.factory_calls == []


def test_test_against_the_simulator(cli: Cli, cfg: Path, sim: Any) -> None:
    from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET

    def run(*argv: str, stdin: str = "") -> Result:
        # The real client this time: the default factory.
        out, err = io.StringIO(), io.StringIO()
        code = run_keys(parse("keys", *argv), profiles=cli.profiles, stdin=io.StringIO(stdin),
                        stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    secrets = (TEST_SECRET, RO_SECRET, TEST_KEY, RO_KEY)
    url = sim.base_url
    assert run("set", "rw", "--base-url", url, stdin=f"{TEST_KEY}\n{TEST_SECRET}\n").code == 0
    assert run("set", "ro", "--base-url", url, stdin=f"{RO_KEY}\n{RO_SECRET}\n").code == 0
    assert run("set", "bad", "--base-url", url, stdin=f"{KEY}\n{SECRET}\n").code == 0
    rw = run("test", "rw")
    assert rw.code == 0 and "spot         read-write" in rw.out
    assert "futures usdt read-write" in rw.out and "futures btc  read-write" in rw.out
    ro = run("test", "ro")
    assert ro.code == 0 and "read-only" in ro.out
    bad = run("test", "bad")
    assert bad.code == 1 and "INVALID_KEY" in bad.err
    for result in (rw, ro, bad):
        assert_no_secrets(result, cfg, secrets=(*secrets, KEY, SECRET))


# -- without a keyring, as a person runs it -------------------------------------------------------

def test_the_commands_without_a_keyring_in_a_subprocess(tmp_path: Path) -> None:
    """The real command line with keyring's own "no backend": list works from the settings
    (exit 0, said once); set, test and delete need the keyring (exit 3, nothing changed)."""
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATE_KILLSWITCH") and k != "PYTHON_KEYRING_BACKEND"}
    env.update(PYTHONPATH=str(root), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        env[f"GATE_KILLSWITCH_{name}_DIR"] = str(tmp_path / name.lower())
    config = tmp_path / "config"
    SettingsStore(config).save(Settings(profiles={"main": Profile("main", LIVE_URL),
                                                  "sim": Profile("sim", TESTNET_URL)},
                                        last_profile="sim"))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def gk(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gui", "keys", *argv], env=env, cwd=root,
                              input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)

    listed = gk("list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["NAME", "BASE", "URL", "KEYS", "DEFAULT"], ["main", LIVE_URL, "unknown"],
        ["sim", TESTNET_URL, "unknown", "yes"]]
    assert listed.stderr.count("No usable OS keyring") == 1
    assert "could not be checked" in listed.stderr
    for argv, stdin in ((("set", "main", "--live"), f"{KEY}\n{SECRET}\n"), (("test", "sim"), ""),
                        (("delete", "main"), "")):
        done = gk(*argv, stdin=stdin)
        assert done.returncode == 3, (argv, done.stderr)
        assert done.stderr.count("No usable OS keyring") == 1, argv
        assert "Nothing was changed" in done.stderr and done.stdout == ""
        assert "Traceback" not in done.stderr + listed.stderr
        assert KEY not in done.stderr and SECRET not in done.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


# -- the core stays headless and light ------------------------------------------------------------

def test_modules_import_without_qt_or_http() -> None:
    code = (
        "import sys\n"
        "import gui.cli.keys, gui.core.keys, gui.core.settings, gui.core.journal, "
        "gui.core.redact\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', "
        "'shiboken6', 'qasync', 'requests') or m == 'gui.core.client']\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
