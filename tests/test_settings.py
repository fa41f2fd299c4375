"""Settings: round-trip, atomic 0600 writes, defaults, and recovery from a damaged file."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gui.core import settings as settings_mod
from gui.core.settings import (
    CONFIG_DIR_ENV,
    SETTINGS_FILE,
    Profile,
    Settings,
    SettingsError,
    SettingsStore,
    config_dir,
    is_valid_profile_name,
)
from gui.core.urls import LIVE_URL, TESTNET_URL


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Even a store built without a directory must never reach the user's real config.
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "env-config"))
    monkeypatch.setenv("GATE_KILLSWITCH_DATA_DIR", str(tmp_path / "env-data"))


def sample() -> Settings:
    return Settings(
        profiles={"main": Profile("main", LIVE_URL),
                  "test net": Profile("test net", TESTNET_URL),
                  "sim": Profile("sim", "http://127.0.0.1:8123/api/v4")},
        last_profile="main",
        targets=["spot:BTC_USDT", "options:all"],
        timeout=90,
        interval=20.5,
        window_geometry="AdnQywADAAAAAAA=",
        notices_shown=["first-run", "testnet"],
        alert_sound=False,
        theme="dark",
        start_at_login=True,
        compact_geometry="AdnQywADAAAAAAB=",
    )


def corrupt_copies(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{SETTINGS_FILE}.corrupt-*"))


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "cfg")
    assert store.load() == Settings()
    assert not (tmp_path / "cfg").exists()  # loading never creates anything


def test_defaults() -> None:
    s = Settings()
    assert s.profiles == {} and s.last_profile is None and s.targets == []
    assert s.timeout == 60 and s.interval == 15.0
    assert s.window_geometry is None and s.notices_shown == []
    # Sound on, the desktop's own scheme, and nothing started at login until asked for.
    assert s.alert_sound is True and s.theme == "system" and s.start_at_login is False


def test_round_trip(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "a" / "b")
    store.save(sample())
    assert store.load() == sample()
    assert SettingsStore(tmp_path / "a" / "b").load() == sample()


def test_file_and_dir_modes(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX modes")
    store = SettingsStore(tmp_path / "cfg")
    store.save(sample())
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "cfg").st_mode) == 0o700


def test_mode_stays_0600_when_overwriting(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX modes")
    store = SettingsStore(tmp_path)
    store.save(sample())
    os.chmod(store.path, 0o644)
    store.save(Settings())
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600


def test_file_holds_no_credentials_fields(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.save(sample())
    data = json.loads(store.path.read_text())
    assert data["profiles"]["main"] == {"base_url": LIVE_URL}
    text = store.path.read_text().lower()
    assert "secret" not in text and '"key"' not in text


def test_atomic_write_leaves_old_file_when_writing_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SettingsStore(tmp_path)
    store.save(sample())
    before = store.path.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(settings_mod.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.save(Settings())
    assert store.path.read_bytes() == before
    # The temporary file is cleaned up: only the settings file is left.
    assert [p.name for p in tmp_path.iterdir()] == [SETTINGS_FILE]


def test_write_goes_through_a_temp_file_in_the_same_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        seen.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(settings_mod.os, "replace", spy)
    store = SettingsStore(tmp_path)
    store.save(sample())
    ((src, dst),) = seen
    assert src.parent == dst.parent == tmp_path
    assert dst.name == SETTINGS_FILE and src.name != SETTINGS_FILE


def test_env_var_and_config_dir_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "from-env"))
    assert config_dir() == tmp_path / "from-env"
    store = SettingsStore()
    store.save(sample())
    assert (tmp_path / "from-env" / SETTINGS_FILE).is_file()
    # The constructor argument wins over the environment.
    assert SettingsStore(tmp_path / "arg").directory == tmp_path / "arg"


def test_platform_dir_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_DIR_ENV)
    assert "gate-killswitch" in str(config_dir())


def test_corrupt_json_gives_defaults_and_is_kept_aside(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="gui.core.settings"):
        assert store.load() == Settings()
    (aside,) = corrupt_copies(tmp_path)
    assert aside.read_text() == "{not json"
    assert any("not valid JSON" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("content", ["[]", "null", "42", '"text"', "\xff\xfe garbage"])
def test_wrong_top_level_gives_defaults(tmp_path: Path, content: str,
                                        caplog: pytest.LogCaptureFixture) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_bytes(content.encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        assert store.load() == Settings()
    assert len(corrupt_copies(tmp_path)) == 1


def test_wrong_types_lose_only_the_bad_fields(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    store = SettingsStore(tmp_path)
    store.save(sample())
    data = json.loads(store.path.read_text())
    data["timeout"] = "sixty"
    data["interval"] = True
    data["targets"] = ["spot:BTC_USDT", 7]
    data["window_geometry"] = 12
    data["alert_sound"] = "no"
    data["theme"] = "purple"
    data["start_at_login"] = 1
    data["compact_geometry"] = ["not", "base64"]
    data["profiles"]["bad url"] = {"base_url": "http://example.com/api/v4"}
    data["profiles"]["no url"] = {}
    data["profiles"]["bad/name"] = {"base_url": LIVE_URL}
    store.path.write_text(json.dumps(data))
    original = store.path.read_text()

    with caplog.at_level(logging.WARNING, logger="gui.core.settings"):
        loaded = store.load()
    expected = sample()
    expected.timeout, expected.interval = 60, 15.0
    expected.targets = []
    expected.window_geometry = None
    expected.alert_sound, expected.theme, expected.start_at_login = True, "system", False
    expected.compact_geometry = None
    assert loaded == expected
    (aside,) = corrupt_copies(tmp_path)
    assert aside.read_text() == original
    assert caplog.records
    # The repaired settings were written back: the next load is clean and keeps nothing aside.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gui.core.settings"):
        assert store.load() == expected
    assert not caplog.records
    assert len(corrupt_copies(tmp_path)) == 1


def test_out_of_range_numbers_fall_back(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"timeout": 2, "interval": -1}))
    loaded = store.load()
    assert (loaded.timeout, loaded.interval) == (60, 15.0)
    store.path.write_text(json.dumps({"timeout": 30, "interval": 45}))
    loaded = store.load()
    assert (loaded.timeout, loaded.interval) == (60, 15.0)


def test_unknown_fields_are_ignored_quietly(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"version": 9, "future_option": [1, 2], "timeout": 120}))
    with caplog.at_level(logging.WARNING):
        assert store.load().timeout == 120
    assert not caplog.records
    assert not corrupt_copies(tmp_path)


def test_dangling_last_profile_is_forgotten(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"last_profile": "gone"}))
    assert store.load().last_profile is None


def test_unreadable_file_does_not_crash(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.mkdir()  # a directory where the file should be: reading raises OSError
    assert store.load() == Settings()


def test_save_rejects_a_bad_base_url(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    s = Settings(profiles={"x": Profile("x", "http://example.com/api/v4")})
    with pytest.raises(SettingsError, match="'x'"):
        store.save(s)
    assert not store.path.exists()


@pytest.mark.parametrize("bad", [
    Settings(profiles={"a": Profile("b", LIVE_URL)}),
    Settings(profiles={" lead": Profile(" lead", LIVE_URL)}),
    Settings(timeout=3),
    Settings(timeout=60, interval=60),
    Settings(interval=0),
    Settings(targets="spot:all"),  # type: ignore[arg-type]
    Settings(theme="purple"),
    Settings(alert_sound=1),  # type: ignore[arg-type]
    Settings(start_at_login="yes"),  # type: ignore[arg-type]
])
def test_save_rejects_invalid_values(tmp_path: Path, bad: Settings) -> None:
    with pytest.raises(SettingsError):
        SettingsStore(tmp_path).save(bad)
    assert list(tmp_path.iterdir()) == []


def test_save_normalises_base_url(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.save(Settings(profiles={"m": Profile("m", "https://api.gateio.ws/api/v4/")}))
    assert store.load().profiles["m"].base_url == LIVE_URL


@pytest.mark.parametrize(("name", "ok"), [
    ("main", True), ("Test net 2", True), ("a-b_c.d", True), ("x" * 40, True),
    ("", False), ("x" * 41, False), ("a/b", False), (" lead", False), ("trail ", False),
    ("naïve", False), ("tab\tname", False), (None, False),
])
def test_profile_names(name: object, ok: bool) -> None:
    assert is_valid_profile_name(name) is ok


@hsettings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    targets=st.lists(st.text(max_size=30), max_size=5),
    notices=st.lists(st.text(max_size=30), max_size=5),
    geometry=st.none() | st.text(max_size=60),
    timeout=st.integers(min_value=5, max_value=86_400),
    fraction=st.floats(min_value=0.01, max_value=0.99),
)
def test_round_trip_property(tmp_path: Path, targets: list[str], notices: list[str],
                             geometry: str | None, timeout: int, fraction: float) -> None:
    store = SettingsStore(tmp_path / "prop")
    s = Settings(targets=targets, notices_shown=notices, window_geometry=geometry,
                 timeout=timeout, interval=timeout * fraction)
    store.save(s)
    assert store.load() == s
