"""One running app per user and config directory; a second launch hands its request to it.

Who is first is decided by a lock file in the state directory (:func:`gui.core.owners.
hold_file`), not by who manages to listen: two launches at the same moment once both won
(the loser removed the winner's socket and listened itself). The lock's holder listens on a
local socket (:class:`QLocalServer`, user-only access) whose name comes from the user and a
hash of the config directory, so tests with their own directories never meet each other or
the person's running app.

A later launch connects and sends one line of JSON (:mod:`gui.core.arm_request`: targets,
timeout, interval, profile, demo; never a secret). The running instance answers at once
``{"status": "working"}``, then with its verdict (:class:`~gui.core.arm_request.LaunchReply`)
once it armed, or refused. A running instance that does not answer within
:data:`ANSWER_S` is reported as unresponsive: it may be frozen, and its countdowns with it.
Malformed or oversized requests, and connections that say nothing, are refused and closed.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from gui.core.arm_request import (
    MAX_REQUEST_BYTES,
    ForwardedRequest,
    LaunchReply,
    decode_request,
    encode_request,
)
from gui.core.errors import InvalidInputError
from gui.core.owners import Owner, hold_file, release_file
from gui.core.paths import state_dir

log = logging.getLogger(__name__)

#: How long a running instance has to say it heard a launch before it counts as unresponsive.
ANSWER_S = 5.0
#: How long it has to arm what was asked (the first beats' acknowledgements) and say so.
VERDICT_S = 30.0
#: How long a connection may take to send its request line.
REQUEST_S = 3.0

Handler = Callable[[ForwardedRequest], Awaitable[LaunchReply]]
SHOW_ONLY = ForwardedRequest(arm=[], timeout=None, interval=None, profile=None, demo=False)


def instance_name(config_dir: Path) -> str:
    """``gate-killswitch-<user>-<hash of the config dir>``: short, and safe as a socket name."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (containers)
        user = "user"
    user = re.sub(r"[^A-Za-z0-9_.-]", "_", user)[:32] or "user"
    digest = hashlib.sha256(str(Path(config_dir).expanduser().resolve()).encode()).hexdigest()
    return f"gate-killswitch-{user}-{digest[:12]}"


def _socket_not_ours(path: str) -> bool:
    """True when ``path`` is a socket file of another user: whoever answers there is not our
    app, and its word must not be taken (a false "armed" is the worst answer there is)."""
    if not hasattr(os, "getuid"):
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return info.st_uid != os.getuid() or not stat.S_ISSOCK(info.st_mode)


