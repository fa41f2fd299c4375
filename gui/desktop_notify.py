"""The desktop's own notifications on Linux: ``org.freedesktop.Notifications`` over the session bus.

A tray balloon vanishes after a few seconds; a critical notification from the desktop's
notification server stays until the person dismisses it, can carry buttons (Show window, Stop)
and a sound. :meth:`DesktopNotifications.connect_session` returns ``None`` wherever there is no such
server (Windows, macOS, no session bus, nothing owning the name), and the notifier then falls
back to the tray balloon, or to the window's banner.

Why the typed interface: the ``Notify`` call's second argument is a D-Bus ``uint32`` and the
servers (GDBus-based: GNOME Shell, dunst, xfce4-notifyd) refuse any other type, but PySide6 turns
every Python int into an ``int32``. QtDBus does send a ``uint32`` when it calls through an
interface's meta-object whose introspection says ``u`` with Qt types for every argument, and it
keeps one introspected meta-object per interface name for each connection. So the app first
introspects an object of its own that describes ``org.freedesktop.Notifications`` with Qt's type
annotations, and the server's interface then uses that description.

Calls through a meta-object block, so every call to the server (its capabilities first, then
``Notify`` and ``CloseNotification``) goes out from a thread of their own, one at a time and in
order, each with a short timeout: the GUI thread (and with it the engine's loop) never waits for
the server. A notice the server did not take is handed back (``answer``) to be said another
way, and a server that once failed to answer is not used again.
"""

from __future__ import annotations

