"""Telling the person when something needs them: beats failing, time short, fired, key rejected.

Where each notice goes, loudest first:

- the desktop's notification server (Linux, :mod:`gui.desktop_notify`): FIRED, a rejected key
  and "time short" are critical and stay until dismissed, with Show window (and, for time
  short, Stop) buttons where the server has actions; beats failing and beats getting through
  again are normal notices that replace each other in place;
- else the tray's balloon (Windows, macOS, a Linux desktop without a server), which vanishes
  after a few seconds;
- else (no tray either) the window's banner, which also carries the window's own messages
  (stop results, keyring problems).

FIRED and time short also play a short sound (the notification's ``sound-name`` hint where the
server plays sounds, else the system's alert sound), unless the person turned sounds off, and
ask the taskbar to flash the window (``QApplication.alert``). Each situation is said once per
episode, not at every failed beat.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.core.heartbeat import EngineEvent, EventKind
from gui.core.targets import Target
from gui.desktop_notify import DesktopNotifications
from gui.resources import resource_path
from gui.tray import Tray
from gui.words import clock_text, sentence

_LEVEL_WORDS = {"info": "Note", "warning": "Warning", "critical": "Alert"}
MAX_BANNER_ROWS = 3
INFO_LIFETIME_MS = 15_000
AUTH_ERRORS = frozenset({"AuthenticationError"})
#: freedesktop sound names (the Sound Naming Specification) for the two alarms
SOUND_FIRED = "alarm-clock-elapsed"
SOUND_SHORT = "dialog-warning"
#: the two alarms that sound, by the first part of their notice's key
_SOUNDS = {"fired": SOUND_FIRED, "short": SOUND_SHORT}
#: the icon a desktop notification carries, by the first part of its notice's key
_ICONS = {"fired": "fired", "short": "degraded", "degraded": "degraded", "key-rejected": "error",
          "error": "error", "disarm": "error"}


@dataclass(frozen=True)
class Notice:
    level: str
    title: str
    text: str
    key: str = ""  # a newer notice with the same key replaces the older one


class _BannerRow(QFrame):
    def __init__(self, notice: Notice, banner: NoticeBanner) -> None:
        super().__init__(banner)
        self.notice = notice
        self.setObjectName("noticeRow")
        self.setProperty("level", notice.level)
        self.setAccessibleName(f"{_LEVEL_WORDS.get(notice.level, 'Note')}: {notice.title}")
        self.setAccessibleDescription(notice.text)
        word = QLabel(_LEVEL_WORDS.get(notice.level, "Note").upper())
        word.setObjectName("noticeLevel")
        title, text = (html.escape(t, quote=False) for t in (notice.title, notice.text))
        self.label = QLabel(f"<b>{title}</b>  {text}")
        self.label.setObjectName("noticeText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("Dismiss")
        close.setObjectName("noticeDismiss")
        close.setAccessibleName(f"Dismiss: {notice.title}")
        close.clicked.connect(lambda: banner.remove(self))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 7, 8, 7)
        layout.setSpacing(10)
        layout.addWidget(word, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)




class NoticeBanner(QWidget):
    """A stack of notices across the top of the window, newest first, each dismissable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBanner")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.hide()

    def post(self, notice: Notice) -> None:
        if notice.key:
            for row in self.rows():
                if row.notice.key == notice.key:
                    self.remove(row)
        row = _BannerRow(notice, self)
        self._layout.insertWidget(0, row)
        rows = self.rows()
        for old in rows[MAX_BANNER_ROWS:]:
            self.remove(old)
        if notice.level == "info":
            QTimer.singleShot(INFO_LIFETIME_MS, row, lambda: self.remove(row))
        self.show()

    def remove(self, row: _BannerRow) -> None:
        if row.parent() is not self:
            return
        self._layout.removeWidget(row)
        row.setParent(None)
        row.deleteLater()
        if not self.rows():
            self.hide()

    def dismiss(self, key: str) -> None:
        for row in self.rows():
            if row.notice.key == key:
                self.remove(row)

    def rows(self) -> list[_BannerRow]:
        found = []
        for i in range(self._layout.count()):
            widget = self._layout.itemAt(i).widget()
            if isinstance(widget, _BannerRow):
                found.append(widget)
        return found

    def texts(self) -> list[str]:
        """Every notice as 'title text', newest first (tests, accessibility)."""
        return [f"{r.notice.title} {r.notice.text}" for r in self.rows()]


