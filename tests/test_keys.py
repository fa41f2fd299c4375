"""Keys: the keyring store, profiles across settings and keyring, and log redaction."""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from keyring.backend import KeyringBackend
from keyring.backends import chainer
from keyring.errors import InitError, NoKeyringError, PasswordSetError

from gui.core import keys as keys_mod
from gui.core.keys import (
    SERVICE,
    Credentials,
    InvalidCredentials,
    InvalidProfile,
    KeyringUnavailable,
    KeysError,
    KeyStore,
    MissingCredentials,
    ProfileInfo,
    ProfileSaveError,
    ProfileStore,
    UnknownProfile,
    keyring_fix_hint,
    validate_credentials,
)
from gui.core.redact import (
    RedactingFilter,
    install_redaction,
    redact,
    register_secret,
)
from gui.core.settings import Profile, Settings, SettingsStore
from gui.core.urls import LIVE_URL, TESTNET_URL
from tests.memkeyring import (
    AltFileKeyring,
    EmptyChainer,
    LockedKeyring,
    MemoryKeyring,
    PlaintextKeyring,
    no_backend,
    null_backend,
)

KEY = "0123456789abcdef0123456789abcdef"
SECRET = "f" * 32 + "e" * 16 + "0123456789abcdef"
KEY2 = "a1" * 16
SECRET2 = "b2" * 32


@pytest.fixture
def profiles(memory: MemoryKeyring, cfg: Path) -> ProfileStore:
    return ProfileStore(SettingsStore(cfg), KeyStore(memory))


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


# -- Credentials ----------------------------------------------------------------------------------

def test_credentials_repr_and_str_hide_the_secret() -> None:
    c = Credentials(KEY, SECRET)
    for text in (repr(c), str(c), f"{c}", f"{c!r}", format(c), repr([c]), repr({"c": c})):
        assert SECRET not in text
        assert KEY not in text and KEY[:5] not in text
        assert "***" in text
    assert repr(c) == "Credentials(key='0123…', secret=***)"


def test_credentials_short_key_repr() -> None:
    assert repr(Credentials("abcd", "x")) == "Credentials(key='…', secret=***)"


def test_credentials_refuse_pickle_but_copy() -> None:
    c = Credentials(KEY, SECRET)
    with pytest.raises(TypeError):
        pickle.dumps(c)
    assert copy.copy(c) is c and copy.deepcopy(c) is c
    with pytest.raises(AttributeError):
        c.key = "x"  # type: ignore[misc]


# -- validation -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "secret", "words"), [
    ("", SECRET, "empty"),
    (KEY, "", "empty"),
    ("short7!", SECRET, "7 characters"),
    (KEY, "x" * 257, "257 characters"),
    (KEY[:10] + " " + KEY[10:], SECRET, "spaces"),
    (KEY, SECRET + "\n", "spaces"),
    (KEY, SECRET[:20] + "\x00" + SECRET[20:], "printable ASCII"),
    (KEY, SECRET[:20] + "\x7f" + SECRET[20:], "printable ASCII"),
    (KEY[:10] + "é" + KEY[10:], SECRET, "printable ASCII"),
    (KEY, KEY, "same"),
])
def test_invalid_credentials_rejected_without_echo(key: str, secret: str, words: str) -> None:
    with pytest.raises(InvalidCredentials) as info:
        validate_credentials(key, secret)
    message = str(info.value)
    assert words in message
    for value in (key, secret):
        if len(value) >= 4:
            assert value not in message
            assert value.strip()[:8] not in message


def test_valid_non_hex_credentials_accepted() -> None:
    validate_credentials("proxy-KEY_01", "S3cr3t!#%&*+/=?^~{}")
    validate_credentials("k" * 8, "s" * 256)


@given(middle=st.text(min_size=1, max_size=40))
def test_invalid_value_is_never_echoed(middle: str) -> None:
    secret = "Zq9" + middle + "\t" + "Xv7"
    with pytest.raises(InvalidCredentials) as info:
        validate_credentials(KEY, secret)
    message = str(info.value)
    assert "Zq9" not in message and "Xv7" not in message


