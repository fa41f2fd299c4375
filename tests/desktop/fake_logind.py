"""A stand-in for logind on the test's bus: owns org.freedesktop.login1 and, for each line
"sleep" or "wake" read on stdin, emits PrepareForSleep(true) or PrepareForSleep(false), as
logind does around a suspend. Prints "ready" once it owns the name, and each signal it sent.

Run on the bus named by DBUS_SYSTEM_BUS_ADDRESS (the tests point it at their private bus).
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QSocketNotifier
from PySide6.QtDBus import QDBusConnection, QDBusMessage


def main() -> int:
    app = QCoreApplication([])
    bus = QDBusConnection.systemBus()
    if not bus.isConnected() or not bus.registerService("org.freedesktop.login1"):
        print("could not own org.freedesktop.login1", flush=True)
        return 1
    print("ready", flush=True)

    def line() -> None:
        text = sys.stdin.readline()
        if not text:
            app.quit()
            return
        word = text.strip()
        if word in ("sleep", "wake"):
            signal = QDBusMessage.createSignal("/org/freedesktop/login1",
                                               "org.freedesktop.login1.Manager",
                                               "PrepareForSleep")
            signal.setArguments([word == "sleep"])
            bus.send(signal)
            print(f"sent {word}", flush=True)

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(line)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
