"""One instance per user and config directory; a second launch raises the first window."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QDir

from gui.core.arm_request import ForwardedRequest, LaunchReply
from gui.single_instance import SingleInstance, instance_name

ROOT = Path(__file__).resolve().parents[2]


def test_the_name_depends_on_the_config_dir(tmp_path):
    a, b = instance_name(tmp_path / "a"), instance_name(tmp_path / "b")
    assert a != b and a == instance_name(tmp_path / "a")
    assert a.startswith("gate-killswitch-") and len(a) < 80


def claim_in_a_thread(name: str, request: ForwardedRequest | None = None
                      ) -> tuple[threading.Thread, list[LaunchReply | None]]:
    """A later launch's claim, blocking as a launch does, while this thread runs the loop."""
    replies: list[LaunchReply | None] = []

    def run() -> None:
        later = SingleInstance(name)
        try:
            replies.append(later.claim(request))
        finally:
            later.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, replies


def test_a_second_instance_is_told_already_running_and_raises_the_first(
        make_app, qtbot, tmp_path):
    app = make_app()
    name = instance_name(tmp_path / "config")
    first = SingleInstance(name)
    try:
        assert first.claim() is None
        first.showRequested.connect(app.show_window)
        app.window.hide()
        with qtbot.waitSignal(first.showRequested, timeout=5_000):
            thread, replies = claim_in_a_thread(name)
        qtbot.waitUntil(lambda: not thread.is_alive(), timeout=10_000)
        assert replies[0] is not None and replies[0].ok, replies
        assert "brought forward" in replies[0].message
        qtbot.waitUntil(app.window.isVisible, timeout=2_000)
    finally:
        first.close()
        first.deleteLater()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix socket files only")
def test_a_stale_socket_file_is_replaced(tmp_path):
    name = instance_name(tmp_path / "stale")
    path = os.path.join(QDir.tempPath(), name)
    # What a crashed instance leaves: a socket file nobody listens on.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    instance = SingleInstance(name)
    try:
        assert instance.claim() is None
        assert instance.listening
    finally:
        instance.close()
        instance.deleteLater()


def test_a_second_launch_exits_zero_and_raises_the_running_window(make_app, qtbot, tmp_path):
    app = make_app()
    first = SingleInstance(instance_name(tmp_path / "config"))
    try:
        assert first.claim() is None
        first.showRequested.connect(app.show_window)
        app.window.hide()
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "GATE_KILLSWITCH_CONFIG_DIR": str(tmp_path / "config"),
               "GATE_KILLSWITCH_DATA_DIR": str(tmp_path / "data"),
               "GATE_KILLSWITCH_CACHE_DIR": str(tmp_path / "cache")}
        with qtbot.waitSignal(first.showRequested, timeout=20_000):
            launch = subprocess.Popen([sys.executable, "-m", "gui", "--demo"], cwd=ROOT,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
        # The loop must run while the launch waits for the answer: no blocking wait here.
        qtbot.waitUntil(lambda: launch.poll() is not None, timeout=30_000)
        _out, err = launch.communicate()
        assert launch.returncode == 0, err
        assert "already running" in err and "brought forward" in err
        assert app.window.isVisible()
    finally:
        first.close()
        first.deleteLater()


def _talk(path: str, data: bytes, answers: list[bytes]) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.settimeout(10)
        raw.connect(path)
        raw.sendall(data)
        got = b""
        while chunk := raw.recv(65536):
            got += chunk
        answers.append(got)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix socket files only")
@pytest.mark.parametrize(("data", "words"), [
    (b"show\n", b"not JSON"),
    (b'{"op":"launch","arm":[],"timeout":null,"interval":null,"profile":null}\n',
     b"wrong fields"),
    (b'{"op":"launch","arm":[1],"timeout":null,"interval":null,"profile":null,'
     b'"demo":false}\n', b"targets are not texts"),
    (b'{"op":"launch","arm":[],"timeout":"60","interval":null,"profile":null,'
     b'"demo":false}\n', b"timeout is not whole seconds"),
    (b"x" * 20_000, b"request too long"),
])
def test_a_malformed_or_oversized_request_is_refused_and_changes_nothing(
        qtbot, qloop, tmp_path, data, words):
    instance = SingleInstance(instance_name(tmp_path / "config"))
    asked: list[ForwardedRequest] = []

    async def handler(request: ForwardedRequest) -> LaunchReply:
        asked.append(request)
        return LaunchReply(True, "armed")

    instance.handler = handler
    try:
        assert instance.claim() is None
        path = instance._server.fullServerName()
        answers: list[bytes] = []
        thread = threading.Thread(target=_talk, args=(path, data, answers), daemon=True)
        thread.start()
        qtbot.waitUntil(lambda: not thread.is_alive(), timeout=10_000)
        assert len(answers) == 1 and b'"ok":false' in answers[0] and words in answers[0]
        assert asked == []
    finally:
        instance.close()
        instance.deleteLater()


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0
                    or not Path("/usr/bin/setpriv").exists()
                    or not Path("/usr/bin/python3").exists(),
                    reason="needs root, setpriv and a system python to act as another user")
def test_a_process_of_another_user_cannot_connect(qtbot, tmp_path):
    instance = SingleInstance(instance_name(tmp_path / "config"))
    # The most permissive umask: the socket's access must come from the app, not from luck.
    umask = os.umask(0)
    try:
        try:
            assert instance.claim() is None
        finally:
            os.umask(umask)
        path = instance._server.fullServerName()
        probe = ("import socket, sys\n"
                 "s = socket.socket(socket.AF_UNIX)\n"
                 "try:\n    s.connect(sys.argv[1])\n"
                 "except PermissionError:\n    print('refused')\n"
                 "else:\n    print('connected')\n")
        as_nobody = ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                     "--clear-groups", "/usr/bin/python3", "-c", probe, path]
        as_us = ["/usr/bin/python3", "-c", probe, path]
        results: dict[str, str] = {}

        def run() -> None:
            for who, argv in (("us", as_us), ("nobody", as_nobody)):
                results[who] = subprocess.run(argv, capture_output=True, text=True,
                                              timeout=30).stdout.strip()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        qtbot.waitUntil(lambda: not thread.is_alive(), timeout=30_000)
        # The same probe as this user connects: the refusal is the user check, nothing else.
        assert results == {"us": "connected", "nobody": "refused"}
    finally:
        instance.close()
        instance.deleteLater()