# -- KeyStore -------------------------------------------------------------------------------------

def test_store_load_delete(memory: MemoryKeyring) -> None:
    store = KeyStore(memory)
    assert not store.has("main")
    store.store("main", KEY, SECRET)
    assert store.has("main")
    # One entry per profile, the pair as compact JSON: written in one step.
    assert list(memory.entries) == [(SERVICE, "main")]
    assert json.loads(memory.entries[(SERVICE, "main")]) == {"key": KEY, "secret": SECRET}
    assert " " not in memory.entries[(SERVICE, "main")]
    assert store.load("main") == Credentials(KEY, SECRET)
    store.store("main", KEY2, SECRET2)
    assert store.load("main") == Credentials(KEY2, SECRET2)
    store.delete("main")
    assert not store.has("main") and memory.entries == {}
    store.delete("main")  # deleting what is not there is fine


def test_load_missing(memory: MemoryKeyring) -> None:
    with pytest.raises(MissingCredentials, match="keys set main"):
        KeyStore(memory).load("main")


@pytest.mark.parametrize("raw", [
    "not json " + SECRET,
    json.dumps({"key": KEY}),
    json.dumps({"key": KEY, "secret": "bad secret " + SECRET}),
    json.dumps([KEY, SECRET]),
])
def test_load_foreign_entry(memory: MemoryKeyring, raw: str) -> None:
    memory.set_password(SERVICE, "main", raw)
    with pytest.raises(InvalidCredentials) as info:
        KeyStore(memory).load("main")
    assert SECRET not in str(info.value) and KEY not in str(info.value)


def test_store_rejects_invalid_without_writing(memory: MemoryKeyring) -> None:
    store = KeyStore(memory)
    with pytest.raises(InvalidCredentials):
        store.store("main", KEY, "short")
    with pytest.raises(InvalidProfile):
        store.store("bad/name", KEY, SECRET)
    assert memory.entries == {}


def test_load_registers_secrets_for_redaction(memory: MemoryKeyring) -> None:
    memory.set_password(SERVICE, "main", json.dumps({"key": KEY, "secret": SECRET}))
    assert redact(f"x {SECRET} y") == f"x {SECRET} y"
    KeyStore(memory).load("main")
    assert redact(f"x {SECRET} y {KEY}") == "x *** y ***"


def test_backend_name(memory: MemoryKeyring) -> None:
    assert KeyStore(memory).backend_name == MemoryKeyring.name
    ok_chain = type("OkChain", (chainer.ChainerBackend,), {"backends": [memory]})
    KeyringBackend._classes.discard(ok_chain)  # type: ignore[attr-defined]
    assert KeyStore(ok_chain()).backend_name == MemoryKeyring.name


class ZeroPriority(MemoryKeyring):
    priority = 0  # type: ignore[assignment]


class NotHere(MemoryKeyring):
    @property  # type: ignore[misc]
    def priority(self) -> float:  # type: ignore[override]
        raise RuntimeError("requires a D-Bus session")


for _cls in (ZeroPriority, NotHere):
    KeyringBackend._classes.discard(_cls)  # type: ignore[attr-defined]


def _chain(*members: KeyringBackend) -> KeyringBackend:
    cls = type("TestChain", (chainer.ChainerBackend,), {"backends": list(members)})
    KeyringBackend._classes.discard(cls)  # type: ignore[attr-defined]
    return cls()


UNUSABLE = {
    "fail": no_backend,
    "null": null_backend,
    "plaintext": PlaintextKeyring,
    "alt-file": AltFileKeyring,
    "empty-chain": EmptyChainer,
    "chain-of-plaintext": lambda: _chain(PlaintextKeyring(), MemoryKeyring()),
    "zero-priority": ZeroPriority,
    "priority-raises": NotHere,
}


