"""Keyring backends for tests: never the user's real keyring.

- :class:`MemoryKeyring`: a working keyring in a dict (priority 1).
- :class:`LockedKeyring`: every operation raises ``KeyringLocked``, as a locked Secret Service does.
- :func:`no_backend`: what keyring hands out when nothing is installed (``fail.Keyring``).
- :class:`PlaintextKeyring`, :class:`AltFileKeyring`, :class:`EmptyChainer`: backends the app
  must refuse, standing in for ``keyrings.alt`` and an empty chain without installing them.

Every class here is taken out of keyring's registry of backends right after it is defined:
keyring picks its default backend from that registry, and a test backend must never become
the default for code that did not ask for it.
"""

from __future__ import annotations

import threading

from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked, PasswordDeleteError


def _unregister(cls: type[KeyringBackend]) -> type[KeyringBackend]:
    KeyringBackend._classes.discard(cls)  # type: ignore[attr-defined]
    return cls


class MemoryKeyring(KeyringBackend):
    """A working keyring held in memory. ``entries`` maps (service, username) to the password."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if (service, username) not in self.entries:
                raise PasswordDeleteError("not found")
            del self.entries[(service, username)]


class LockedKeyring(KeyringBackend):
    """A keyring that is there but locked: every operation raises ``KeyringLocked``."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class PlaintextKeyring(MemoryKeyring):
    """Stands in for ``keyrings.alt.file.PlaintextKeyring``: refused by its name."""


class AltFileKeyring(MemoryKeyring):
    """Stands in for any ``keyrings.alt.file`` backend (such as ``EncryptedKeyring``)."""


AltFileKeyring.__module__ = "keyrings.alt.file"


class EmptyChainer(chainer.ChainerBackend):
    """A chain with nothing in it: what ``keyring`` builds when no backend is viable."""

    backends = []  # type: ignore[assignment]  # noqa: RUF012


for _cls in (MemoryKeyring, LockedKeyring, PlaintextKeyring, AltFileKeyring, EmptyChainer):
    _unregister(_cls)


def no_backend() -> fail.Keyring:
    """The backend keyring returns when none is installed."""
    return fail.Keyring()


def null_backend() -> null.Keyring:
    return null.Keyring()
