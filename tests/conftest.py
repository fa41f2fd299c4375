"""Shared fixtures. Every test talks to a real simulator on 127.0.0.1, never to the internet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest

from gui.core.redact import clear_secrets
from gui.simulator import Simulator
from tests.memkeyring import MemoryKeyring
from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET

__all__ = ["RO_KEY", "RO_SECRET", "TEST_KEY", "TEST_SECRET"]


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """No test touches the user's config, data, cache, state, keyring or desktop."""
    home = Path(tmp_path_factory.mktemp("user"))
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        monkeypatch.setenv(f"GATE_KILLSWITCH_{name}_DIR", str(home / name.lower()))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    # The machine's proxy and CA settings would send the loopback simulator's traffic elsewhere;
    # the tests that are about them set their own.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE",
                 "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    # Nor the person's desktop: no notification reaches their session bus. The desktop tests
    # run the app in a process of its own, on a private bus (tests/desktop).
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={home / 'no-session-bus'}")
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={home / 'no-system-bus'}")
    memory = MemoryKeyring()
    # Replaced without asking keyring for the current backend, which would probe the real one.
    monkeypatch.setattr(keyring.core, "_keyring_backend", memory)
    clear_secrets()  # the redaction registry is process-wide: each test starts empty
    yield memory
    clear_secrets()


@pytest.fixture
def memory() -> MemoryKeyring:
    """A keyring of the test's own, to hand to a KeyStore explicitly."""
    return MemoryKeyring()


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """A config dir of the test's own, to hand to a SettingsStore explicitly."""
    return tmp_path / "config"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A running simulator with one read-write key and one read-only key, no open orders."""
    with Simulator(keys={TEST_KEY: TEST_SECRET}, read_only_keys={RO_KEY: RO_SECRET}) as running:
        yield running


@pytest.fixture
def demo_sim() -> Iterator[Simulator]:
    """Like ``sim``, with the demo's open spot and option orders."""
    with Simulator(keys={TEST_KEY: TEST_SECRET}, read_only_keys={RO_KEY: RO_SECRET},
                   demo=True) as running:
        yield running
