"""What the command line asked of the window (:class:`GuiOptions`), and where the app is in
its life (:class:`Phase`). No Qt here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import IntEnum

from gui.core.arm_request import ForwardedRequest
from gui.core.targets import Target

__all__ = ["GuiOptions", "Phase"]


class Phase(IntEnum):
    """Where the app is in its life; it only moves forward."""

    NEW = 0
    STARTED = 1  # the window is shown
    PAINTED = 2  # the window's first paint: lists and orders may load now
    QUITTING = 3  # quit chosen: settings saved, window hidden
    SHUTTING_DOWN = 4  # background jobs and engines are ending
    FINISHED = 5  # the exit code is out


@dataclass
class GuiOptions:
    """What the command line asked of the window.

    ``process_start`` is ``time.time()`` (Unix wall seconds) taken as early as possible in the
    process; ``--self-test`` reports the seconds from it to the window's first paint.
    """

    demo: bool = False
    profile: str | None = None
    arm: list[Target] = field(default_factory=list)
    timeout: int | None = None
    interval: float | None = None
    self_test: bool = False
    start_hidden: bool = False  # started at login: in the tray, when there is one
    process_start: float = field(default_factory=time.time)
    launch: ForwardedRequest | None = None  # for a window already running, if there is one
