"""The ``keys`` commands: profiles and their API keys from the command line.

    gate-killswitch keys set NAME [--base-url URL | --live | --testnet]
    gate-killswitch keys list
    gate-killswitch keys delete NAME
    gate-killswitch keys test NAME

Exit codes: 0 done; 1 the key check failed (or the profile has no keys); 2 bad input (nothing
written); 3 no usable OS keyring (nothing written anywhere). ``list`` needs no keyring: the names
and URLs are in the settings file, so without one it still lists them, says once that whether
their keys are stored could not be checked, and exits 0; ``set``, ``delete`` and ``test`` need
the keyring and exit 3 without it.

``keys set`` reads the key and the secret without echo from a terminal, or as two lines from
standard input otherwise (``printf '%s\\n%s\\n' "$KEY" "$SECRET" | gate-killswitch keys set
main``); never from the command line, where they would land in the shell history and in
``ps`` output.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import warnings
from collections.abc import Callable
from typing import Any, TextIO

from gui.core.keys import (
    Credentials,
    InvalidCredentials,
    InvalidProfile,
    KeyringUnavailable,
    KeysError,
    MissingCredentials,
    ProfileSaveError,
    ProfileStore,
    UnknownProfile,
    validate_credentials,
    validate_profile_name,
)
from gui.core.redact import redact
from gui.core.urls import LIVE_URL, TESTNET_URL, BaseUrlError, validate_base_url

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_NO_KEYRING",
    "EXIT_OK",
    "add_keys_parser",
    "run_keys",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NO_KEYRING = 3

# What check_key reports per product (gui.core.client's constants, repeated so that importing
# this module does not import the HTTP client).
_READ_WRITE = "read-write"
_READ_ONLY = "read-only"

ClientFactory = Callable[[str, Credentials], Any]


def add_keys_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``keys`` command and its sub-commands to the main parser's ``subparsers``."""
    keys = subparsers.add_parser(
        "keys", help="manage profiles and their API keys (kept in the OS keyring)",
        description="Profiles: a name, the exchange's base URL, and an API key and secret kept "
                    "only in the OS keyring.",
        epilog="Exit codes: 0 done, 1 key check failed, 2 bad input, 3 no usable OS keyring "
               "(set, delete, test; nothing changed). 'list' needs no keyring: without one it "
               "lists the profiles from the settings, says their keys could not be checked, "
               "and exits 0.")
    commands = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)

    set_cmd = commands.add_parser(
        "set", help="create or replace a profile; reads the key and secret from the terminal",
        description="Create or replace a profile. The API key and secret are read without echo "
                    "from the terminal, or as two lines (key, then secret) from standard input "
                    "when it is not a terminal.")
    set_cmd.add_argument("name", metavar="NAME", help="profile name, e.g. main or testnet")
    where = set_cmd.add_mutually_exclusive_group()
    where.add_argument("--base-url", metavar="URL", dest="base_url",
                       help="a custom base URL ending in /api/v4 (a proxy, the simulator)")
    where.add_argument("--live", dest="base_url", action="store_const", const=LIVE_URL,
                       help=f"Gate live, {LIVE_URL} (the default)")
    where.add_argument("--testnet", dest="base_url", action="store_const", const=TESTNET_URL,
                       help=f"Gate TestNet, {TESTNET_URL} (needs TestNet keys)")

    commands.add_parser("list", help="list profiles and whether their keys are stored",
                        description="List profiles: name, base URL, whether a key pair is "
                                    "stored, and which is the default (the one the window "
                                    "opens without --profile). Never shows a key or secret. "
                                    "Without a usable keyring the keys show as unknown, a note "
                                    "on standard error says why, and the exit code is still 0.")

    delete_cmd = commands.add_parser("delete", help="delete a profile and its keys",
                                     description="Delete a profile and its keyring entry.")
    delete_cmd.add_argument("name", metavar="NAME")

    test_cmd = commands.add_parser(
        "test", help="check what the profile's key can reach",
        description="Ask the exchange what the profile's key can do for spot, options and "
                    "USDT and BTC futures. Exit 0 if it reaches at least one of them.")
    test_cmd.add_argument("name", metavar="NAME")
    test_cmd.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                          help="per-request timeout (default 10)")


