"""What the engine needs of its collaborators: an exchange client, a journal, and a recorder of
what may be armed. Protocols, so tests hand in fakes and the engine imports none of them."""

from __future__ import annotations

from typing import Any, Protocol

from gui.core.client import CancelResult, ClockSync, CountdownAck
from gui.core.status import EngineEvent
from gui.core.targets import Target


class CountdownClient(Protocol):
    """What the engine needs of :class:`gui.core.client.GateClient`."""

    @property
    def clock(self) -> ClockSync | None: ...

    def ensure_clock(self, timeout: float | None = None) -> ClockSync: ...

    def countdown(self, target: Target, timeout: int, *,
                  request_timeout: float | None = None) -> CountdownAck: ...

    def cancel_now(self, target: Target, *, request_timeout: float | None = None
                   ) -> list[CancelResult]: ...


class JournalLike(Protocol):
    def write(self, event: str, **fields: object) -> Any: ...


class ArmedHook(Protocol):
    """Records what may be armed (gui.core.armed.ArmedRecorder); never raises."""

    def on_event(self, event: EngineEvent) -> None: ...

    def sent(self, target: Target, timeout: int, server_s: float) -> None: ...
