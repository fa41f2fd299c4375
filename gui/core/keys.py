"""Profiles and their secrets: the key pair lives only in the OS keyring.

A profile is a name and a base URL (in the settings file, see :mod:`gui.core.settings`) plus
one keyring entry: service ``gate-killswitch``, user name = profile name, password = compact JSON
``{"key": ..., "secret": ...}``. One entry per profile means a pair is written or replaced in
one step: a crash can never leave a new key next to an old secret.

Where no trustworthy keyring exists (no Secret Service on Linux, a plaintext file backend, a
locked keyring), every operation raises :class:`KeyringUnavailable` with the fix, and nothing
is stored anywhere: the app does not fall back to a file.

No key, secret or part of one beyond the key's first four characters ever reaches a message,
a repr, a log or the settings file.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from gui.core.redact import register_secret
from gui.core.settings import Profile, SettingsStore, is_valid_profile_name
from gui.core.urls import BaseUrlError, validate_base_url

__all__ = [
    "SERVICE",
    "Credentials",
    "InvalidCredentials",
    "InvalidProfile",
    "KeyStore",
    "KeyringUnavailable",
    "KeysError",
    "MissingCredentials",
    "ProfileInfo",
    "ProfileSaveError",
    "ProfileStore",
    "ProfileSurvey",
    "UnknownProfile",
    "keyring_fix_hint",
    "validate_credentials",
    "validate_profile_name",
]

log = logging.getLogger(__name__)

SERVICE = "gate-killswitch"
MIN_LENGTH = 8
MAX_LENGTH = 256

_T = TypeVar("_T")


class KeysError(Exception):
    """Base of every failure in this module."""


class KeyringUnavailable(KeysError):
    """No usable OS keyring (missing, plaintext, locked, failing). Nothing was stored."""


class InvalidCredentials(KeysError):
    """A key or secret that cannot be right. The message never contains the value."""


class MissingCredentials(KeysError):
    """The profile has no key pair in the keyring."""


class InvalidProfile(KeysError):
    """A profile name or base URL that cannot be used."""


class UnknownProfile(KeysError):
    """No profile of that name."""


class ProfileSaveError(KeysError):
    """The settings file could not be written; the keyring was put back as it was."""


# -- credentials ---------------------------------------------------------------------------------

def _mask_key(key: str) -> str:
    return f"{key[:4]}…" if len(key) > 4 else "…"


@dataclass(frozen=True)
class Credentials:
    """An API key and its secret. ``repr``/``str`` show at most the key's first 4 characters."""

    key: str = field(repr=False)
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(key={_mask_key(self.key)!r}, secret=***)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the secret to wherever the pickle goes (a queue, a file, a
        # crash dump); nothing in this app needs it.
        raise TypeError("Credentials cannot be pickled")

    # Immutable, so a copy can be the object itself; without these, copy would try __reduce__.
    def __copy__(self) -> Credentials:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Credentials:
        return self


def validate_credentials(key: str, secret: str) -> None:
    """Raise :class:`InvalidCredentials` unless both look like an API key and secret.

    Printable ASCII without spaces, 8 to 256 characters. Gate's are 32 and 64 hex characters,
    but proxies and test networks may differ, so hex is not required.
    """
    for what, value in (("API key", key), ("API secret", secret)):
        if not isinstance(value, str):
            raise InvalidCredentials(f"The {what} must be text.")
        if not value:
            raise InvalidCredentials(f"The {what} is empty.")
        if any(ch.isspace() for ch in value):
            raise InvalidCredentials(
                f"The {what} contains spaces or line breaks; copy it again without them.")
        if any(not 0x21 <= ord(ch) <= 0x7E for ch in value):
            raise InvalidCredentials(
                f"The {what} contains characters that are not printable ASCII (control "
                "characters or non-Latin letters); copy it again from Gate's API key page.")
        if not MIN_LENGTH <= len(value) <= MAX_LENGTH:
            raise InvalidCredentials(
                f"The {what} is {len(value)} characters long; expected {MIN_LENGTH} to "
                f"{MAX_LENGTH} (Gate's keys are 32 and secrets 64 characters).")
    if key == secret:
        raise InvalidCredentials("The API key and the secret are the same; paste each one once.")


def validate_profile_name(name: str) -> str:
    if not is_valid_profile_name(name):
        raise InvalidProfile(
            "A profile name is 1 to 40 letters (A-Z), digits, spaces, '-', '_' or '.', "
            "with no space at either end.")
    return name


# -- which backends can be trusted ---------------------------------------------------------------

def keyring_fix_hint(platform: str | None = None) -> str:
    """What a person should do to get a usable keyring on ``platform`` (default: this one)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux") or platform.startswith("freebsd"):
        return ("Install and unlock a Secret Service provider such as GNOME Keyring or KWallet "
                "(for example: sudo apt install gnome-keyring), then log out and in again so "
                "it starts and unlocks with your session.")
    if platform == "win32":
        return ("On Windows the built-in Credential Manager is used: run the app as your normal "
                "user (not a service account) and check that Credential Manager works.")
    if platform == "darwin":
        return ("On macOS the built-in Keychain is used: unlock your login keychain in Keychain "
                "Access and allow the app when macOS asks.")
    return "Install and unlock an OS keyring supported by the Python 'keyring' package."


def _class_path(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _unusable_reason(backend: KeyringBackend) -> str | None:
    """Why ``backend`` must not hold a secret, or None if it may."""
    from keyring.backends import chainer, fail, null

    module = type(backend).__module__.lower()
    name = type(backend).__qualname__.lower()
    if isinstance(backend, fail.Keyring):
        return "no keyring backend is available"
    if isinstance(backend, null.Keyring):
        return "the keyring is switched off (null backend)"
    if "plaintext" in module or "plaintext" in name:
        return f"{_class_path(backend)} stores secrets in a plain file"
    if module == "keyrings.alt" or module.startswith("keyrings.alt."):
        # keyrings.alt's backends keep secrets in files under the home directory (plain,
        # or encrypted with a password typed at a prompt this app cannot show); the keyring
        # project itself does not recommend them.
        return f"{_class_path(backend)} keeps secrets in a file, not in the OS keyring"
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        if not members:
            return "no keyring backend is available"
        # A chainer writes into its first member that accepts writes: that one must be safe.
        return _unusable_reason(members[0])
    try:
        priority = float(backend.priority)
    except Exception as exc:  # a backend's priority raises when it cannot work here
        return f"{_class_path(backend)} cannot work here ({type(exc).__name__})"
    if priority <= 0:
        return f"{_class_path(backend)} is not a usable keyring (priority {priority:g})"
    return None


def _backend_label(backend: KeyringBackend) -> str:
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        if members:
            return _backend_label(members[0])
    try:
        return str(backend.name)
    except Exception:
        return type(backend).__name__


# -- the keyring ---------------------------------------------------------------------------------

class KeyStore:
    """One keyring entry per profile. Pass ``backend`` in tests; default: ``keyring``'s choice."""

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> KeyringBackend:
        if self._backend is None:
            # Resolved on first use: asking keyring which backend to use can be slow (D-Bus).
            self._backend = keyring.get_keyring()
        return self._backend

    @property
    def backend_name(self) -> str:
        """The keyring's name for people, such as ``SecretService Keyring``."""
        return _backend_label(self.backend)

    def check_backend(self) -> None:
        """Raise :class:`KeyringUnavailable` unless the backend is a real OS keyring."""
        try:
            backend = self.backend
        except Exception as exc:
            raise KeyringUnavailable(
                f"No usable OS keyring: it could not be opened ({type(exc).__name__}). "
                f"{keyring_fix_hint()}") from None
        reason = _unusable_reason(backend)
        if reason is not None:
            raise KeyringUnavailable(
                f"No usable OS keyring: {reason}. The API key and secret are stored only in "
                f"the OS keyring, never in a file. {keyring_fix_hint()}")

    @contextmanager
    def _mapped_errors(self, doing: str) -> Iterator[None]:
        """Turn whatever the backend raises into :class:`KeyringUnavailable` with the fix."""
        try:
            yield
        except KeysError:
            raise
        except keyring.errors.KeyringLocked:
            raise KeyringUnavailable(
                f"The OS keyring is locked, so the keys could not be {doing}: unlock your "
                f"keyring (log in again, or unlock it in its own app) and retry. "
                f"{keyring_fix_hint()}") from None
        except Exception as exc:
            # The backend's own message is left out on purpose: some backends echo what they
            # were handed. The type is enough to look it up.
            raise KeyringUnavailable(
                f"The OS keyring failed, so the keys could not be {doing} "
                f"({type(exc).__name__}). {keyring_fix_hint()}") from None

    def _call(self, doing: str, op: Callable[[KeyringBackend], _T]) -> _T:
        self.check_backend()
        with self._mapped_errors(doing):
            return op(self.backend)

    def _get_raw(self, profile: str) -> str | None:
        return self._call("read", lambda b: b.get_password(SERVICE, profile))

    def _set_raw(self, profile: str, raw: str) -> None:
        self._call("saved", lambda b: b.set_password(SERVICE, profile, raw))

    def _delete_raw(self, profile: str) -> None:
        self._call("deleted", lambda b: b.delete_password(SERVICE, profile))

    def store(self, profile: str, key: str, secret: str) -> None:
        """Save (or replace) the profile's key pair as one keyring entry."""
        validate_profile_name(profile)
        validate_credentials(key, secret)
        register_secret(key)
        register_secret(secret)
        raw = json.dumps({"key": key, "secret": secret}, separators=(",", ":"))
        self._set_raw(profile, raw)

    def load(self, profile: str) -> Credentials:
        """The profile's key pair; :class:`MissingCredentials` if none is stored."""
        validate_profile_name(profile)
        raw = self._get_raw(profile)
        if raw is None:
            raise MissingCredentials(
                f"No API key is stored for profile {profile!r}: set it with "
                f"'gate-killswitch keys set {profile}' or in the Keys dialog.")
        try:
            data = json.loads(raw)
            key, secret = data["key"], data["secret"]
            validate_credentials(key, secret)
        except (ValueError, TypeError, KeyError, InvalidCredentials):
            # Another program may have written this entry; what is wrong with it stays out of
            # the message, which could otherwise quote a piece of it.
            raise InvalidCredentials(
                f"The keyring entry for profile {profile!r} is not a key pair this app saved; "
                "set the key and secret again.") from None
        register_secret(key)
        register_secret(secret)
        return Credentials(key, secret)

    def delete(self, profile: str) -> None:
        """Remove the profile's key pair; no error if there is none."""
        validate_profile_name(profile)
        if self._get_raw(profile) is None:
            return
        self._delete_raw(profile)

    def has(self, profile: str) -> bool:
        validate_profile_name(profile)
        return self._get_raw(profile) is not None


# -- profiles: settings and keyring together -----------------------------------------------------

@dataclass(frozen=True)
class ProfileInfo:
    """A profile as a list shows it. ``has_keys`` is None when the keyring could not say."""

    name: str
    base_url: str
    has_keys: bool | None
    default: bool = False  # the one the window opens without --profile


@dataclass(frozen=True)
class ProfileSurvey:
    """Every profile, and why the keyring could not say which have keys (None: it could)."""

    profiles: list[ProfileInfo]
    keyring_problem: KeyringUnavailable | None = None


class ProfileStore:
    """Profiles across both stores: the name and URL in settings, the pair in the keyring."""

    def __init__(self, settings_store: SettingsStore, key_store: KeyStore) -> None:
        self.settings_store = settings_store
        self.key_store = key_store

    def set_profile(self, name: str, base_url: str, key: str, secret: str) -> Profile:
        """Create or replace a profile.

        Everything is checked before anything is written; the keyring is written first and
        the settings second. If the keyring fails, nothing is written anywhere; if the settings
        fail, the keyring entry is put back as it was and :class:`ProfileSaveError` is raised.
        """
        validate_profile_name(name)
        try:
            url = validate_base_url(base_url)
        except BaseUrlError as exc:
            raise InvalidProfile(str(exc)) from None
        validate_credentials(key, secret)
        self.key_store.check_backend()

        # Kept to restore on failure: deleting would lose a working pair the user replaces.
        previous = self.key_store._get_raw(name)
        self.key_store.store(name, key, secret)
        try:
            # Loaded only now: loading can rewrite a damaged file, and nothing may be written
            # before the keyring has accepted the pair.
            settings = self.settings_store.load()
            profile = Profile(name, url)
            settings.profiles[name] = profile
            if settings.last_profile is None:
                settings.last_profile = name
            self.settings_store.save(settings)
        except Exception as exc:
            self._roll_back(name, previous)
            raise ProfileSaveError(
                f"The settings file could not be written ({type(exc).__name__}: {exc}); the "
                f"keyring was left as it was before. Profile {name!r} was not saved.") from exc
        return profile

    def _roll_back(self, name: str, previous: str | None) -> None:
        try:
            if previous is None:
                self.key_store._delete_raw(name)
            else:
                self.key_store._set_raw(name, previous)
        except KeysError:
            log.error("Could not undo the keyring write for profile %r: its new key pair is "
                      "still in the OS keyring. Delete it with 'gate-killswitch keys delete %s'.",
                      name, name)

    def delete_profile(self, name: str) -> None:
        """Remove the profile's key pair from the keyring, then its entry from the settings.

        Keyring first: if it cannot be reached, the profile stays listed rather than leaving an
        unlisted pair behind in the keyring.
        """
        validate_profile_name(name)
        settings = self.settings_store.load()
        listed = name in settings.profiles
        if not self.key_store.has(name) and not listed:
            raise UnknownProfile(f"There is no profile named {name!r}.")
        self.key_store.delete(name)
        if listed:
            del settings.profiles[name]
            if settings.last_profile == name:
                settings.last_profile = None
            self.settings_store.save(settings)

    def profile(self, name: str) -> Profile:
        validate_profile_name(name)
        profile = self.settings_store.load().profiles.get(name)
        if profile is None:
            raise UnknownProfile(f"There is no profile named {name!r}.")
        return profile

    def list_profiles(self) -> list[ProfileInfo]:
        """Every profile, sorted by name. Raises :class:`KeyringUnavailable` like the keyring."""
        survey = self.survey()
        if survey.keyring_problem is not None:
            raise survey.keyring_problem
        return survey.profiles

    def survey(self) -> ProfileSurvey:
        """Every profile, sorted by name, whether or not the keyring can be read.

        The names and URLs are in the settings file, so a missing or locked keyring costs only
        the "has keys" answer (None from the first profile it failed on), and the reason is
        kept once for the caller to say once.
        """
        settings = self.settings_store.load()
        default = settings.default_profile
        problem: KeyringUnavailable | None = None
        try:
            self.key_store.check_backend()
        except KeyringUnavailable as exc:
            problem = exc
        infos = []
        for _, p in sorted(settings.profiles.items()):
            has: bool | None = None
            if problem is None:
                try:
                    has = self.key_store.has(p.name)
                except KeyringUnavailable as exc:
                    problem = exc
            infos.append(ProfileInfo(p.name, p.base_url, has, p.name == default))
        return ProfileSurvey(infos, problem)

    def credentials(self, name: str) -> Credentials:
        self.profile(name)
        return self.key_store.load(name)