class Notifier(QObject):
    """Decides what is worth interrupting the person for, and says it once per episode.

    ``showWindowRequested`` and ``stopRequested`` are a notification's buttons, pressed.
    ``soundPlayed(how)`` tells which sound was asked for: ``"hint:<name>"`` (the notification
    server plays it) or ``"beep"`` (the system's alert sound).
    """

    showWindowRequested = Signal()
    stopRequested = Signal()
    soundPlayed = Signal(str)

    def __init__(self, banner: NoticeBanner, tray: Tray | None = None,
                 parent: QObject | None = None, *,
                 desktop: DesktopNotifications | None = None, sound: bool = True) -> None:
        super().__init__(parent)
        self.banner = banner
        self.tray = tray
        self.desktop = desktop
        self.sound = sound
        self._said: set[tuple[str, Target | None]] = set()
        self._last_error: dict[Target, str] = {}
        if desktop is not None:
            desktop.actionInvoked.connect(self._action)

    def set_tray(self, tray: Tray | None) -> None:
        self.tray = tray

    def set_sound(self, on: bool) -> None:
        self.sound = on

    def close(self) -> None:
        """The app is going: stop listening to the notification server."""
        if self.desktop is not None:
            self.desktop.shutdown()
            self.desktop = None

    def notify(self, level: str, title: str, text: str, key: str = "") -> None:
        """A notification: the desktop's if it has a server, else the tray's, else the banner."""
        what = key.split(":", 1)[0]
        # What a person must act on stays until dismissed; time short too, though it is only
        # a warning in the banner: by the time it is read the countdown may have run out.
        critical = level == "critical" or what == "short"
        sound = ""
        if self.sound and what in _SOUNDS:
            sound = _SOUNDS[what]
        notice = Notice(level, title, text, key)
        said = False
        desktop = self.desktop
        if desktop is not None:
            actions: tuple[tuple[str, str], ...] = ()
            if critical:
                actions = (("default", "Show window"),)
                if what == "short":
                    actions += (("stop", "Stop"),)
            icon = "armed" if level == "info" else _ICONS.get(what, "armed")
            said = desktop.notify(
                key or title, title, text, critical=critical, actions=actions, sound=sound,
                icon=resource_path("icons", f"{icon}.svg").as_uri(),
                answer=functools.partial(self._answered, notice, sound))
            if said:
                sound = ""  # the server's answer says who plays it (_answered)
        if not said:
            self._elsewhere(notice)
        if sound:
            self._beep()
        if critical:
            # The taskbar entry flashes (or bounces) until the window is looked at.
            QApplication.alert(self.banner.window(), 0)

    def _elsewhere(self, notice: Notice) -> None:
        """Without the desktop's server: the tray's balloon, else the window's banner."""
        if self.tray is not None:
            self.tray.notify(notice.title, notice.text, notice.level)
        else:
            self.banner.post(notice)

    def _answered(self, notice: Notice, sound: str, taken: bool, played: bool) -> None:
        # The server answered: it did not take the notice (say it another way), and it
        # plays the sound itself or it is played here.
        if not taken:
            self._elsewhere(notice)
        if sound and taken and played:
            self.soundPlayed.emit(f"hint:{sound}")
        elif sound:
            self._beep()

    def _beep(self) -> None:
        QApplication.beep()
        self.soundPlayed.emit("beep")

    def withdraw(self, key: str) -> None:
        """A notice that no longer holds: off the banner and off the desktop."""
        self.banner.dismiss(key)
        if self.desktop is not None:
            self.desktop.close(key)

    def _action(self, key: str, action: str) -> None:
        if action == "stop" and key.startswith("short:"):
            self.stopRequested.emit()
        elif action == "default":
            self.showWindowRequested.emit()

    def key_rejected(self, message: str) -> None:
        if ("key", None) in self._said:
            return
        self._said.add(("key", None))
        self.notify("critical", "API key rejected", message, key="key-rejected")

    def on_event(self, event: EngineEvent) -> None:
        kind, target = event.kind, event.target
        if kind in (EventKind.ARMING, EventKind.BEAT_OK, EventKind.DISARMED):
            if target is not None:
                recovered = kind is EventKind.BEAT_OK and any(
                    (what, target) in self._said for what in ("degraded", "short"))
                # Recovered, stopped or armed afresh: these notices no longer hold.
                stale = ["degraded", "short"]
                if kind is EventKind.ARMING:
                    stale += ["fired", "error", "disarm"]
                for what in stale:
                    if not (recovered and what == "degraded"):  # replaced in place below
                        self.withdraw(f"{what}:{target}")
                if recovered:
                    status = event.status
                    fires = clock_text(status.trigger_time_ms if status else None)
                    self.notify("info", f"Beats getting through again: {target}",
                                f"Armed; the exchange's countdown now fires at {fires} "
                                "unless a beat gets through.", key=f"degraded:{target}")
            self._forget(target)
            if kind is EventKind.ARMING:
                self._said.discard(("key", None))
            return
        if target is None:
            return
        if kind is EventKind.BEAT_FAILED:
            self._last_error[target] = str(event.fields.get("error", ""))
            return
        if kind is EventKind.WARNING and "unfired" in event.fields:
            # A late answer changed what the FIRED notice said: it replaces it in place.
            self._said.add(("fired", target))
            title = (f"Not fired after all: {target}" if event.fields["unfired"]
                     else f"Maybe not fired: {target}")
            self.notify("warning", title, event.message, key=f"fired:{target}")
            return
        status = event.status
        fires = clock_text(status.trigger_time_ms if status else None)
        if kind in (EventKind.FIRED, EventKind.ERROR, EventKind.DISARM_FAILED):
            # Superseded by what is said now.
            self.withdraw(f"degraded:{target}")
            self.withdraw(f"short:{target}")
        if kind is EventKind.DEGRADED:
            self._once("degraded", target, "warning", f"Beats failing: {target}",
                       f"The exchange's countdown still runs and fires at {fires} unless a "
                       "beat gets through. Retrying.")
        elif kind is EventKind.TIME_SHORT:
            self._once("short", target, "warning", f"Time is short: {target}",
                       f"It fires at {fires} unless a beat gets through. Check the network, "
                       "or cancel the orders now.")
        elif kind is EventKind.FIRED:
            when = clock_text(status.fired_at_ms if status else None)
            self._once("fired", target, "critical", f"FIRED: {target}",
                       f"The exchange cancelled {target.cancelled} at {when}.")
        elif kind is EventKind.ERROR:
            if self._last_error.get(target) in AUTH_ERRORS:
                self.key_rejected(f"{target} stopped: {status.reason if status else ''}".strip())
            else:
                self._once("error", target, "critical", f"Stopped: {target}",
                           sentence(status.reason if status else event.message))
        elif kind is EventKind.DISARM_FAILED:
            self._once("disarm", target, "critical", f"Stop not confirmed: {target}",
                       sentence(status.reason if status else event.message))

    def _once(self, what: str, target: Target, level: str, title: str, text: str) -> None:
        if (what, target) in self._said:
            return
        self._said.add((what, target))
        self.notify(level, title, text, key=f"{what}:{target}")

    def _forget(self, target: Target | None) -> None:
        self._said = {item for item in self._said if item[1] != target or item[1] is None}
        if target is not None:
            self._last_error.pop(target, None)
