"""Every field a person types refuses bad input with a message, and then nothing has changed.

Fields: targets (command line, settings, the window's "add by name"), the countdown timeout and
the beat interval (runner, window arguments, the window's fields), base URLs, API keys and
secrets, profile names. "Nothing changed" is checked by taking a snapshot of every file under
the test's config, data and cache directories and of the in-memory keyring before and after.
Messages never quote a key, a secret or a password back.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui.__main__ import build_parser
from gui.cli.keys import run_keys
from gui.cli.runner import run_command
from gui.core.errors import InvalidInputError
from gui.core.heartbeat import Engine, check_interval
from gui.core.keys import (
    InvalidCredentials,
    InvalidProfile,
    KeyStore,
    ProfileStore,
    validate_credentials,
)
from gui.core.redact import clear_secrets
from gui.core.settings import SettingsStore
from gui.core.targets import FORMS_HELP, TargetError, is_contract, is_pair, parse_target
from gui.core.urls import BaseUrlError, validate_base_url
from tests.memkeyring import MemoryKeyring

ROOT = Path(__file__).resolve().parent.parent
KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SECRET = "c0ffee00" * 8
GOOD_URL = "https://gate-proxy.example/api/v4"


# ---------------------------------------------------------------------------------------------
# "Nothing changed"
# ---------------------------------------------------------------------------------------------

State = tuple[dict[str, bytes], dict[tuple[str, str], str]]


def user_dirs() -> list[Path]:
    return [Path(os.environ[f"GATE_KILLSWITCH_{n}_DIR"]) for n in ("CONFIG", "DATA", "CACHE")]


def snapshot(memory: MemoryKeyring) -> State:
    files: dict[str, bytes] = {}
    for directory in user_dirs():
        if directory.exists():
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    files[str(path)] = path.read_bytes()
    return files, dict(memory.entries)


@pytest.fixture
def memory(isolated_user_dirs: MemoryKeyring) -> Iterator[MemoryKeyring]:
    """The in-memory keyring conftest installed, with no secret registered for redaction: a
    message must not quote a value by design, not because redaction happened to mask it."""
    clear_secrets()
    yield isolated_user_dirs
    clear_secrets()


@pytest.fixture
def existing_profile(memory: MemoryKeyring) -> State:
    """A profile saved before the bad input arrives: it must survive untouched."""
    ProfileStore(SettingsStore(), KeyStore()).set_profile("main", GOOD_URL, KEY, SECRET)
    clear_secrets()
    return snapshot(memory)


def keys_cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    args = build_parser().parse_args(["keys", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_keys(args, profiles=ProfileStore(SettingsStore(), KeyStore()),
                    stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------

BAD_TARGETS = [
    "", "   ", "spot", "spot:", ":BTC_USDT", "BTC_USDT", "spot BTC_USDT", "spot:BTC-USDT",
    "spot:BTC_USDT_ETH", "spot:BTC__USDT", "spot:_USDT", "spot:BTC/USDT", "spot:btc usdt",
    "futures:BTC_USDT", "margin:BTC_USDT", "spot:all:BTC_USDT", "options:BTC_USDT-2024-46000-C",
    "options:BTC_USDT-20241001-46000-X", "options:BTC_USDT-20241001--46000-C",
    "options:BTC_USDT-20241001-46000", "spot:" + "A" * 21 + "_USDT",
    "spot:BTC_USDT&currency_pair=ETH_USDT", "spot:BTC_USDT?x=1", "spot:BTC_USDT#x",
    "spot:../../etc/passwd", "spot:BTC_USDT\x00", "spot:BTC_ＵSDT", "spot:BTC_USDT;rm -rf ~",
    "options:BTC_USDT-20241001-4.6.0-C", "spot:BTC_USDT\nspot:ETH_USDT",
]


@pytest.mark.parametrize("text", BAD_TARGETS)
def test_a_bad_target_text_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    assert FORMS_HELP in str(info.value)


@given(st.text(max_size=60) | st.from_regex(r"(spot|options|option|SPOT):[ -~]{0,40}",
                                            fullmatch=True))
@settings(max_examples=300)
def test_any_text_is_a_target_in_gates_alphabet_or_refused(text: str) -> None:
    try:
        target = parse_target(text)
    except TargetError as exc:
        assert FORMS_HELP in str(exc)
        return
    # Accepted: it names a scope in Gate's alphabet (nothing to inject into a query string)
    # and its one text form reads back as itself.
    assert target.name == "" or is_pair(target.name) or is_contract(target.name)
    assert parse_target(str(target)) == target


def run_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", *argv])


@pytest.mark.parametrize(("argv", "words"), [
    (("--target", "spot:BTC-USDT"), "spot:BTC_USDT (a pair)"),
    (("--target", "spot:BTC_USDT", "--target", "margin:BTC_USDT"), "unknown product"),
    (("--target", "futures:BTC_USDT"), "settle currency first"),
    (("--target", "spot:BTC_USDT", "--timeout", "4"), "at least 5 seconds"),
    (("--target", "spot:BTC_USDT", "--timeout", "0"), "at least 5 seconds"),
    (("--target", "spot:BTC_USDT", "--timeout", "-60"), "at least 5"),
    (("--target", "spot:BTC_USDT", "--timeout", str(2**31)), "not allowed"),
    (("--target", "spot:BTC_USDT", "--timeout", "99999999"), "at most 86400"),
    (("--target", "spot:BTC_USDT", "--interval", "60"), "shorter than the timeout"),
    (("--target", "spot:BTC_USDT", "--interval", "inf"), "shorter than the timeout"),
    (("--target", "spot:BTC_USDT", "--interval", "nan"), "at least 0.5 seconds"),
    (("--target", "spot:BTC_USDT", "--interval", "0"), "at least 0.5 seconds"),
    (("--target", "spot:BTC_USDT", "--interval", "-15"), "at least 0.5 seconds"),
    (("--target", "spot:BTC_USDT", "--timeout", "10", "--interval", "10.0"), "shorter than"),
])
@pytest.mark.parametrize("source", [("--profile", "main"), ("--demo",)])
def test_the_runner_refuses_bad_arguments_before_doing_anything(
        memory: MemoryKeyring, existing_profile: State, capsys: pytest.CaptureFixture[str],
        argv: tuple[str, ...], words: str, source: tuple[str, ...]) -> None:
    code = run_command(run_args(*source, *argv))
    out, err = capsys.readouterr()
    assert code == 2
    assert words in err, err
    assert out == ""  # no simulator started, nothing armed
    assert snapshot(memory) == existing_profile


@pytest.mark.parametrize("argv", [
    ("run", "--demo", "--target", "spot:BTC_USDT", "--timeout", "sixty"),
    ("run", "--demo", "--target", "spot:BTC_USDT", "--interval", "1,5"),
    ("run", "--demo", "--target", "spot:BTC_USDT", "--timeout", "60.5"),
    ("run", "--demo"),
    ("run", "--target", "spot:BTC_USDT"),
    ("--timeout", "1e3"),
])
def test_malformed_numbers_and_missing_arguments_are_usage_errors(
        argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(list(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "error:" in err


@pytest.mark.parametrize(("argv", "words"), [
    (("--arm", "spot:BTC-USDT"), "spot:BTC_USDT (a pair)"),
    (("--arm", "spot:BTC_USDT", "--timeout", "3"), "at least 5 seconds"),
    (("--timeout", "60", "--interval", "90"), "shorter than the timeout"),
    # Refused, not clamped to the window's 24 h (with the interval taken from the typo).
    (("--arm", "spot:BTC_USDT", "--timeout", "99999999", "--self-test"), "at most 86400"),
])
def test_the_window_refuses_bad_arguments_before_opening(
        tmp_path: Path, argv: tuple[str, ...], words: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_KILLSWITCH")}
    dirs = {n: tmp_path / n.lower() for n in ("CONFIG", "DATA", "CACHE")}
    env.update({f"GATE_KILLSWITCH_{n}_DIR": str(p) for n, p in dirs.items()},
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "gui", "--demo", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr
    # No window, no settings, no journal: only the (empty) log file may have been opened.
    written = sorted(p.name for d in dirs.values() if d.exists() for p in d.rglob("*")
                     if p.is_file())
    assert set(written) <= {"gate-killswitch.log"}, written
    for d in dirs.values():
        log = d / "gate-killswitch.log"
        assert not log.exists() or log.read_text() == ""


def test_the_window_says_in_the_terminal_what_it_left_out_and_a_risky_interval(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_KILLSWITCH")}
    env.update({f"GATE_KILLSWITCH_{n}_DIR": str(tmp_path / n.lower())
                for n in ("CONFIG", "DATA", "CACHE", "STATE")},
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "gui", "--demo", "--arm", "options:all",
                           "--arm", "options:BTC_USDT", "--timeout", "60", "--interval", "25",
                           "--self-test"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "options:BTC_USDT is left out: options:all already covers it." in done.stderr
    assert "Warning: A beat every 25 s leaves little slack" in done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_the_window_refuses_a_journal_that_is_a_fifo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_KILLSWITCH")}
    env.update({f"GATE_KILLSWITCH_{n}_DIR": str(tmp_path / n.lower())
                for n in ("CONFIG", "DATA", "CACHE", "STATE")},
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    (tmp_path / "data" / "demo").mkdir(parents=True)
    os.mkfifo(tmp_path / "data" / "demo" / "journal.jsonl")
    done = subprocess.run([sys.executable, "-m", "gui", "--demo", "--self-test"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a regular file" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------
# Timeout and interval
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("timeout", "interval", "words"), [
    (0, None, "at least 5 seconds"),
    (4, None, "at least 5 seconds"),
    (-60, None, "at least 5"),
    (60.0, None, "whole seconds"),
    (True, None, "whole seconds"),
    ("60", None, "whole seconds"),
    (None, None, "whole seconds"),
    (2**31, None, "not allowed"),
    (60, 60, "shorter than the timeout"),
    (60, 61.5, "shorter than the timeout"),
    (60, float("inf"), "shorter than the timeout"),
    (60, float("nan"), "at least 0.5 seconds"),
    (60, 0, "at least 0.5 seconds"),
    (60, 0.49, "at least 0.5 seconds"),
    (60, -1, "at least 0.5 seconds"),
    (5, 5, "shorter than the timeout"),
])
def test_bad_timeout_or_interval_is_refused_with_a_message(
        timeout: Any, interval: Any, words: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_interval(timeout, interval)
    assert words in str(info.value)


def test_a_risky_interval_is_allowed_with_a_warning() -> None:
    value, warning = check_interval(60, 25)
    assert value == 25 and warning is not None and "slack" in warning
    assert check_interval(60, None) == (15.0, None)


def test_the_engine_refuses_bad_timing_and_arms_nothing() -> None:
    class NoClient:
        clock = None

        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the engine called the exchange ({name}) for bad input")

    async def scenario() -> None:
        engine = Engine(NoClient())  # type: ignore[arg-type]
        try:
            for timeout, interval in ((3, None), (60, 60), (60, float("nan"))):
                with pytest.raises(InvalidInputError):
                    engine.arm([parse_target("spot:BTC_USDT")], timeout, interval)
            with pytest.raises(InvalidInputError, match="at least one market"):
                engine.arm([], 60, None)
            assert engine.statuses() == [] and not engine.busy
        finally:
            await engine.shutdown(disarm=False)

    asyncio.run(scenario())


# ---------------------------------------------------------------------------------------------
# Base URLs
# ---------------------------------------------------------------------------------------------

BAD_URLS = [
    ("http://api.gateio.ws/api/v4", "plain http"),
    ("http://192.168.1.10:8080/api/v4", "plain http"),
    ("http://127.0.0.1.evil.example/api/v4", "plain http"),
    ("http://localhost.evil.example/api/v4", "plain http"),
    ("https://api.gateio.ws", "must end in /api/v4"),
    ("https://api.gateio.ws/api/v3", "must end in /api/v4"),
    ("https://api.gateio.ws/api/v4/spot", "must end in /api/v4"),
    ("https://api.gateio.ws/api/v4?x=1", "query or fragment"),
    ("https://api.gateio.ws/api/v4#top", "query or fragment"),
    ("ftp://api.gateio.ws/api/v4", "not a URL"),
    ("file:///etc/api/v4", "not a URL"),
    ("javascript:alert(1)//api/v4", "not a URL"),
    ("api.gateio.ws/api/v4", "not a URL"),
    ("https:///api/v4", "not a URL"),
    ("https://api.gateio.ws:99999/api/v4", "not a URL"),
    ("https://[::1/api/v4", "not a URL"),
    ("", "not a URL"),
    ("not a url at all", "not a URL"),
]


@pytest.mark.parametrize(("url", "words"), BAD_URLS)
def test_a_bad_base_url_is_refused_with_a_message(url: str, words: str) -> None:
    with pytest.raises(BaseUrlError) as info:
        validate_base_url(url)
    assert words in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/api/v4", "http://localhost/api/v4/",
                                 "http://[::1]:9/api/v4", "https://api.gateio.ws/api/v4",
                                 "  https://proxy.example:8443/gate/api/v4  "])
def test_good_base_urls_are_accepted(url: str) -> None:
    assert validate_base_url(url).endswith("/api/v4")


CREDENTIAL_URLS = [
    "https://trader:hunter2-Secret@gate-proxy.example/api/v4",
    "https://trader:hunter2-Secret@127.0.0.1/api/v4",
    "http://trader:hunter2-Secret@api.gateio.ws/api/v4",
    "https://:hunter2-Secret@gate-proxy.example/api/v4",
    "https://trader@gate-proxy.example/api/v4",
    "ftp://trader:hunter2-Secret@gate-proxy.example/x",
]


@pytest.mark.parametrize("url", CREDENTIAL_URLS)
def test_a_url_with_credentials_is_refused_without_quoting_them(
        url: str, memory: MemoryKeyring, existing_profile: State) -> None:
    with pytest.raises(BaseUrlError) as info:
        validate_base_url(url)
    message = str(info.value)
    assert "user name or password" in message
    assert "hunter2" not in message and "trader" not in message
    # The same through the profile store and the keys command: refused, nothing written.
    with pytest.raises(InvalidProfile) as info2:
        ProfileStore(SettingsStore(), KeyStore()).set_profile("proxy", url, KEY, SECRET)
    assert "hunter2" not in str(info2.value) and "trader" not in str(info2.value)
    code, out, err = keys_cli("set", "proxy", "--base-url", url, stdin=f"{KEY}\n{SECRET}\n")
    assert code == 2
    assert "hunter2" not in out + err and "trader" not in out + err
    assert snapshot(memory) == existing_profile


def test_a_token_in_a_url_query_is_not_quoted() -> None:
    with pytest.raises(BaseUrlError) as info:
        validate_base_url("https://gate-proxy.example/api/v4?apikey=tok3n-Secret-42")
    assert "tok3n-Secret-42" not in str(info.value)


@pytest.mark.parametrize(("url", "words"), BAD_URLS[:9])
def test_a_bad_url_changes_no_profile(url: str, words: str, memory: MemoryKeyring,
                                      existing_profile: State) -> None:
    with pytest.raises(InvalidProfile, match=words.split()[0]):
        ProfileStore(SettingsStore(), KeyStore()).set_profile("main", url, KEY[::-1],
                                                              SECRET[::-1])
    # The key prompt never comes: the URL is checked before the key is read.
    code, _out, err = keys_cli("set", "main", "--base-url", url,
                               stdin=f"{KEY[::-1]}\n{SECRET[::-1]}\n")
    assert code == 2 and words.split()[0] in err
    assert snapshot(memory) == existing_profile


# ---------------------------------------------------------------------------------------------
# Keys and secrets
# ---------------------------------------------------------------------------------------------

BAD_PAIRS = [
    ("", SECRET, "empty"),
    (KEY, "", "empty"),
    (KEY[:7], SECRET, "7 characters"),
    (KEY, "Zz" * 129, "258 characters"),
    (KEY[:16] + " " + KEY[16:], SECRET, "spaces"),
    (" " + KEY, SECRET, "spaces"),
    (KEY, SECRET[:30] + "\t" + SECRET[30:], "spaces"),
    (KEY, SECRET[:30] + "\u00a0" + SECRET[30:], "spaces"),
    (KEY, SECRET[:30] + "\x00" + SECRET[30:], "printable ASCII"),
    (KEY, SECRET[:30] + "\x1b[2J" + SECRET[30:], "printable ASCII"),
    (KEY, SECRET[:30] + "\x7f" + SECRET[30:], "printable ASCII"),
    (KEY[:16] + "é" + KEY[16:], SECRET, "printable ASCII"),
    (KEY[:16] + "\u200b" + KEY[16:], SECRET, "printable ASCII"),
    (KEY, KEY, "same"),
]


def _pieces(value: str) -> list[str]:
    """Every run of 6 characters of ``value``: none may show up in a message."""
    return [value[i:i + 6] for i in range(0, max(0, len(value) - 5))]


@pytest.mark.parametrize(("key", "secret", "words"), BAD_PAIRS)
def test_a_bad_key_or_secret_is_refused_never_echoed_and_nothing_is_written(
        key: str, secret: str, words: str, memory: MemoryKeyring,
        existing_profile: State) -> None:
    with pytest.raises(InvalidCredentials) as info:
        validate_credentials(key, secret)
    messages = [str(info.value)]
    with pytest.raises(InvalidCredentials) as info2:
        ProfileStore(SettingsStore(), KeyStore()).set_profile("main", GOOD_URL, key, secret)
    messages.append(str(info2.value))
    if key.strip() == key and secret.strip() == secret:
        # Through the keys command too. (It reads a line each and forgives spaces at either
        # end, which no real key has: " KEY" is taken as "KEY" there, by design.)
        code, out, err = keys_cli("set", "main", "--base-url", GOOD_URL,
                                  stdin=f"{key}\n{secret}\n")
        assert code == 2, err
        assert "Nothing was saved" in err
        messages.append(out + err)
    for message in messages:
        assert words in message or "expected two lines" in message, message
        for value in (key, secret):
            for piece in _pieces(value.strip()):
                assert piece not in message, (piece, message)
    assert snapshot(memory) == existing_profile


@given(middle=st.text(min_size=1, max_size=300))
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_invalid_secret_is_ever_quoted(middle: str, memory: MemoryKeyring) -> None:
    secret = "Qz8" + middle + "Vx3"
    try:
        validate_credentials(KEY, secret)
    except InvalidCredentials as exc:
        message = str(exc)
        assert "Qz8" not in message and "Vx3" not in message
        assert memory.entries == {}
        return
    # Accepted: then it really is 8..256 printable ASCII without spaces.
    assert 8 <= len(secret) <= 256 and all(0x21 <= ord(c) <= 0x7E for c in secret)


# ---------------------------------------------------------------------------------------------
# Profile names
# ---------------------------------------------------------------------------------------------

BAD_NAMES = ["", " ", " main", "main ", "a" * 41, "main/prod", "../main", "main\n",
             "main\x00", "tab\tname", "naïve", "主", "main;rm", "$HOME", "a:b", "quote'"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_profile_name_is_refused_and_nothing_is_written(
        name: str, memory: MemoryKeyring, existing_profile: State) -> None:
    with pytest.raises(InvalidProfile) as info:
        ProfileStore(SettingsStore(), KeyStore()).set_profile(name, GOOD_URL, KEY, SECRET)
    assert "1 to 40 letters" in str(info.value)
    code, out, err = keys_cli("set", name, "--base-url", GOOD_URL, stdin=f"{KEY}\n{SECRET}\n")
    assert code == 2 and "1 to 40 letters" in err
    assert KEY not in out + err and SECRET not in out + err
    for command in ("delete", "test"):
        code, _out, err = keys_cli(command, name)
        assert code == 2 and "1 to 40 letters" in err
    assert snapshot(memory) == existing_profile


# ---------------------------------------------------------------------------------------------
# The window: the timeout and interval fields, and "add by name"
# ---------------------------------------------------------------------------------------------

from tests.qt_fixtures import qloop  # noqa: E402, F401  (the fixture, used by name)


@pytest.fixture
def window_app(qtbot: Any, request: pytest.FixtureRequest, demo_sim: Any) -> Iterator[Any]:
    """The app on the demo simulator, offscreen, with remembered settings saved once."""
    from gui.controller import AppController
    from gui.core.client import GateClient
    from gui.core.journal import Journal
    from gui.options import GuiOptions, Phase
    from tests.simkeys import TEST_KEY, TEST_SECRET

    request.getfixturevalue("qloop")  # a running qasync loop on the test's QApplication
    controller = AppController(
        GuiOptions(timeout=60, interval=15.0, arm=[]), settings_store=SettingsStore(),
        journal=Journal(), client=GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET),
        client_label="Simulator", cache_key="sim", use_tray=False)
    controller.window.resize(1200, 800)
    controller.start()
    qtbot.waitUntil(lambda: controller.phase >= Phase.PAINTED, timeout=10_000)
    controller.window.picker.set_selected([parse_target("spot:BTC_USDT")])
    controller.save_settings()
    try:
        yield controller
    finally:
        if controller.phase is not Phase.FINISHED:
            demo_sim.clear_faults()
            future = asyncio.ensure_future(controller.quit_now())
            qtbot.waitUntil(future.done, timeout=20_000)
        controller.window.deleteLater()


def _type_into(qtbot: Any, widget: Any, text: str) -> None:
    """Focus the field, select what is there, and type ``text`` key by key, as a person does."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def _tab(qtbot: Any, widget: Any) -> None:
    from PySide6.QtCore import Qt

    qtbot.keyClick(widget, Qt.Key.Key_Tab)


