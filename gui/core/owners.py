"""One owner per countdown on this computer: the window and every runner claim the targets
they beat, so two heartbeats never fight over one scope (one's stop would disarm the
other's countdown until its next beat re-armed it).

A claim is a lock file per profile and target in :func:`gui.core.paths.state_dir`,
``owners/<profile>/<target>.lock``, held locked (``fcntl.flock``, or ``msvcrt.locking`` on
Windows) for as long as the process beats that target. The file holds the owner's pid and a
description of it, so a refusal can name the process. The operating system drops the lock
when the process ends, however it ends: a file whose lock can be taken is stale (its process
is gone) and is taken over. A released claim removes its file.

A claim is per exact target: ``spot:all`` and ``spot:BTC_USDT`` are two countdowns on the
exchange, and beating both from two processes does not make them fight.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gui.core.paths import state_dir
from gui.core.targets import Target

__all__ = ["OwnedElsewhere", "Owner", "Owners", "hold_file", "release_file"]

OWNERS_DIR = "owners"
# msvcrt locks a byte range; one far past the owner text lets others still read that text.
_WINDOWS_LOCK_OFFSET = 1 << 20


@dataclass(frozen=True)
class Owner:
    """Who holds a claim, as its lock file says."""

    pid: int | None
    description: str

    def words(self) -> str:
        pid = f"process {self.pid}" if self.pid is not None else "another process"
        return f"{self.description} ({pid})" if self.description else pid


class OwnedElsewhere(Exception):
    """A target is beaten by another live process on this computer."""

    def __init__(self, owned: dict[Target, Owner]) -> None:
        self.owned = owned
        parts = [f"{target} by {owner.words()}" for target, owner in owned.items()]
        super().__init__(
            "Already kept alive on this computer: " + "; ".join(parts) + ". Two heartbeats "
            "on one countdown fight (a stop of one disarms the other's); stop it there "
            "first, or choose other targets.")


def _safe(text: str) -> str:
    """A file-name-safe form of ``text`` that stays distinct for distinct texts."""
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:60]
    return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _lock(handle: IO[bytes]) -> bool:
    """Try to lock ``handle`` without waiting; True when this process now holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(_WINDOWS_LOCK_OFFSET)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _read_owner(path: Path) -> Owner:
    try:
        data: Any = json.loads(path.read_bytes()[:4096] or b"{}")
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    pid = data.get("pid")
    description = data.get("description")
    return Owner(pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                 description if isinstance(description, str) else "")


def hold_file(path: Path, fields: dict[str, str]) -> IO[bytes] | Owner:
    """Lock ``path`` for this process and write our pid and ``fields`` into it: the open file,
    to keep while the claim lasts; or, when another live process holds it, who that is."""
    for _attempt in range(5):
        handle = open(path, "a+b")  # held open while the claim lasts
        if not _lock(handle):
            handle.close()
            return _read_owner(path)
        # The file may have been released (removed) between our open and our lock: then the
        # lock is on a file nobody else will see. Start again on the path's file.
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
        except OSError:
            same = False
        if not same:
            handle.close()
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), **fields,
                                 "since": round(time.time(), 3)}).encode("ascii", "replace"))
        handle.flush()
        return handle
    return Owner(None, "another process (its claim keeps changing)")


def release_file(handle: IO[bytes], path: Path) -> None:
    """End a :func:`hold_file` claim. The file goes while still locked, so nobody takes over
    a file about to vanish."""
    with contextlib.suppress(OSError):
        path.unlink()
    with contextlib.suppress(OSError):
        handle.close()


class Owners:
    """The claims of this process for one profile. Not thread-safe: one loop uses it."""

    def __init__(self, profile: str, description: str, directory: Path | None = None) -> None:
        self.profile = profile
        self.description = description
        base = directory if directory is not None else state_dir()
        self.directory = base / OWNERS_DIR / _safe(profile)
        self._held: dict[Target, tuple[IO[bytes], Path]] = {}

    @property
    def held(self) -> list[Target]:
        return list(self._held)

    def path(self, target: Target) -> Path:
        return self.directory / f"{_safe(str(target))}.lock"

    def claim(self, targets: list[Target]) -> None:
        """Claim every target, or none: :class:`OwnedElsewhere` names the processes that own
        some of them. Targets this process holds already stay held."""
        taken: list[Target] = []
        owned: dict[Target, Owner] = {}
        for target in dict.fromkeys(targets):
            if target in self._held:
                continue
            owner = self._claim_one(target)
            if owner is None:
                taken.append(target)
            else:
                owned[target] = owner
        if owned:
            self.release(taken)
            raise OwnedElsewhere(owned)

    def _claim_one(self, target: Target) -> Owner | None:
        """None when claimed, else who owns it."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.path(target)
        held = hold_file(path, {"description": self.description, "profile": self.profile,
                                "target": str(target)})
        if isinstance(held, Owner):
            return held
        self._held[target] = (held, path)
        return None

    def release(self, targets: list[Target]) -> None:
        for target in targets:
            held = self._held.pop(target, None)
            if held is not None:
                release_file(*held)

    def release_all(self) -> None:
        self.release(list(self._held))