import concurrent.futures
import html
import itertools
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (
    Q_ARG,
    Q_RETURN_ARG,
    SLOT,
    ClassInfo,
    QMetaObject,
    QObject,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtDBus import (
    QDBusAbstractAdaptor,
    QDBusArgument,
    QDBusConnection,
    QDBusInterface,
    QDBusMessage,
)

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
#: where the app describes the interface to itself (see the module's docstring)
_SHAPE_PATH = "/io/github/gate_killswitch/NotificationsShape"
#: a healthy server answers in a few milliseconds; the GUI thread waits at most this long, once
CALL_TIMEOUT_MS = 700

_NOTIFY = "Notify(QString,uint,QString,QString,QString,QStringList,QVariantMap,int)"
_SHAPE_XML = f"""<interface name="{INTERFACE}">
  <method name="Notify">
    <arg name="app_name" type="s" direction="in"/>
    <arg name="replaces_id" type="u" direction="in"/>
    <arg name="app_icon" type="s" direction="in"/>
    <arg name="summary" type="s" direction="in"/>
    <arg name="body" type="s" direction="in"/>
    <arg name="actions" type="as" direction="in"/>
    <arg name="hints" type="a{{sv}}" direction="in"/>
    <annotation name="org.qtproject.QtDBus.QtTypeName.In6" value="QVariantMap"/>
    <arg name="expire_timeout" type="i" direction="in"/>
    <arg name="id" type="u" direction="out"/>
  </method>
  <method name="CloseNotification">
    <arg name="id" type="u" direction="in"/>
  </method>
</interface>"""

URGENCY_NORMAL = 1
URGENCY_CRITICAL = 2


@ClassInfo(**{"D-Bus Interface": INTERFACE, "D-Bus Introspection": _SHAPE_XML})
class _Shape(QDBusAbstractAdaptor):
    """Describes the interface with Qt types; never called (it has no methods of its own)."""


def _byte(value: int) -> QDBusArgument:
    # The spec's urgency hint is a D-Bus byte; a one-character string is how PySide6 writes one.
    arg = QDBusArgument()
    arg << chr(value)
    return arg


@dataclass(frozen=True)
class SentNotice:
    """What was handed to the server (for the notifier's replace-in-place and for tests)."""

    key: str
    server_id: int
    urgency: int
    title: str
    text: str
    actions: tuple[str, ...]


class DesktopNotifications(QObject):
    """Notifications that stay, replaced in place by key, with actions where the server has them.

    ``actionInvoked(key, action)`` is emitted when the person clicks one of a notification's
    buttons (``action`` is ``"default"`` for Show window, ``"stop"`` for Stop); ``key`` is the
    notifier's key of the notification it was on. ``ready`` once the server said what it can
    (``capabilities``, ``server``); what is asked before that waits in line behind the question.
    """

    actionInvoked = Signal(str, str)
    _answered = Signal(int, object, str, bool)  # token, SentNotice (id 0: not taken), error,
    #                                             whether the server plays the sound itself
    _probed = Signal(object, str)  # capabilities (None: no answer), server

    def __init__(self, bus: QDBusConnection, holder: QObject,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        self._holder = holder  # keeps the describing object alive
        self.capabilities: frozenset[str] = frozenset()
        self.server = "?"
        self.ready = False
        self.broken = False
        # The caller thread's own: the interface, what the server can, and whether a call
        # failed (then the rest are skipped).
        self._iface: QDBusInterface | None = None
        self._can: frozenset[str] = frozenset()
        self._dead = False
        self._caller = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="desktop-notify")
        self._lock = threading.Lock()  # guards _ids: the caller writes, the GUI thread reads
        self._ids: dict[str, int] = {}  # notifier key -> the server's id
        self._answers: dict[int, Callable[[bool, bool], None]] = {}  # by token, until answered
        self._tokens = itertools.count(1)
        self.sent: list[SentNotice] = []
        self._answered.connect(self._on_answered)
        self._probed.connect(self._on_probed)
        for member, slot in (("ActionInvoked", "_on_action(QDBusMessage)"),
                             ("NotificationClosed", "_on_closed(QDBusMessage)")):
            bus.connect(SERVICE, PATH, INTERFACE, member, self, SLOT(slot))
        self._caller.submit(self._probe)

    # ------------------------------------------------------------------ finding the server

    @classmethod
    def connect_session(cls, parent: QObject | None = None) -> DesktopNotifications | None:
        """The session bus's notification server, or ``None`` (then the tray or banner speak)."""
        if not sys.platform.startswith("linux"):
            return None
        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            return None
        return cls.connect_bus(bus, parent)

    @classmethod
    def connect_bus(cls, bus: QDBusConnection,
                    parent: QObject | None = None) -> DesktopNotifications | None:
        """The server on ``bus``, if one owns the name; nothing here waits for the server."""
        reply = bus.interface().isServiceRegistered(SERVICE)
        if not reply.value():
            return None
        holder = QObject()
        _Shape(holder)
        if not bus.objectRegisteredAt(_SHAPE_PATH) and not bus.registerObject(_SHAPE_PATH,
                                                                               holder):
            log.warning("Desktop notifications: could not describe the interface to Qt")
            return None
        # Introspecting our own object makes this connection know the interface's Qt types;
        # an interface to the server then takes them from there, without asking the server.
        QDBusInterface(bus.baseService(), _SHAPE_PATH, INTERFACE, bus)
        check = QDBusInterface(SERVICE, PATH, INTERFACE, bus)
        usable = check.isValid() and check.metaObject().indexOfMethod(_NOTIFY) >= 0
        check.deleteLater()
        if not usable:
            log.warning("Desktop notifications: the server's interface is not usable (%s)",
                        check.lastError().message())
            return None
        return cls(bus, holder, parent)

    # ------------------------------------------------------------------ saying

    @property
    def has_actions(self) -> bool:
        return "actions" in self.capabilities

    @property
    def plays_sounds(self) -> bool:
        return "sound" in self.capabilities

    def notify(self, key: str, title: str, text: str, *, critical: bool,
               actions: tuple[tuple[str, str], ...] = (), sound: str = "",
               icon: str = "", answer: Callable[[bool, bool], None] | None = None) -> bool:
        """Show (or replace in place the notification of the same ``key``); returns at once.

        False if the server is known not to work (say it another way now). Else the call is
        on its way, and ``answer(taken, played)`` is called on this thread when the server
        answered: ``taken`` False means it did not take it (say it another way), ``played``
        that it plays ``sound`` itself (else play it here). ``actions`` are (action key,
        label) pairs, sent where the server supports actions; ``sound`` is a freedesktop sound
        name; a critical notification never expires on its own; ``text`` is plain text.
        """
        if self.broken:
            return False
        urgency = URGENCY_CRITICAL if critical else URGENCY_NORMAL
        token = next(self._tokens)
        if answer is not None:
            self._answers[token] = answer
        self._caller.submit(self._call_notify, token, key, urgency, title, text, actions,
                            sound, icon)
        return True

    def close(self, key: str) -> None:
        """Take the notification of ``key`` down, if one is shown (it no longer holds)."""
        if not self.broken:
            self._caller.submit(self._call_close, key)

    # ------------------------------------------------------------------ on the caller thread

    def _interface(self) -> QDBusInterface:
        if self._iface is None:
            self._iface = QDBusInterface(SERVICE, PATH, INTERFACE, self._bus)
            self._iface.setTimeout(CALL_TIMEOUT_MS)
        return self._iface

    def _probe(self) -> None:
        iface = self._interface()
        caps = iface.call("GetCapabilities")
        if caps.type() is not QDBusMessage.MessageType.ReplyMessage:
            self._dead = True
            self._probed.emit(None, caps.errorMessage())
            return
        self._can = frozenset(str(c) for c in (caps.arguments() or [[]])[0])
        info = iface.call("GetServerInformation")
        # Name, vendor, version; a server that does not say (against the spec) is still used.
        server = "?"
        if info.type() is QDBusMessage.MessageType.ReplyMessage and info.arguments():
            server = " ".join(str(a) for a in info.arguments()[:3])
        self._probed.emit(self._can, server)

    def _call_notify(self, token: int, key: str, urgency: int, title: str, text: str,
                     actions: tuple[tuple[str, str], ...], sound: str, icon: str) -> None:
        flat: list[str] = []
        if "actions" in self._can:
            for action, label in actions:
                flat += [action, label]
        body = html.escape(text, quote=False) if "body-markup" in self._can else text
        played = bool(sound) and "sound" in self._can
        notice = SentNotice(key, 0, urgency, title, body, tuple(flat))
        if self._dead:
            self._answered.emit(token, notice, "the server failed to answer before", False)
            return
        hints: dict[str, object] = {"urgency": _byte(urgency),
                                    "desktop-entry": "io.github.gate_killswitch"}
        if played:
            hints["sound-name"] = sound
        with self._lock:
            replaces = self._ids.get(key, 0)
        iface = self._interface()
        error = ""
        try:
            server_id = QMetaObject.invokeMethod(
                iface, "Notify", Qt.ConnectionType.DirectConnection, Q_RETURN_ARG("uint"),
                Q_ARG("QString", "gate-killswitch"), Q_ARG("uint", replaces),
                Q_ARG("QString", icon), Q_ARG("QString", title), Q_ARG("QString", body),
                Q_ARG("QStringList", flat), Q_ARG("QVariantMap", hints),
                Q_ARG("int", 0 if urgency == URGENCY_CRITICAL else -1))
        except RuntimeError as exc:
            server_id, error = 0, str(exc)
        else:
            error = iface.lastError().message() if not server_id else ""
        if server_id:
            with self._lock:
                self._ids[key] = int(server_id)
        else:
            self._dead = True
        sent = SentNotice(key, int(server_id or 0), urgency, title, body, tuple(flat))
        self._answered.emit(token, sent, error, played)

    def _call_close(self, key: str) -> None:
        with self._lock:
            server_id = self._ids.pop(key, None)
        if server_id is None or self._dead:
            return
        try:
            QMetaObject.invokeMethod(self._interface(), "CloseNotification",
                                     Qt.ConnectionType.DirectConnection, Q_ARG("uint", server_id))
        except RuntimeError as exc:
            log.warning("Could not close a desktop notification: %s", exc)

    def _drop_interface(self) -> None:
        self._iface = None  # deleted here, on the thread it belongs to

    # ------------------------------------------------------------------ back on the GUI thread

    def _on_probed(self, capabilities: frozenset[str] | None, server: str) -> None:
        if capabilities is None:
            self._give_up(server)
            return
        self.capabilities, self.server, self.ready = capabilities, server, True
        log.info("Desktop notifications by %s (%s)", server, ", ".join(sorted(capabilities)))

    def _on_answered(self, token: int, notice: SentNotice, error: str, played: bool) -> None:
        answer = self._answers.pop(token, None)
        if notice.server_id:
            self.sent.append(notice)
        else:
            self._give_up(error)
        if answer is not None:
            answer(bool(notice.server_id), played)

    def _give_up(self, error: str) -> None:
        if not self.broken:
            self.broken = True
            log.warning("Desktop notifications failed (%s); saying things another way from "
                        "now on", error or "no answer")

    def shown(self) -> dict[str, int]:
        """The keys of the notifications believed shown, with the server's ids."""
        with self._lock:
            return dict(self._ids)

    # ------------------------------------------------------------------ hearing back

    def _key_of(self, server_id: int) -> str | None:
        with self._lock:
            for key, known in self._ids.items():
                if known == server_id:
                    return key
        return None

    @Slot(QDBusMessage)
    def _on_action(self, message: QDBusMessage) -> None:
        args = message.arguments()
        if len(args) != 2:
            return
        key = self._key_of(int(args[0]))
        if key is not None:
            self.actionInvoked.emit(key, str(args[1]))

    @Slot(QDBusMessage)
    def _on_closed(self, message: QDBusMessage) -> None:
        args = message.arguments()
        if args:
            key = self._key_of(int(args[0]))
            if key is not None:
                with self._lock:
                    self._ids.pop(key, None)

    def shutdown(self) -> None:
        # The calls queued go out (each ends within its timeout; after a failure the rest are
        # skipped), then the interface is deleted on its own thread.
        self._caller.submit(self._drop_interface)
        self._caller.shutdown(wait=True)
        for member, slot in (("ActionInvoked", "_on_action(QDBusMessage)"),
                             ("NotificationClosed", "_on_closed(QDBusMessage)")):
            self._bus.disconnect(SERVICE, PATH, INTERFACE, member, self, SLOT(slot))
