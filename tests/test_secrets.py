"""Secrets: a whole session with a known key and secret leaves none of them, nor any signature
sent, in any file the app wrote or anything it printed or logged.

Sessions: the engine in this process (set keys, check the key, arm, beat, failures of every
kind, cancel now, stop, quit), the headless runner and the ``keys`` commands as real processes,
and the window (tests/gui style, offscreen). Every ``SIGN`` header that reaches the simulator is
recorded, faulted requests included. Then every file under the session's config, data and cache
directories, the log file, ``caplog`` at DEBUG and the captured stdout/stderr are searched.

Also: a keyring that is missing, locked or unsafe leaves nothing on disk; the client refuses
plain ``http://`` except on loopback and never turns certificate checks off.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import http.server
import io
import ipaddress
import logging
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from gui.core.client import GateClient
from gui.core.errors import NetworkError
from gui.core.heartbeat import Engine, EventKind, State
from gui.core.journal import Journal, data_dir
from gui.core.keys import KeyringUnavailable, KeyStore, ProfileStore
from gui.core.logsetup import LOG_NAME, setup_logging
from gui.core.redact import clear_secrets
from gui.core.settings import Profile, Settings, SettingsStore
from gui.core.targets import parse_target
from gui.core.urls import LIVE_URL, BaseUrlError
from gui.simulator import Simulator
from gui.simulator import http as sim_http
from tests.memkeyring import (
    AltFileKeyring,
    EmptyChainer,
    LockedKeyring,
    MemoryKeyring,
    PlaintextKeyring,
    no_backend,
    null_backend,
)
from tests.qt_fixtures import qloop  # noqa: F401  (the fixture, used through getfixturevalue)

ROOT = Path(__file__).resolve().parent.parent
# Distinctive, valid (8..256 printable ASCII), and unlike anything else the app prints.
KEY = "gk-known-key-7c1d9e3a5b42"
SECRET = "gk-known-secret-e4b8a2f6d0c91a77"
TIMEOUT = 5
INTERVAL = 1.25


# ---------------------------------------------------------------------------------------------
# Recording and searching
# ---------------------------------------------------------------------------------------------


class Signatures:
    """Every SIGN header that reached the simulator, faulted and hung requests included."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        if value:
            with self._lock:
                self.values.append(value.strip())

    def all(self) -> list[str]:
        with self._lock:
            return list(self.values)


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> Signatures:
    seen = Signatures()
    original = sim_http._Handler._api

    def recording(self: Any, *args: Any, **kwargs: Any) -> None:
        seen.add(self.headers.get("SIGN"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(sim_http._Handler, "_api", recording)
    return seen


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(keys={KEY: SECRET}, demo=True) as running:
        yield running


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """No secret registered for redaction from earlier tests; the session registers its own,
    as the app does when it loads a key."""
    clear_secrets()
    yield
    clear_secrets()


@pytest.fixture
def app_log() -> Iterator[Path]:
    """The app's logging (gui.core.logsetup) into the data dir, removed again afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    urllib3_level = logging.getLogger("urllib3").level
    setup_logging(data_dir())
    root.setLevel(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    try:
        yield data_dir() / LOG_NAME
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
        logging.getLogger("urllib3").setLevel(urllib3_level)


def user_dirs() -> list[Path]:
    return [Path(os.environ[f"GATE_KILLSWITCH_{n}_DIR"]) for n in ("CONFIG", "DATA", "CACHE")]


def files_under(*dirs: Path) -> list[Path]:
    return sorted(p for d in dirs if d.exists() for p in d.rglob("*") if p.is_file())


def assert_nothing_leaked(texts: dict[str, str], files: list[Path], sigs: list[str]) -> None:
    needles = {"the API key": KEY, "the secret": SECRET}
    needles.update({f"signature {i}": s for i, s in enumerate(sigs)})
    for where, text in texts.items():
        for what, needle in needles.items():
            assert needle not in text, f"{what} found in {where}"
    for path in files:
        data = path.read_bytes()
        for what, needle in needles.items():
            assert needle.encode() not in data, f"{what} found in {path}"


async def until(cond: Callable[[], bool], seconds: float = 15.0) -> None:
    end = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# The engine: a whole session in this process
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_engine_session_leaves_no_key_secret_or_signature_anywhere(
        sim: Simulator, signatures: Signatures, clean_registry: None, app_log: Path,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    profiles = ProfileStore(SettingsStore(), KeyStore())
    profiles.set_profile("sim", sim.base_url, KEY, SECRET)
    btc, eth = parse_target("spot:BTC_USDT"), parse_target("spot:ETH_USDT")
    underlying = parse_target("options:BTC_USDT")
    kinds: list[EventKind] = []

    async def session() -> None:
        creds = profiles.credentials("sim")
        profile = profiles.profile("sim")
        client = GateClient(profile.base_url, creds.key, creds.secret, timeout=2.0)
        logging.getLogger("test.secrets").info("client %r, credentials %r", client, creds)
        journal = Journal()
        engine = Engine(client, journal=journal, request_timeout=2.0, late_window=2.0)
        engine.subscribe(lambda e: kinds.append(e.kind))
        try:
            check = await asyncio.get_running_loop().run_in_executor(None, client.check_key)
            assert check.spot == "read-write"
            engine.arm([btc, eth, underlying], TIMEOUT, INTERVAL)
            await until(lambda: all(s.state is State.ARMED for s in engine.statuses()))
            # (REQUEST_EXPIRED and the new clock measurement are in the runner's session.)
            # Failures of every kind, each clearing before the deadline...
            for target, kind, extra in (
                    (btc, "status", {"status": 503, "count": 1}), (btc, "html", {"count": 1}),
                    (btc, "drop", {"count": 1}), (btc, "hang", {"count": 1, "hang_s": 3.0}),
                    (underlying, "empty", {"count": 1}),
                    (underlying, "status", {"status": 429, "count": 1}),
                    (underlying, "latency", {"latency_ms": 300, "count": 2})):
                sim.add_fault(kind, scope=str(target), **extra)  # type: ignore[arg-type]
            # ...and one the key cannot recover from, on its own scope.
            sim.add_fault("status", status=401, label="INVALID_SIGNATURE", scope=str(eth),
                          count=1)
            await until(lambda: engine.status(eth).state is State.ERROR)  # type: ignore[union-attr]
            await until(lambda: not sim.faults.to_json(), seconds=20)
            beats = engine.status(btc).beats  # type: ignore[union-attr]
            await until(lambda: engine.status(btc).beats >= beats + 2)  # type: ignore[union-attr]
            assert {s.target: s.state for s in engine.statuses()} == {
                btc: State.ARMED, underlying: State.ARMED, eth: State.ERROR}
            results = await engine.cancel_now([btc, underlying])
            assert all(isinstance(r, list) for r in results.values())
            stopped = await engine.disarm()
            assert stopped[btc] and stopped[underlying]
            assert await engine.wait_sweeps(timeout=15)
        finally:
            await engine.shutdown(disarm=False)
            client.close()
            journal.close()

    asyncio.run(session())
    assert {EventKind.BEAT_FAILED, EventKind.RETRYING, EventKind.ERROR, EventKind.CANCEL_NOW,
            EventKind.DISARMED} <= set(kinds)
    assert sim.countdowns() == {}
    sigs = signatures.all()
    assert len(sigs) > 20
    out, err = capfd.readouterr()
    assert app_log.exists() and "beat failed" in app_log.read_text()
    assert_nothing_leaked({"caplog": caplog.text, "stdout": out, "stderr": err},
                          files_under(*user_dirs()), sigs)


# ---------------------------------------------------------------------------------------------
# The runner and the keys commands, as a person runs them
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def app_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATE_KILLSWITCH") and k != "PYTHON_KEYRING_BACKEND"}
    env.update(
        PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
        GATE_KILLSWITCH_CONFIG_DIR=str(tmp_path / "app" / "config"),
        GATE_KILLSWITCH_DATA_DIR=str(tmp_path / "app" / "data"),
        GATE_KILLSWITCH_CACHE_DIR=str(tmp_path / "app" / "cache"),
        GATE_KILLSWITCH_STATE_DIR=str(tmp_path / "app" / "state"),
        # The stand-in for the OS keyring: the one place the secret may be. Not searched.
        GATE_KILLSWITCH_TEST_KEYRING=str(tmp_path / "keyring.json"),
        PYTHON_KEYRING_BACKEND="tests.subprocess_keyring.SubprocessTestKeyring",
    )
    return env


def gk(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gui", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


@pytest.mark.slow
def test_a_runner_session_leaves_no_key_secret_or_signature_anywhere(
        sim: Simulator, signatures: Signatures, app_env: dict[str, str], tmp_path: Path) -> None:
    outputs: dict[str, str] = {}
    sim.set_clock_skew(90.0)  # set right mid-run: REQUEST_EXPIRED, then a new measurement
    done = gk(app_env, "keys", "set", "sim", "--base-url", sim.base_url,
              stdin=f"{KEY}\n{SECRET}\n")
    assert done.returncode == 0, done.stderr
    outputs.update({"keys set stdout": done.stdout, "keys set stderr": done.stderr})
    for command in (("keys", "list"), ("keys", "test", "sim")):
        done = gk(app_env, *command)
        assert done.returncode == 0, done.stderr
        outputs.update({f"{command} stdout": done.stdout, f"{command} stderr": done.stderr})

    proc = subprocess.Popen(
        [sys.executable, "-m", "gui", "run", "--profile", "sim", "--target", "spot:BTC_USDT",
         "--target", "options:all", "--timeout", str(TIMEOUT), "--interval", str(INTERVAL)],
        env=app_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                              daemon=True)  # type: ignore[union-attr]
    reader.start()

    def wait_for(text: str, count: int = 1, seconds: float = 20.0) -> None:
        end = time.monotonic() + seconds
        while sum(text in line for line in list(lines)) < count:
            assert time.monotonic() < end and proc.poll() is None, lines
            time.sleep(0.02)

    try:
        wait_for("beat ok", count=2)
        # Failures whose fate is known (answered 4xx with a label), so the stop needs no
        # minute-long sweep: rate limited twice, then a clock 90 s off (REQUEST_EXPIRED).
        sim.add_fault("status", status=429, scope="spot:BTC_USDT", count=2)
        wait_for("beat failed", count=1)
        sim.set_clock_skew(0.0)
        wait_for("beat ok", count=len([x for x in lines if "beat ok" in x]) + 3)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    err = proc.stderr.read()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    proc.stdout.close()  # type: ignore[union-attr]
    out = "".join(lines)
    assert code == 0, out + err
    assert "Disarmed 2 targets" in out and "beat failed" in out
    outputs.update({"runner stdout": out, "runner stderr": err})
    sigs = signatures.all()
    assert len(sigs) >= 8
    app_dirs = [tmp_path / "app" / name for name in ("config", "data", "cache")]
    files = files_under(*app_dirs)
    assert any(p.name == "journal.jsonl" for p in files)
    assert_nothing_leaked(outputs, files, sigs)
    # The keyring stand-in holds the pair (that is its job), and nothing else does.
    assert SECRET in (tmp_path / "keyring.json").read_text()
    assert [p for p in files_under(tmp_path) if SECRET.encode() in p.read_bytes()] == [
        tmp_path / "keyring.json"]


# ---------------------------------------------------------------------------------------------
# Keyring failures leave nothing on disk
# ---------------------------------------------------------------------------------------------


class EchoingKeyring(MemoryKeyring):
    """A broken backend whose error quotes what it was handed."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"could not store {password} for {username}")


class LockedOnWrite(MemoryKeyring):
    """Reads work; the write fails as a keyring that locked itself meanwhile."""

    def set_password(self, service: str, username: str, password: str) -> None:
        from keyring.errors import KeyringLocked

        raise KeyringLocked("locked")


@pytest.mark.parametrize("backend", [no_backend, null_backend, LockedKeyring, PlaintextKeyring,
                                     AltFileKeyring, EmptyChainer, EchoingKeyring,
                                     LockedOnWrite],
                         ids=lambda b: getattr(b, "__name__", str(b)))
def test_a_keyring_failure_stores_nothing_anywhere(backend: Callable[[], Any],
                                                   clean_registry: None,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    from gui.__main__ import build_parser
    from gui.cli.keys import EXIT_NO_KEYRING, run_keys

    store = KeyStore(backend())
    profiles = ProfileStore(SettingsStore(), store)
    with pytest.raises(KeyringUnavailable) as info:
        profiles.set_profile("main", "https://gate-proxy.example/api/v4", KEY, SECRET)
    message = str(info.value)
    assert "keyring" in message.lower()
    args = build_parser().parse_args(["keys", "set", "main", "--base-url",
                                      "https://gate-proxy.example/api/v4"])
    out, err = io.StringIO(), io.StringIO()
    code = run_keys(args, profiles=profiles, stdin=io.StringIO(f"{KEY}\n{SECRET}\n"),
                    stdout=out, stderr=err)
    assert code == EXIT_NO_KEYRING
    assert "Nothing was changed" in err.getvalue()
    captured = capfd.readouterr()
    assert files_under(*user_dirs()) == []
    assert_nothing_leaked({"message": message, "stdout": out.getvalue() + captured.out,
                           "stderr": err.getvalue() + captured.err}, [], [])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring",
                                     "keyring.backends.null.Keyring"])
def test_without_a_keyring_the_commands_write_nothing(app_env: dict[str, str], tmp_path: Path,
                                                      backend: str) -> None:
    env = dict(app_env, PYTHON_KEYRING_BACKEND=backend)
    done = gk(env, "keys", "set", "live", "--live", stdin=f"{KEY}\n{SECRET}\n")
    assert done.returncode == 3
    assert "keyring" in done.stderr.lower() and "Traceback" not in done.stderr
    assert KEY not in done.stdout + done.stderr and SECRET not in done.stdout + done.stderr
    assert files_under(tmp_path) == []
    # A profile listed in the settings whose keys cannot be read: the runner stops at once.
    config = Path(env["GATE_KILLSWITCH_CONFIG_DIR"])
    SettingsStore(config).save(Settings(profiles={"live": Profile("live", LIVE_URL)}))
    before = {p: p.read_bytes() for p in files_under(tmp_path)}
    done = gk(env, "run", "--profile", "live", "--target", "spot:all")
    assert done.returncode == 3 and "keyring" in done.stderr.lower()
    assert "Traceback" not in done.stderr
    # Only the runner's log file is new (it is opened before the profile is read), and empty.
    after = {p: p.read_bytes() for p in files_under(tmp_path)}
    assert {p.name for p in set(after) - set(before)} <= {LOG_NAME}
    assert all(after[p] == before[p] for p in before)
    assert all(after[p] == b"" for p in set(after) - set(before))


# ---------------------------------------------------------------------------------------------
# Transport safety: plain http only on loopback, certificates always checked
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://api.gateio.ws/api/v4", "http://10.0.0.5/api/v4",
                                 "http://gate.local:8080/api/v4",
                                 "http://127.0.0.1.nip.io/api/v4"])