@pytest.mark.parametrize("make", UNUSABLE.values(), ids=list(UNUSABLE))
def test_unusable_backend_refused(make: object, cfg: Path) -> None:
    backend = make()  # type: ignore[operator]
    store = KeyStore(backend)
    with pytest.raises(KeyringUnavailable) as info:
        store.check_backend()
    assert "keyring" in str(info.value).lower()
    for op in (lambda: store.store("main", KEY, SECRET), lambda: store.load("main"),
               lambda: store.has("main"), lambda: store.delete("main")):
        with pytest.raises(KeyringUnavailable):
            op()
    with pytest.raises(KeyringUnavailable):
        ProfileStore(SettingsStore(cfg), store).set_profile("main", LIVE_URL, KEY, SECRET)
    assert not cfg.exists()
    if isinstance(backend, MemoryKeyring):
        assert backend.entries == {}


def test_usable_chain(memory: MemoryKeyring) -> None:
    store = KeyStore(_chain(memory, PlaintextKeyring()))
    store.check_backend()
    store.store("main", KEY, SECRET)
    assert (SERVICE, "main") in memory.entries


def test_plaintext_message_names_the_problem() -> None:
    with pytest.raises(KeyringUnavailable, match="plain file"):
        KeyStore(PlaintextKeyring()).check_backend()


def test_locked_keyring(cfg: Path) -> None:
    store = KeyStore(LockedKeyring())
    store.check_backend()  # a locked keyring is a real one: it fails on use
    with pytest.raises(KeyringUnavailable, match="unlock your keyring"):
        store.store("main", KEY, SECRET)
    with pytest.raises(KeyringUnavailable, match="unlock your keyring"):
        store.load("main")
    with pytest.raises(KeyringUnavailable):
        ProfileStore(SettingsStore(cfg), store).set_profile("main", LIVE_URL, KEY, SECRET)
    assert not cfg.exists()


