"""A keyring backend for tests that start the app in a subprocess.

An in-memory keyring cannot be shared with another process, so this one keeps its entries in
the JSON file named by ``GATE_KILLSWITCH_TEST_KEYRING`` (always under a test's tmp_path).
Tests select it with ``PYTHON_KEYRING_BACKEND=tests.subprocess_keyring.SubprocessTestKeyring``.
It exists only in tests/: the app itself refuses any backend that keeps secrets in a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "GATE_KILLSWITCH_TEST_KEYRING"


class SubprocessTestKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @staticmethod
    def _path() -> Path:
        return Path(os.environ[ENV])

    def _load(self) -> dict[str, str]:
        path = self._path()
        return json.loads(path.read_text()) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._load()
        entries[f"{service}\n{username}"] = password
        self._path().write_text(json.dumps(entries))

    def delete_password(self, service: str, username: str) -> None:
        entries = self._load()
        if entries.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError(username)
        self._path().write_text(json.dumps(entries))