def _default_profiles() -> ProfileStore:
    from gui.core.keys import KeyStore
    from gui.core.settings import SettingsStore

    return ProfileStore(SettingsStore(), KeyStore())


def _default_client(base_url: str, credentials: Credentials) -> Any:
    # Imported here: listing or deleting profiles must not need the HTTP stack.
    from gui.core.client import GateClient

    return GateClient(base_url, key=credentials.key, secret=credentials.secret)


class _Io:
    def __init__(self, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    def out(self, text: str) -> None:
        # Masked anyway: the net under the rule that nothing here formats a secret.
        print(redact(text), file=self.stdout)

    def err(self, text: str) -> None:
        print(redact(text), file=self.stderr)


def run_keys(args: argparse.Namespace, *, profiles: ProfileStore | None = None,
             stdin: TextIO | None = None, stdout: TextIO | None = None,
             stderr: TextIO | None = None,
             client_factory: ClientFactory | None = None) -> int:
    """Run the ``keys`` sub-command in ``args``; returns the exit code."""
    io = _Io(stdin if stdin is not None else sys.stdin,
             stdout if stdout is not None else sys.stdout,
             stderr if stderr is not None else sys.stderr)
    command = getattr(args, "keys_command", None)
    try:
        store = profiles if profiles is not None else _default_profiles()
        if command == "set":
            return _set(args, store, io)
        if command == "list":
            return _list(store, io)
        if command == "delete":
            return _delete(args, store, io)
        if command == "test":
            return _test(args, store, io, client_factory or _default_client)
    except KeyringUnavailable as exc:
        io.err(f"error: {exc}")
        io.err("Nothing was changed.")
        return EXIT_NO_KEYRING
    except (InvalidProfile, InvalidCredentials, UnknownProfile) as exc:
        io.err(f"error: {exc}")
        return EXIT_BAD_INPUT
    except KeysError as exc:
        io.err(f"error: {exc}")
        return EXIT_FAILED
    io.err(f"error: unknown keys command {command!r}; use set, list, delete or test.")
    return EXIT_BAD_INPUT


def _read_pair(io: _Io) -> tuple[str, str] | None:
    """Key and secret from the terminal (no echo) or two lines of standard input."""
    try:
        interactive = io.stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if interactive:
        # getpass talks to the terminal itself; the prompt goes to stderr so that stdout
        # carries only the result. Where it cannot turn echo off it warns and then reads with
        # echo: made an error here, before anything is read, so a secret is never shown.
        with warnings.catch_warnings():
            warnings.simplefilter("error", getpass.GetPassWarning)
            key = getpass.getpass("API key (input hidden): ", stream=io.stderr)
            secret = getpass.getpass("API secret (input hidden): ", stream=io.stderr)
        return key.strip(), secret.strip()
    key_line = io.stdin.readline()
    secret_line = io.stdin.readline()
    if not key_line.strip() or not secret_line.strip():
        return None
    # Keys contain no whitespace, so stripping cannot change a real one; it forgives a
    # trailing space or a CRLF line ending from a pasted file.
    return key_line.strip(), secret_line.strip()


def _set(args: argparse.Namespace, store: ProfileStore, io: _Io) -> int:
    name = args.name
    # Everything that can be checked is checked before the key is typed in.
    validate_profile_name(name)
    try:
        url = validate_base_url(args.base_url or LIVE_URL)
    except BaseUrlError as exc:
        io.err(f"error: {exc}")
        return EXIT_BAD_INPUT
    store.key_store.check_backend()

    try:
        pair = _read_pair(io)
    except (EOFError, KeyboardInterrupt):
        io.err("\nCancelled; nothing was saved.")
        return EXIT_BAD_INPUT
    except getpass.GetPassWarning:
        io.err("error: this terminal cannot hide what is typed. Pipe the key and the secret "
               "instead, one per line, on standard input. Nothing was saved.")
        return EXIT_BAD_INPUT
    if pair is None:
        io.err("error: expected two lines on standard input: the API key, then the secret. "
               "Nothing was saved.")
        return EXIT_BAD_INPUT
    key, secret = pair
    try:
        validate_credentials(key, secret)
    except InvalidCredentials as exc:
        io.err(f"error: {exc} Nothing was saved.")
        return EXIT_BAD_INPUT
    try:
        profile = store.set_profile(name, url, key, secret)
    except ProfileSaveError as exc:
        io.err(f"error: {exc}")
        return EXIT_FAILED
    io.out(f"Saved profile {profile.name} ({profile.base_url}); key and secret are in the OS "
           f"keyring ({store.key_store.backend_name}).")
    return EXIT_OK


_KEYS_WORD = {True: "stored", False: "missing", None: "unknown"}


def _list(store: ProfileStore, io: _Io) -> int:
    # Listing worked even when the keyring did not: exit 0, and the keyring's problem said
    # once, on stderr, so that a script reading stdout gets only the table.
    survey = store.survey()
    infos = survey.profiles
    if not infos:
        io.out("No profiles yet. Add one with: gate-killswitch keys set NAME")
    else:
        rows = [("NAME", "BASE URL", "KEYS", "DEFAULT")] + [
            (info.name, info.base_url, _KEYS_WORD[info.has_keys], "yes" if info.default else "")
            for info in infos]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for name, url, keys, default in rows:
            io.out(f"{name:<{widths[0]}}  {url:<{widths[1]}}  {keys:<{widths[2]}}  "
                   f"{default}".rstrip())
    if survey.keyring_problem is not None:
        io.err(f"note: {survey.keyring_problem}")
        io.err("The profiles are listed from the settings file; whether their keys are stored "
               "could not be checked, and keys set, test and delete need the keyring."
               if infos else "keys set, test and delete need the keyring.")
    return EXIT_OK


def _delete(args: argparse.Namespace, store: ProfileStore, io: _Io) -> int:
    store.delete_profile(args.name)
    io.out(f"Deleted profile {args.name} and its keys.")
    return EXIT_OK


def _test(args: argparse.Namespace, store: ProfileStore, io: _Io,
          client_factory: ClientFactory) -> int:
    from gui.core.errors import GateError

    profile = store.profile(args.name)
    try:
        credentials = store.credentials(profile.name)
    except MissingCredentials as exc:
        io.err(f"error: {exc}")
        return EXIT_FAILED
    timeout = float(getattr(args, "timeout", 10.0) or 10.0)
    client = None
    try:
        client = client_factory(profile.base_url, credentials)
        result = client.check_key(timeout=timeout)
    except GateError as exc:
        io.err(f"error: the key check for profile {profile.name} failed: {exc}")
        return EXIT_FAILED
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()

    details: dict[str, str] = dict(getattr(result, "details", {}) or {})
    access = {"spot": str(result.spot), "options": str(result.options),
              "futures usdt": str(getattr(result, "futures_usdt", "unknown")),
              "futures btc": str(getattr(result, "futures_btc", "unknown"))}
    io.out(f"Profile {profile.name} ({profile.base_url}):")
    for product, level in access.items():
        detail = details.get(product)
        io.out(f"  {product:<12} {level}" + (f" ({detail})" if detail else ""))
    reached = [p for p, level in access.items() if level in (_READ_WRITE, _READ_ONLY)]
    writable = [p for p, level in access.items() if level == _READ_WRITE]
    if not reached:
        io.out("The key reaches neither spot, options nor futures.")
        return EXIT_FAILED
    if writable:
        io.out(f"The countdown can be armed for: {', '.join(writable)}.")
    else:
        io.out("The key is read-only: arming a countdown needs read-write permission "
               "in Gate's API key settings.")
    return EXIT_OK
