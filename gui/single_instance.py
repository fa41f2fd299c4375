"""One running app per user and config directory: a second launch raises the first window.

The first instance listens on a local socket (:class:`QLocalServer`); a second one connects,
sends ``show`` and exits. The socket's name comes from the user and a hash of the config
directory, so tests with their own temporary config directories never meet each other or the
person's running app. A socket file left behind by a crash is noticed (nobody answers) and
replaced.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import re
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 500
READ_TIMEOUT_MS = 300
MESSAGE_SHOW = b"show\n"


def instance_name(config_dir: Path) -> str:
    """``gate-killswitch-<user>-<hash of the config dir>``: short, and safe as a socket name."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (containers)
        user = "user"
    user = re.sub(r"[^A-Za-z0-9_.-]", "_", user)[:32] or "user"
    digest = hashlib.sha256(str(Path(config_dir).expanduser().resolve()).encode()).hexdigest()
    return f"gate-killswitch-{user}-{digest[:12]}"


class SingleInstance(QObject):
    """Claim being the one instance; hear about later launches through :attr:`showRequested`."""

    showRequested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server: QLocalServer | None = None

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def claim(self) -> bool:
        """True: this is the first instance, now listening. False: another one runs, and was
        asked to show its window."""
        if self._tell_running():
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # A socket file left by a crashed instance: nobody answered above, so remove it.
            log.info("Replacing a stale instance socket %s (%s)", self.name, server.errorString())
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                # Still no luck: run anyway; losing the single-instance guard is not worth
                # refusing to protect the person's orders.
                log.warning("Cannot listen on %s: %s", self.name, server.errorString())
                server.deleteLater()
                return True
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def _tell_running(self) -> bool:
        socket = QLocalSocket(self)
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        socket.write(MESSAGE_SHOW)
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        if socket.state() is not QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(CONNECT_TIMEOUT_MS)
        return True

    def _on_connection(self) -> None:
        server = self._server
        if server is None:
            return
        while server.hasPendingConnections():
            connection = server.nextPendingConnection()
            if connection is None:
                break
            # The message is a few bytes written right after connecting: read it here, briefly
            # blocking, rather than keep per-connection state and signal connections around.
            data = b""
            while MESSAGE_SHOW.strip() not in data and (
                    connection.bytesAvailable() or connection.waitForReadyRead(READ_TIMEOUT_MS)):
                data += bytes(connection.readAll().data())
            connection.abort()
            if MESSAGE_SHOW.strip() in data:
                self.showRequested.emit()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