class SingleInstance(QObject):
    """Claim being the one instance; hear later launches through :attr:`handler` (and
    :attr:`showRequested`, emitted for each)."""

    showRequested = Signal()

    def __init__(self, name: str, parent: QObject | None = None, *,
                 lock_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.handler: Handler | None = None
        self._lock_path = (lock_dir if lock_dir is not None else state_dir()) / f"{name}.lock"
        self._lock: IO[bytes] | None = None
        self._server: QLocalServer | None = None
        self._conversations: set[_Conversation] = set()

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def claim(self, request: ForwardedRequest | None = None) -> LaunchReply | None:
        """None: this is the first instance, now listening. Otherwise the running instance's
        answer to ``request`` (ok, refused, or unresponsive)."""
        asked = request if request is not None else SHOW_ONLY
        deadline = time.monotonic() + ANSWER_S
        while True:
            holder = self._take_lock()
            if holder is None:
                self._listen()
                return None
            reply = self._ask(asked, deadline, holder)
            if reply is not None:
                return reply
            if time.monotonic() >= deadline:
                return self._unresponsive(holder)
            # The holder has the lock but is not listening yet (it started a moment ago).
            time.sleep(0.05)

    def _take_lock(self) -> Owner | None:
        """None when this process now holds the instance lock, else who holds it."""
        try:
            self._lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            held = hold_file(self._lock_path, {"description": "gate-killswitch window"})
        except OSError as exc:
            # No lock, no guard: run rather than refuse to protect the person's orders.
            log.warning("Cannot take the instance lock %s: %s", self._lock_path, exc)
            return None
        if isinstance(held, Owner):
            return held
        self._lock = held
        return None

    def _listen(self) -> None:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        # We hold the lock: a socket file there is a crashed instance's, safe to remove.
        QLocalServer.removeServer(self.name)
        if not server.listen(self.name):
            log.warning("Cannot listen on %s: %s; a second launch will not find this window.",
                        self.name, server.errorString())
            server.deleteLater()
            return
        server.newConnection.connect(self._on_connection)
        self._server = server

    def _unresponsive(self, holder: Owner) -> LaunchReply:
        pid = f" (process {holder.pid})" if holder.pid is not None else ""
        return LaunchReply(False, (
            f"it{pid} did not answer within {ANSWER_S:g} s: it may be frozen, and its "
            "countdowns with it. Nothing was armed. Check it, or end it and launch again."))

    def _ask(self, request: ForwardedRequest, deadline: float, holder: Owner
             ) -> LaunchReply | None:
        """The running instance's answer; None when it is not listening (yet)."""
        socket = QLocalSocket(self)
        try:
            socket.connectToServer(self.name)
            left_ms = max(1, int((deadline - time.monotonic()) * 1000))
            if not socket.waitForConnected(min(left_ms, 500)):
                return None
            if _socket_not_ours(socket.fullServerName()):
                return LaunchReply(False, (
                    f"its socket {socket.fullServerName()} belongs to another user; nothing "
                    "was sent. Remove that file, then launch again."))
            socket.write(encode_request(request))
            socket.waitForBytesWritten(1000)
            first = _read_line(socket, ANSWER_S)
            if first is None:
                return self._unresponsive(holder)
            answer = _parse_answer(first)
            if answer is None:  # it is working on it: wait for the verdict
                final = _read_line(socket, VERDICT_S)
                answer = _parse_answer(final) if final is not None else LaunchReply(False, (
                    f"it did not report within {VERDICT_S:g} s whether it armed; see its "
                    "window before relying on it."))
            return answer or LaunchReply(False, "its answer could not be read; see its window.")
        except InvalidInputError as exc:
            return LaunchReply(False, str(exc))
        finally:
            socket.abort()
            socket.deleteLater()

    def _on_connection(self) -> None:
        server = self._server
        if server is None:
            return
        while server.hasPendingConnections():
            connection = server.nextPendingConnection()
            if connection is None:
                break
            conversation = _Conversation(connection, self)
            self._conversations.add(conversation)
            conversation.ended.connect(lambda c=conversation: self._conversations.discard(c))

    async def answer(self, request: ForwardedRequest) -> LaunchReply:
        self.showRequested.emit()
        if self.handler is None:
            return LaunchReply(True, "its window was brought forward.")
        return await self.handler(request)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        for conversation in list(self._conversations):
            conversation.end()
        if self._lock is not None:
            release_file(self._lock, self._lock_path)
            self._lock = None


class _Conversation(QObject):
    """One later launch talking to the running instance: its request line, our answers."""

    ended = Signal()

    def __init__(self, connection: QLocalSocket, instance: SingleInstance) -> None:
        super().__init__(instance)
        self._connection = connection
        self._instance = instance
        self._buffer = b""
        self._answered = False
        self._ended = False
        self._task: asyncio.Future[Any] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self._refuse("no request within the time allowed"))
        self._timer.start(int(REQUEST_S * 1000))
        connection.readyRead.connect(self._read)
        connection.disconnected.connect(self.end)
        self._read()

    def _read(self) -> None:
        if self._answered:
            return
        self._buffer += bytes(self._connection.readAll().data())
        if b"\n" not in self._buffer:
            if len(self._buffer) > MAX_REQUEST_BYTES:
                self._refuse("request too long")
            return
        line = self._buffer.split(b"\n", 1)[0]
        self._answered = True
        self._timer.stop()
        try:
            request = decode_request(line)
        except InvalidInputError as exc:
            log.warning("Refused a malformed launch request: %s", exc)
            self._send(LaunchReply(False, f"the request was refused ({exc})."))
            return
        self._write(b'{"status":"working"}\n')
        self._task = asyncio.ensure_future(self._instance.answer(request))
        self._task.add_done_callback(self._answered_by)

    def _answered_by(self, task: asyncio.Future[Any]) -> None:
        if self._ended:  # the launch went away meanwhile
            return
        if task.cancelled():
            self.end()
            return
        exc = task.exception()
        if exc is not None:
            log.error("Answering a second launch failed", exc_info=exc)
            self._send(LaunchReply(False, "it failed to carry out the request; see its log."))
            return
        self._send(task.result())

    def _refuse(self, why: str) -> None:
        self._answered = True
        self._send(LaunchReply(False, f"the request was refused ({why})."))

    def _write(self, data: bytes) -> None:
        if self._connection.state() is QLocalSocket.LocalSocketState.ConnectedState:
            self._connection.write(data)
            self._connection.flush()

    def _send(self, reply: LaunchReply) -> None:
        self._write(reply.encode())
        self._connection.disconnectFromServer()
        self.end()

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._timer.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._connection.deleteLater()
        self.ended.emit()
        self.deleteLater()


def _read_line(socket: QLocalSocket, seconds: float) -> bytes | None:
    """One line from ``socket`` within ``seconds``; None when none came."""
    end = time.monotonic() + seconds
    while not socket.canReadLine():
        left_ms = int((end - time.monotonic()) * 1000)
        closed = socket.state() is QLocalSocket.LocalSocketState.UnconnectedState
        if left_ms <= 0 or closed:
            rest = bytes(socket.readAll().data())
            return rest or None
        socket.waitForReadyRead(min(left_ms, 200))
    return bytes(socket.readLine().data())


def _parse_answer(line: bytes) -> LaunchReply | None:
    """The verdict in ``line``; None for "working" (the verdict comes next)."""
    try:
        data = json.loads(line.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return LaunchReply(False, "its answer could not be read; see its window.")
    if not isinstance(data, dict):
        return LaunchReply(False, "its answer could not be read; see its window.")
    if data.get("status") == "working":
        return None
    message = data.get("message")
    return LaunchReply(data.get("ok") is True,
                       message if isinstance(message, str) else "no reason given.")