def test_plain_http_is_refused_except_on_loopback(url: str) -> None:
    with pytest.raises(BaseUrlError, match="plain http"):
        GateClient(url, KEY, SECRET)
    with pytest.raises(Exception, match="plain http"):
        ProfileStore(SettingsStore(), KeyStore(MemoryKeyring())).set_profile(
            "x", url, KEY, SECRET)
    for loopback in ("http://127.0.0.1:9/api/v4", "http://[::1]:9/api/v4",
                     "http://localhost:9/api/v4"):
        GateClient(loopback, KEY, SECRET).close()


def test_certificate_checks_are_always_on_and_cannot_be_turned_off(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import inspect

    params = inspect.signature(GateClient.__init__).parameters
    assert not any("verify" in name or "ssl" in name or "cert" in name for name in params)
    with pytest.raises(TypeError):
        GateClient("https://api.gateio.ws/api/v4", verify=False)  # type: ignore[call-arg]
    # Blank variables that would point requests elsewhere mean the default bundle, not "off".
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    with GateClient("https://api.gateio.ws/api/v4", KEY, SECRET) as client:
        pool = client._transport.manager.connection_from_url(  # type: ignore[attr-defined]
            "https://api.gateio.ws/api/v4")
        assert pool.cert_reqs == "CERT_REQUIRED"
        assert pool.ca_certs == DEFAULT_CA_BUNDLE_PATH
    # A bundle that does not exist is a clear failure before anything is sent, not a fallback.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with GateClient("https://api.gateio.ws/api/v4", KEY, SECRET) as client, \
            pytest.raises(NetworkError, match="certificate bundle"):
        client.server_time()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_an_untrusted_certificate_is_refused_even_on_loopback(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"server_time": 1760000000000}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{httpd.server_address[1]}/api/v4"
        with GateClient(url, KEY, SECRET, timeout=3.0) as client, \
                pytest.raises(NetworkError, match="certificate"):
            client.server_time()
        # The same server is fine once its certificate is trusted the way requests lets a
        # person trust a company's certificate authority: the failure above was the check.
        with pytest.MonkeyPatch.context() as env:
            env.setenv("REQUESTS_CA_BUNDLE", str(cert))
            with GateClient(url, KEY, SECRET, timeout=3.0) as client:
                assert client.server_time() > 0
    finally:
        httpd.shutdown()
        httpd.server_close()
        with contextlib.suppress(Exception):
            thread.join(timeout=2)


# ---------------------------------------------------------------------------------------------
# The window: a profile from the keyring, arm, failures, cancel now, stop, quit
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_window_session_leaves_no_key_secret_or_signature_anywhere(
        sim: Simulator, signatures: Signatures, clean_registry: None, app_log: Path,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], qtbot: Any,
        request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("qloop")  # a running qasync loop on the test's QApplication
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    from gui.controller import AppController
    from gui.options import GuiOptions, Phase

    caplog.set_level(logging.DEBUG)
    settings = SettingsStore()
    profiles = ProfileStore(settings, KeyStore())
    profiles.set_profile("sim", sim.base_url, KEY, SECRET)
    clear_secrets()  # the window registers them itself when it loads the profile
    btc, eth = parse_target("spot:BTC_USDT"), parse_target("spot:ETH_USDT")
    app = AppController(GuiOptions(arm=[btc, eth], timeout=TIMEOUT, interval=INTERVAL),
                        settings_store=settings, journal=Journal(), profile_store=profiles,
                        use_tray=False)
    try:
        app.start()
        window = app.window
        qtbot.waitUntil(lambda: len(window.cards) == 2 and all(
            c.state is State.ARMED for c in window.cards.values()), timeout=10_000)
        assert window.profile_label.text() == "Profile: sim"
        # Failures: a proxy page, a reset, a 5xx, a 429, and a rejected signature on ETH.
        for kind, extra in (("html", {"count": 1}), ("drop", {"count": 1}),
                            ("status", {"status": 503, "count": 1}),
                            ("status", {"status": 429, "count": 1})):
            sim.add_fault(kind, scope=str(btc), **extra)  # type: ignore[arg-type]
        sim.add_fault("status", status=401, label="INVALID_KEY", scope=str(eth), count=1)
        qtbot.waitUntil(lambda: window.cards[eth].state is State.ERROR, timeout=10_000)
        qtbot.waitUntil(lambda: not sim.faults.to_json(), timeout=15_000)
        beats = window.cards[btc].status.beats  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: window.cards[btc].status.beats >= beats + 2,  # type: ignore[union-attr]
                        timeout=10_000)
        # Cancel now, confirmed in its dialog.
        qtbot.mouseClick(window.cancel_now_button, Qt.MouseButton.LeftButton)
        box = app._cancel_box
        assert box is not None
        confirm = box.findChild(QPushButton, "confirmCancelNow")
        qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any("Orders cancelled" in t or "Cancel now" in t
                                    for t in window.banner.texts()), timeout=10_000)
        # STOP, then quit.
        qtbot.mouseClick(window.arm_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.mode == "arm", timeout=15_000)
        assert sim.countdowns() == {}
        banner = "\n".join(window.banner.texts())
        journal_rows = "\n".join(" ".join(row) for row in window.journal.row_texts())
        with qtbot.waitSignal(app.finished, timeout=90_000):
            app.request_quit()
    finally:
        if app.phase is not Phase.FINISHED:
            app.spawn(app.quit_now())
            qtbot.waitUntil(lambda: app.phase is Phase.FINISHED, timeout=90_000)
    sigs = signatures.all()
    assert len(sigs) >= 8
    out, err = capfd.readouterr()
    assert_nothing_leaked({"caplog": caplog.text, "stdout": out, "stderr": err,
                           "the window's messages": banner, "the journal pane": journal_rows},
                          files_under(*user_dirs()), sigs)
