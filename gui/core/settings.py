"""Typed settings in the user's config dir: one JSON file, written atomically.

The file never holds a key or a secret: a :class:`Profile` is a name and a base URL; its key
pair lives only in the OS keyring (see :mod:`gui.core.keys`).

Where: ``platformdirs.user_config_dir("gate-killswitch")``, or ``$GATE_KILLSWITCH_CONFIG_DIR``,
or the directory handed to :class:`SettingsStore`.

A damaged file never stops the app: :meth:`SettingsStore.load` keeps every field it can read,
uses the default for the rest, copies the damaged file aside as
``settings.json.corrupt-<UTC timestamp>`` and logs a warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from gui.core.phrases import seconds_text
from gui.core.urls import BaseUrlError, validate_base_url

__all__ = [
    "APP_NAME",
    "CONFIG_DIR_ENV",
    "DEFAULT_INTERVAL",
    "DEFAULT_TIMEOUT",
    "MIN_TIMEOUT",
    "SETTINGS_FILE",
    "THEMES",
    "Profile",
    "Settings",
    "SettingsError",
    "SettingsStore",
    "config_dir",
    "is_valid_profile_name",
]

log = logging.getLogger(__name__)

APP_NAME = "gate-killswitch"
CONFIG_DIR_ENV = "GATE_KILLSWITCH_CONFIG_DIR"
SETTINGS_FILE = "settings.json"
FORMAT_VERSION = 1

DEFAULT_TIMEOUT = 60
DEFAULT_INTERVAL = 15.0
# Gate refuses a countdown shorter than 5 s (0 means "end the countdown", never a setting).
MIN_TIMEOUT = 5
# Gate documents no upper bound; a day is far beyond any sensible dead man's switch, and a bound
# keeps a typo (600000) from silently leaving orders unguarded for a week.
MAX_TIMEOUT = 86_400
#: "system" follows the desktop's colour scheme (and its changes); the others force one.
THEMES = ("system", "light", "dark")

# ASCII only: the name is the keyring's user name and appears in file names and menus.
_PROFILE_NAME_RE = re.compile(r"[A-Za-z0-9 _.\-]{1,40}")


def is_valid_profile_name(name: object) -> bool:
    """1 to 40 of ASCII letters, digits, space, ``-``, ``_``, ``.``; no space at either end."""
    return (isinstance(name, str) and _PROFILE_NAME_RE.fullmatch(name) is not None
            and name == name.strip())


def config_dir() -> Path:
    """The directory settings live in: ``$GATE_KILLSWITCH_CONFIG_DIR`` or the platform's."""
    override = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


class SettingsError(ValueError):
    """Settings that cannot be saved as they are (the message says which field and why)."""


@dataclass(frozen=True)
class Profile:
    """Where a set of keys is used. The keys themselves are in the OS keyring, never here."""

    name: str
    base_url: str


@dataclass
class Settings:
    profiles: dict[str, Profile] = field(default_factory=dict)
    last_profile: str | None = None
    targets: list[str] = field(default_factory=list)  # target texts, e.g. "spot:BTC_USDT"
    timeout: int = DEFAULT_TIMEOUT  # seconds
    interval: float = DEFAULT_INTERVAL  # seconds between beats
    window_geometry: str | None = None  # base64 of QWidget.saveGeometry()
    notices_shown: list[str] = field(default_factory=list)
    alert_sound: bool = True  # a short sound on FIRED and on "time short"
    theme: str = "system"  # one of THEMES: follow the desktop, or force light or dark
    start_at_login: bool = False  # the XDG autostart entry (Linux); off until asked for
    compact_geometry: str | None = None  # base64 of the compact strip's saveGeometry()

    @property
    def default_profile(self) -> str | None:
        """The profile the window opens without ``--profile``: the last one used, else the
        only one there is, else None."""
        if self.last_profile in self.profiles:
            return self.last_profile
        return next(iter(self.profiles)) if len(self.profiles) == 1 else None


# -- reading: every field on its own, so one bad field costs only that field ---------------------

class _Bad(Exception):
    """One field of the file is unusable; the message says why (logged, so never a value)."""


