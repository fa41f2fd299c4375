"""A small notification server of the tests' own, for what dunst cannot show: a server that
plays sounds (capability "sound"), so the app sends the sound hint instead of beeping.

It owns org.freedesktop.Notifications on the bus whose address is its argument, prints "ready",
then one JSON line per Notify call (replaces_id, summary, body, actions, hints). It answers
GetCapabilities but not GetServerInformation, as some minimal servers do: the app must cope.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, Slot
from PySide6.QtDBus import QDBusAbstractAdaptor, QDBusArgument, QDBusConnection

CAPABILITIES = ["actions", "body", "sound"]


def _plain(value: Any) -> Any:
    if isinstance(value, QDBusArgument):  # a byte arrives as a one-element argument
        return value.asVariant()
    return value


@ClassInfo(**{"D-Bus Interface": "org.freedesktop.Notifications"})
class Server(QDBusAbstractAdaptor):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.last_id = 0

    @Slot(result="QStringList")
    def GetCapabilities(self) -> list[str]:
        return CAPABILITIES

    # Typed as the spec says: Qt then answers with a uint32, as real servers do.
    @Slot(str, "uint", str, str, str, "QStringList", "QVariantMap", int, result="uint")
    def Notify(self, _app: str, replaces: int, _icon: str, summary: str, body: str,
               actions: list[str], hints: dict[str, Any], _timeout: int) -> int:
        if not replaces:
            self.last_id += 1
        print(json.dumps({"replaces_id": replaces, "summary": summary, "body": body,
                          "actions": list(actions),
                          "hints": {k: _plain(v) for k, v in hints.items()}}), flush=True)
        return replaces or self.last_id

    @Slot("uint")
    def CloseNotification(self, _id: int) -> None:
        pass


def main() -> int:
    app = QCoreApplication([])
    bus = QDBusConnection.connectToBus(sys.argv[1], "fake-notifications")
    holder = QObject()
    Server(holder)
    if not (bus.registerObject("/org/freedesktop/Notifications", holder)
            and bus.registerService("org.freedesktop.Notifications")):
        print("could not own org.freedesktop.Notifications", flush=True)
        return 1
    print("ready", flush=True)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