@pytest.mark.parametrize("error", [
    NoKeyringError("none"), InitError("init"), PasswordSetError("set"),
    OSError("D-Bus went away"),
])
def test_backend_errors_become_keyring_unavailable(memory: MemoryKeyring, error: Exception,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(service: str, username: str, password: str) -> None:
        raise error

    monkeypatch.setattr(memory, "set_password", boom)
    with pytest.raises(KeyringUnavailable) as info:
        KeyStore(memory).store("main", KEY, SECRET)
    assert type(error).__name__ in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_backend_error_text_is_not_passed_on(memory: MemoryKeyring,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Some backends quote what they were handed; that text must not reach our message.
    def boom(service: str, username: str, password: str) -> None:
        raise PasswordSetError(f"cannot store {password}")

    monkeypatch.setattr(memory, "set_password", boom)
    with pytest.raises(KeyringUnavailable) as info:
        KeyStore(memory).store("main", KEY, SECRET)
    assert SECRET not in str(info.value) and KEY not in str(info.value)


def test_fix_hints() -> None:
    linux = keyring_fix_hint("linux")
    assert "GNOME Keyring" in linux and "KWallet" in linux and "apt install gnome-keyring" in linux
    assert "Credential Manager" in keyring_fix_hint("win32")
    assert "Keychain" in keyring_fix_hint("darwin")


def test_default_backend_is_resolved_lazily(monkeypatch: pytest.MonkeyPatch,
                                            memory: MemoryKeyring) -> None:
    calls: list[int] = []

    def fake_get_keyring() -> KeyringBackend:
        calls.append(1)
        return memory

    monkeypatch.setattr(keys_mod.keyring, "get_keyring", fake_get_keyring)
    store = KeyStore()
    assert calls == []
    store.store("main", KEY, SECRET)
    assert calls == [1] and (SERVICE, "main") in memory.entries


def test_exceptions_derive_from_keys_error() -> None:
    for exc in (KeyringUnavailable, InvalidCredentials, MissingCredentials, InvalidProfile,
                UnknownProfile, ProfileSaveError):
        assert issubclass(exc, KeysError)


# -- ProfileStore ---------------------------------------------------------------------------------

def test_set_list_credentials_delete(profiles: ProfileStore, memory: MemoryKeyring,
                                     cfg: Path) -> None:
    profiles.set_profile("main", LIVE_URL, KEY, SECRET)
    profiles.set_profile("test", TESTNET_URL + "/", KEY2, SECRET2)
    # The first profile saved is the default: the one the window opens without --profile.
    assert profiles.list_profiles() == [ProfileInfo("main", LIVE_URL, True, default=True),
                                        ProfileInfo("test", TESTNET_URL, True)]
    assert profiles.credentials("test") == Credentials(KEY2, SECRET2)
    settings = SettingsStore(cfg).load()
    assert settings.last_profile == "main"
    for path in files_under(cfg):
        text = path.read_text()
        assert SECRET not in text and KEY not in text

    profiles.delete_profile("main")
    assert [p.name for p in profiles.list_profiles()] == ["test"]
    assert (SERVICE, "main") not in memory.entries
    assert SettingsStore(cfg).load().last_profile is None
    with pytest.raises(UnknownProfile):
        profiles.delete_profile("main")
    with pytest.raises(UnknownProfile):
        profiles.credentials("main")


def test_list_shows_missing_keys(profiles: ProfileStore, memory: MemoryKeyring) -> None:
    profiles.set_profile("main", LIVE_URL, KEY, SECRET)
    memory.entries.clear()  # e.g. removed by hand in the keyring's own app
    assert profiles.list_profiles() == [ProfileInfo("main", LIVE_URL, False, default=True)]
    with pytest.raises(MissingCredentials):
        profiles.credentials("main")


def test_delete_removes_orphan_keyring_entry(profiles: ProfileStore,
                                             memory: MemoryKeyring) -> None:
    KeyStore(memory).store("orphan", KEY, SECRET)
    profiles.delete_profile("orphan")
    assert memory.entries == {}


@pytest.mark.parametrize(("name", "url", "key", "secret", "error"), [
    ("bad/name", LIVE_URL, KEY, SECRET, InvalidProfile),
    ("main", "http://example.com/api/v4", KEY, SECRET, InvalidProfile),
    ("main", "https://api.gateio.ws", KEY, SECRET, InvalidProfile),
    ("main", LIVE_URL, KEY, "short", InvalidCredentials),
    ("main", LIVE_URL, "with space " + KEY, SECRET, InvalidCredentials),
])
def test_set_profile_rejects_bad_input(profiles: ProfileStore, memory: MemoryKeyring, cfg: Path,
                                       name: str, url: str, key: str, secret: str,
                                       error: type[Exception]) -> None:
    with pytest.raises(error):
        profiles.set_profile(name, url, key, secret)
    assert memory.entries == {} and not cfg.exists()


def test_rollback_of_a_new_profile_when_settings_fail(
        profiles: ProfileStore, memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_save(settings: Settings) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(profiles.settings_store, "save", broken_save)
    with pytest.raises(ProfileSaveError) as info:
        profiles.set_profile("main", LIVE_URL, KEY, SECRET)
    assert "read-only file system" in str(info.value)
    assert SECRET not in str(info.value)
    assert memory.entries == {}


def test_rollback_restores_the_previous_pair(profiles: ProfileStore, memory: MemoryKeyring,
                                             cfg: Path) -> None:
    profiles.set_profile("main", LIVE_URL, KEY, SECRET)
    before = files_under(cfg)
    contents = {p: p.read_bytes() for p in before}
    # A file where the config directory should be: the settings cannot be written.
    real_dir = cfg.rename(cfg.with_name("moved"))
    cfg.write_text("in the way")
    try:
        with pytest.raises(ProfileSaveError):
            profiles.set_profile("main", TESTNET_URL, KEY2, SECRET2)
    finally:
        cfg.unlink()
        real_dir.rename(cfg)
    assert KeyStore(memory).load("main") == Credentials(KEY, SECRET)
    assert {p: p.read_bytes() for p in files_under(cfg)} == contents


def test_rollback_failure_is_logged(profiles: ProfileStore, memory: MemoryKeyring,
                                    monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    def broken_save(settings: Settings) -> None:
        raise OSError("disk full")

    def broken_delete(service: str, username: str) -> None:
        raise PasswordSetError("locked meanwhile")

    monkeypatch.setattr(profiles.settings_store, "save", broken_save)
    monkeypatch.setattr(memory, "delete_password", broken_delete)
    with caplog.at_level(logging.ERROR, logger="gui.core.keys"), \
            pytest.raises(ProfileSaveError):
        profiles.set_profile("main", LIVE_URL, KEY, SECRET)
    assert any("keys delete main" in r.getMessage() for r in caplog.records)
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_delete_profile_with_locked_keyring_changes_nothing(cfg: Path,
                                                            memory: MemoryKeyring) -> None:
    ProfileStore(SettingsStore(cfg), KeyStore(memory)).set_profile("main", LIVE_URL, KEY, SECRET)
    contents = {p: p.read_bytes() for p in files_under(cfg)}
    locked = ProfileStore(SettingsStore(cfg), KeyStore(LockedKeyring()))
    with pytest.raises(KeyringUnavailable):
        locked.delete_profile("main")
    assert {p: p.read_bytes() for p in files_under(cfg)} == contents


def test_settings_other_fields_survive_set_profile(profiles: ProfileStore, cfg: Path) -> None:
    SettingsStore(cfg).save(Settings(targets=["spot:all"], timeout=120, interval=30.0,
                                     profiles={"old": Profile("old", LIVE_URL)},
                                     last_profile="old"))
    profiles.set_profile("new", TESTNET_URL, KEY, SECRET)
    s = SettingsStore(cfg).load()
    assert s.targets == ["spot:all"] and s.timeout == 120 and s.last_profile == "old"
    assert set(s.profiles) == {"old", "new"}


# -- redaction ------------------------------------------------------------------------------------

def test_redact_registry() -> None:
    register_secret("abc")  # too short: would mask ordinary words
    register_secret(SECRET)
    register_secret(SECRET[:20])  # contained in the longer one: the longer one is masked whole
    assert redact("abc") == "abc"
    assert redact(f"[{SECRET}] [{SECRET[:20]}]") == "[***] [***]"
    assert redact("") == ""


def test_register_is_thread_safe() -> None:
    values = [f"secret-value-{i:04d}" for i in range(400)]

    def register(chunk: list[str]) -> None:
        for v in chunk:
            register_secret(v)

    threads = [threading.Thread(target=register, args=(values[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(redact(v) == "***" for v in values)


@pytest.fixture
def log_stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.redaction")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    install_redaction(logger)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_filter_scrubs_message_and_args(log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_stream
    register_secret(SECRET)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logger.addHandler(keep)
    install_redaction(logger)
    try:
        logger.info("plain " + SECRET)
        logger.info("args %s and %d", SECRET, 7)
        logger.info("dict %(s)s", {"s": SECRET})
        logger.info("repr %r", [SECRET])
        logger.info("nothing secret %s %d", "here", 3)
    finally:
        logger.removeHandler(keep)
    out = stream.getvalue()
    assert SECRET not in out
    assert out.count("***") == 4
    assert "args *** and 7" in out and "nothing secret here 3" in out
    for record in records[:4]:
        assert SECRET not in str(record.msg) and SECRET not in repr(record.args)
    assert records[4].args == ("here", 3)  # records without secrets are left alone


def test_filter_scrubs_traceback(log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_stream
    register_secret(SECRET)
    try:
        raise ValueError(f"signature mismatch for {SECRET}")
    except ValueError:
        logger.exception("request failed")
    out = stream.getvalue()
    assert "Traceback" in out and "ValueError: signature mismatch for ***" in out
    assert SECRET not in out


def test_filter_scrubs_stack_info(log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_stream
    register_secret(SECRET)
    logger.info("here", stack_info=True)
    logger.info("line " + SECRET, stack_info=True)
    assert SECRET not in stream.getvalue()


def test_install_redaction_on_root_is_idempotent() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        first = install_redaction()
        second = install_redaction()
        assert first is second
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)


def test_filter_survives_bad_format_args() -> None:
    register_secret(SECRET)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d " + SECRET, ("nope",), None)
    assert RedactingFilter().filter(record)
    assert SECRET not in str(record.msg)