def _saved_choice(app: Any) -> tuple[int, float, list[str]]:
    """What the app would remember now (it saves on arm and quit), as read back from disk."""
    app.save_settings()
    saved = SettingsStore().load()
    return saved.timeout, saved.interval, saved.targets


def test_an_interval_not_shorter_than_the_timeout_is_refused_in_place(
        window_app: Any, qtbot: Any, demo_sim: Any) -> None:
    from PySide6.QtCore import Qt

    w = window_app.window
    before = _saved_choice(window_app)
    assert before == (60, 15.0, ["spot:BTC_USDT"])
    for typed in ("60", "90", "86399"):
        _type_into(qtbot, w.interval_spin, typed)
        _tab(qtbot, w.interval_spin)
        assert w.timing_message.property("level") == "error"
        assert "shorter than the timeout" in w.timing_message.text()
        assert w.timing_message.isVisible()
        assert not w.arm_button.isEnabled()
        assert "countdown settings" in w.button_hint.text()  # said once, pointed to
        # Neither a click nor the shortcut arms with it.
        qtbot.mouseClick(w.arm_button, Qt.MouseButton.LeftButton)
        qtbot.keyClick(w, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        qtbot.wait(50)
        assert w.mode == "arm" and not w.cards
        assert _saved_choice(window_app) == before
    assert not [r for r in demo_sim.requests("/spot/countdown_cancel_all")]
    _type_into(qtbot, w.interval_spin, "12")
    _tab(qtbot, w.interval_spin)
    assert w.timing_message.property("level") == "ok" and w.arm_button.isEnabled()


def test_a_timeout_below_the_minimum_is_put_back(window_app: Any, qtbot: Any) -> None:
    w = window_app.window
    before = _saved_choice(window_app)
    for typed in ("3", "0", "abc", ""):
        _type_into(qtbot, w.timeout_spin, typed)
        _tab(qtbot, w.timeout_spin)
        assert w.timing() == (60, 15.0)
        assert w.timeout_spin.text() == "60 s"
    assert _saved_choice(window_app) == before


@pytest.mark.parametrize(("field", "typed"), [
    ("timeout_spin", "100000"), ("timeout_spin", "-5"), ("timeout_spin", "6o"),
    ("interval_spin", "1e3"), ("interval_spin", "-12"), ("interval_spin", "0,5"),
])
def test_a_typo_in_a_timing_field_never_becomes_another_number(
        window_app: Any, qtbot: Any, field: str, typed: str) -> None:
    w = window_app.window
    before = _saved_choice(window_app)
    _type_into(qtbot, getattr(w, field), typed)
    _tab(qtbot, getattr(w, field))
    assert w.timing() == (60, 15.0), f"typing {typed!r} gave {w.timing()}"
    assert _saved_choice(window_app) == before


@pytest.mark.parametrize("typed", ["3", "4"])
def test_a_timeout_below_the_minimum_is_explained_in_place(
        window_app: Any, qtbot: Any, typed: str) -> None:
    w = window_app.window
    _type_into(qtbot, w.timeout_spin, typed)
    # While the field shows what was typed, the message beside it says why it cannot be used.
    assert w.timing_message.property("level") == "error"
    assert "at least 5" in w.timing_message.text()


BAD_ADDS = [
    ("spot:BTC-USDT", FORMS_HELP),
    ("margin:BTC_USDT", "unknown product"),
    ("futures:BTC_USDT", "settle currency first"),
    ("futures:usdt:NOPE_USDT", "is not a listed USDT-settled perpetual contract"),
    ("BTC_USDT", FORMS_HELP),
    ("spot:BTC_USDT&currency_pair=ETH_USDT", FORMS_HELP),
    ("options:BTC_USDT-2024-46000-C", FORMS_HELP),
    ("spot:NOPE_USDT", "is not a spot pair on this exchange"),
    ("options:NOPE_USDT", "is not an option underlying on this exchange"),
    ("spot:btc_usdt", "already selected"),
    ("   ", "Type a target such as spot:BTC_USDT"),
]


@pytest.mark.parametrize(("typed", "words"), BAD_ADDS)
def test_add_by_name_refuses_bad_input_in_place(window_app: Any, qtbot: Any, typed: str,
                                                words: str) -> None:
    from PySide6.QtCore import Qt

    picker = window_app.window.picker
    # The lists are loaded, so unknown markets can be told apart from typos.
    qtbot.waitUntil(lambda: picker.pair_list.count() > 0, timeout=10_000)
    qtbot.waitUntil(lambda: picker.options_tab.underlying_list.count() > 0, timeout=10_000)
    qtbot.waitUntil(lambda: bool(picker.futures_tab.names("usdt")), timeout=10_000)
    before = _saved_choice(window_app)
    chosen = picker.selected_targets()
    for submit in ("enter", "button"):
        picker.add_edit.clear()
        qtbot.keyClicks(picker.add_edit, typed)
        if submit == "enter":
            qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
        else:
            qtbot.mouseClick(picker.add_button, Qt.MouseButton.LeftButton)
        assert picker.add_message.isVisible()
        assert words in picker.add_message.text()
        # What was typed stays, to be corrected; nothing was chosen.
        assert picker.add_edit.text() == typed
        assert picker.selected_targets() == chosen
    # Typing again clears the message; nothing was remembered.
    qtbot.keyClicks(picker.add_edit, "x")
    assert not picker.add_message.isVisible()
    assert _saved_choice(window_app) == before


def test_add_by_name_accepts_a_good_name_after_a_bad_one(window_app: Any, qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    picker = window_app.window.picker
    qtbot.keyClicks(picker.add_edit, "spot:ETH-USDT")
    qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
    assert picker.add_message.isVisible()
    picker.add_edit.clear()
    qtbot.keyClicks(picker.add_edit, " spot:eth_usdt ")
    qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
    assert not picker.add_message.isVisible() and picker.add_edit.text() == ""
    assert [str(t) for t in picker.selected_targets()] == ["spot:BTC_USDT", "spot:ETH_USDT"]