def _read_profiles(raw: object) -> tuple[dict[str, Profile], list[str]]:
    if not isinstance(raw, dict):
        raise _Bad("not an object")
    profiles: dict[str, Profile] = {}
    problems: list[str] = []
    for name, entry in raw.items():
        if not is_valid_profile_name(name):
            problems.append("a profile with an invalid name")
            continue
        url = entry.get("base_url") if isinstance(entry, dict) else None
        if not isinstance(url, str):
            problems.append(f"profile {name!r} has no base_url")
            continue
        try:
            profiles[name] = Profile(name, validate_base_url(url))
        except BaseUrlError:
            problems.append(f"profile {name!r} has an unusable base_url")
    return profiles, problems


def _read_optional_str(raw: object) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    raise _Bad("not a string")


def _read_str_list(raw: object) -> list[str]:
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return list(raw)
    raise _Bad("not a list of strings")


def _read_timeout(raw: object) -> int:
    # bool is an int to Python, never a timeout to a person.
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _Bad("not a whole number")
    if not MIN_TIMEOUT <= raw <= MAX_TIMEOUT:
        raise _Bad(f"outside {MIN_TIMEOUT}..{MAX_TIMEOUT}")
    return raw


def _read_bool(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise _Bad("not true or false")
    return raw


def _read_theme(raw: object) -> str:
    if not isinstance(raw, str) or raw not in THEMES:
        raise _Bad(f"not one of {', '.join(THEMES)}")
    return raw


def _read_interval(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _Bad("not a number")
    value = float(raw)
    if not math.isfinite(value) or value <= 0:
        raise _Bad("not a positive number")
    return value


def _check(settings: Settings) -> None:
    """Raise :class:`SettingsError` for anything :meth:`SettingsStore.save` must not write."""
    if not isinstance(settings.profiles, dict):
        raise SettingsError("profiles must be a dict of name to Profile")
    for name, profile in settings.profiles.items():
        if not isinstance(profile, Profile):
            raise SettingsError(f"profile {name!r} is not a Profile")
        if not is_valid_profile_name(name) or profile.name != name:
            raise SettingsError(
                f"profile name {name!r} is not 1 to 40 letters, digits, spaces, '-', '_' or '.' "
                "(or does not match the profile's own name)")
        try:
            validate_base_url(profile.base_url)
        except BaseUrlError as exc:
            raise SettingsError(f"profile {name!r}: {exc}") from None
    checks: list[tuple[str, Any, Any]] = [
        ("last_profile", _read_optional_str, settings.last_profile),
        ("targets", _read_str_list, settings.targets),
        ("timeout", _read_timeout, settings.timeout),
        ("interval", _read_interval, settings.interval),
        ("window_geometry", _read_optional_str, settings.window_geometry),
        ("notices_shown", _read_str_list, settings.notices_shown),
        ("alert_sound", _read_bool, settings.alert_sound),
        ("theme", _read_theme, settings.theme),
        ("start_at_login", _read_bool, settings.start_at_login),
        ("compact_geometry", _read_optional_str, settings.compact_geometry),
    ]
    for name, reader, value in checks:
        try:
            reader(value)
        except _Bad as exc:
            raise SettingsError(f"{name}: {exc}") from None
    if settings.interval >= settings.timeout:
        raise SettingsError(
            f"interval ({seconds_text(settings.interval)} s) must be shorter than timeout "
            f"({settings.timeout} s)")


def _to_json(settings: Settings) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "profiles": {name: {"base_url": validate_base_url(p.base_url)}
                     for name, p in sorted(settings.profiles.items())},
        "last_profile": settings.last_profile,
        "targets": list(settings.targets),
        "timeout": settings.timeout,
        "interval": float(settings.interval),
        "window_geometry": settings.window_geometry,
        "notices_shown": list(settings.notices_shown),
        "alert_sound": settings.alert_sound,
        "theme": settings.theme,
        "start_at_login": settings.start_at_login,
        "compact_geometry": settings.compact_geometry,
    }


def _utc_stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


class SettingsStore:
    """Loads and saves :class:`Settings` as ``settings.json`` in one directory."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self._dir_override = Path(config_dir) if config_dir is not None else None

    @property
    def directory(self) -> Path:
        # Resolved on use, so a test's monkeypatched environment applies to a store built earlier.
        return self._dir_override if self._dir_override is not None else config_dir()

    @property
    def path(self) -> Path:
        return self.directory / SETTINGS_FILE

    def load(self) -> Settings:
        """The saved settings; defaults where the file is missing or a field is unusable.

        Never raises for the file's content or for an unreadable file.
        """
        path = self.path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("Cannot read %s (%s); using default settings.", path, type(exc).__name__)
            if isinstance(exc, UnicodeDecodeError):
                self._keep_aside(path)
            return Settings()
        try:
            raw = json.loads(text)
        except ValueError:
            log.warning("%s is not valid JSON; using default settings.", path)
            self._keep_aside(path)
            return Settings()
        if not isinstance(raw, dict):
            log.warning("%s does not hold a JSON object; using default settings.", path)
            self._keep_aside(path)
            return Settings()
        settings, problems = self._from_json(raw)
        if problems:
            log.warning("Settings file %s: %s; using the defaults for those.",
                        path, "; ".join(problems))
            self._keep_aside(path)
            # Write the repaired settings back so the next start reads a clean file instead of
            # keeping another copy aside each time.
            try:
                self.save(settings)
            except (OSError, SettingsError) as exc:
                log.warning("Could not write the repaired settings to %s: %s", path, exc)
        return settings

    def _from_json(self, raw: dict[str, Any]) -> tuple[Settings, list[str]]:
        settings = Settings()
        problems: list[str] = []
        if "profiles" in raw:
            try:
                settings.profiles, profile_problems = _read_profiles(raw["profiles"])
                problems.extend(profile_problems)
            except _Bad as exc:
                problems.append(f"profiles: {exc}")
        readers: list[tuple[str, Any]] = [
            ("last_profile", _read_optional_str),
            ("targets", _read_str_list),
            ("timeout", _read_timeout),
            ("interval", _read_interval),
            ("window_geometry", _read_optional_str),
            ("notices_shown", _read_str_list),
            ("alert_sound", _read_bool),
            ("theme", _read_theme),
            ("start_at_login", _read_bool),
            ("compact_geometry", _read_optional_str),
        ]
        for name, reader in readers:
            if name not in raw:
                continue
            try:
                setattr(settings, name, reader(raw[name]))
            except _Bad as exc:
                problems.append(f"{name}: {exc}")
        if settings.last_profile is not None and settings.last_profile not in settings.profiles:
            # A dangling name is harmless (the profile was deleted); forget it quietly.
            settings.last_profile = None
        if settings.interval >= settings.timeout:
            problems.append("interval is not shorter than timeout")
            settings.timeout, settings.interval = DEFAULT_TIMEOUT, DEFAULT_INTERVAL
        return settings, problems

    def _keep_aside(self, path: Path) -> None:
        """Copy the damaged file next to itself so nothing the user wrote is lost."""
        stamp = _utc_stamp()
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        counter = 1
        while target.exists():
            counter += 1
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        try:
            shutil.copyfile(path, target)
            os.chmod(target, 0o600)
        except OSError as exc:
            log.warning("Could not keep the damaged settings file aside as %s: %s", target, exc)
            return
        log.warning("The damaged settings file was kept as %s.", target)

    def save(self, settings: Settings) -> None:
        """Write ``settings`` atomically (temporary file, then rename), mode 0600.

        Raises :class:`SettingsError` (nothing written) for a value that must not be saved,
        such as a profile whose base URL fails :func:`~gui.core.urls.validate_base_url`, and
        ``OSError`` if the file cannot be written.
        """
        _check(settings)
        # ASCII with escapes: no text (not even a lone surrogate) can make the write fail.
        data = json.dumps(_to_json(settings), indent=2, ensure_ascii=True, allow_nan=False)
        directory = self.directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Same directory as the target: os.replace is atomic only within one file system.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{SETTINGS_FILE}.", suffix=".tmp",
                                        dir=directory)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if hasattr(os, "fchmod"):  # POSIX only; mkstemp already uses 0600 there
                    os.fchmod(handle.fileno(), 0o600)
                handle.write(data + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, directory / SETTINGS_FILE)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._sync_directory(directory)

    @staticmethod
    def _sync_directory(directory: Path) -> None:
        # Makes the rename itself durable on POSIX; Windows cannot open a directory this way.
        if os.name != "posix":
            return
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
