"""A real Linux desktop for the desktop tests, started from nothing and thrown away after.

An X server (Xvfb), a private session bus (dbus-daemon), a notification server (dunst), a
system-tray host (trayer) and GNOME Keyring unlocked with a throwaway password, all with HOME,
the XDG directories and the runtime directory under one temporary folder: nothing reaches the
person's own display, bus, keyring or notifications.

``DesktopStack.env`` is the environment a process needs to live on it. dunst's context menu
(how a person picks a button other than the default) runs the program named by its ``dmenu``
setting; here that is a script that picks the line named in ``$HOME/pick`` and notes every line
it was offered, so a test can press "Stop" on a notification the way a person would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

TOOLS = ("Xvfb", "dbus-daemon", "dbus-send", "dunst", "dunstctl", "trayer",
         "gnome-keyring-daemon", "dbus-monitor")
#: what apt-get installs them from (.ci/run installs them all)
PACKAGES = "xvfb dbus dbus-bin dunst trayer gnome-keyring"
START_TIMEOUT_S = 20.0


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_S) -> None:
    """Until ``condition()`` holds (checked every 50 ms), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the desktop stack did not come up: {what}")
        time.sleep(0.05)


_PICK = """#!/bin/sh
# dunst's context menu: note what was offered, answer the line holding the word asked for.
offered="$(cat)"
printf '%s\\n' "$offered" >> "$HOME/offered"
word="$(cat "$HOME/pick" 2>/dev/null)"
[ -n "$word" ] && printf '%s\\n' "$offered" | grep -m1 -F -- "$word"
exit 0
"""

_DUNSTRC = """[global]
    dmenu = {pick}
    browser = /bin/true
    mouse_left_click = do_action
    show_indicators = no
"""


class DesktopStack:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.runtime = root / "runtime"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.display = ""
        self.bus = ""
        self.env: dict[str, str] = {}

    # ------------------------------------------------------------------ start

    def start(self) -> DesktopStack:
        self.home.mkdir(parents=True)
        self.runtime.mkdir(mode=0o700)
        for sub in (".config", ".local/share", ".cache"):
            (self.home / sub).mkdir(parents=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "HOME": str(self.home), "XDG_RUNTIME_DIR": str(self.runtime),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local/share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
        }
        try:
            self._start_x()
            self._start_bus()
            self._start_dunst()
            self._start_tray()
            self._start_keyring()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, argv: list[str], name: str, **kwargs: object) -> subprocess.Popen[bytes]:
        with open(self.root / f"{name}.log", "wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log,
                                    **kwargs)  # type: ignore[call-overload]
        self.procs.append(proc)
        return proc

    def _start_x(self) -> None:
        read, write = os.pipe()
        try:
            self._spawn(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24",
                         "-nolisten", "tcp"], "xvfb", pass_fds=(write,))
        finally:
            os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            raise RuntimeError("Xvfb did not say its display number")
        self.display = f":{number}"
        self.env["DISPLAY"] = self.display

    def _start_bus(self) -> None:
        read, write = os.pipe()
        try:
            self._spawn(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                         f"--print-address={write}"], "dbus", pass_fds=(write,))
        finally:
            os.close(write)
        with os.fdopen(read) as pipe:
            self.bus = pipe.readline().strip()
        if not self.bus:
            raise RuntimeError("dbus-daemon did not say its address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.bus

    def has_name(self, name: str) -> bool:
        result = subprocess.run(
            ["dbus-send", f"--bus={self.bus}", "--print-reply", "--dest=org.freedesktop.DBus",
             "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
            env=self.env, capture_output=True, text=True, timeout=10)
        return "boolean true" in result.stdout

    def owner_pid(self, name: str) -> int:
        """The process that owns ``name`` on the bus."""
        result = subprocess.run(
            ["dbus-send", f"--bus={self.bus}", "--print-reply", "--dest=org.freedesktop.DBus",
             "/org/freedesktop/DBus", "org.freedesktop.DBus.GetConnectionUnixProcessID",
             f"string:{name}"], env=self.env, capture_output=True, text=True, timeout=10)
        return int(result.stdout.split()[-1])

    def _start_dunst(self) -> None:
        pick = self.home / "pick-action"
        pick.write_text(_PICK)
        pick.chmod(0o755)
        config = self.home / "dunstrc"
        config.write_text(_DUNSTRC.format(pick=pick))
        self._spawn(["dunst", "-config", str(config)], "dunst")
        wait_for(lambda: self.has_name("org.freedesktop.Notifications"), "dunst on the bus")

    def _start_tray(self) -> None:
        self._spawn(["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                     "--height", "32", "--SetDockType", "true", "--transparent", "false"],
                    "trayer")
        # trayer takes the tray selection as it starts; the app's own check (Qt's
        # isSystemTrayAvailable) is what the tests wait on.

    def _start_keyring(self) -> None:
        proc = self._spawn(["gnome-keyring-daemon", "--foreground", "--unlock",
                            "--components=secrets"], "keyring", stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(b"desktop-test-password")
        proc.stdin.close()
        wait_for(lambda: self.has_name("org.freedesktop.secrets"), "GNOME Keyring on the bus")

    @classmethod
    def attach(cls, env: dict[str, str]) -> DesktopStack:
        """The stack a parent process started, from the environment it handed down."""
        stack = cls(Path(env["HOME"]).parent)
        stack.env = dict(env)
        stack.display, stack.bus = env["DISPLAY"], env["DBUS_SESSION_BUS_ADDRESS"]
        return stack

    # ------------------------------------------------------------------ use

    def dunstctl(self, *args: str) -> str:
        result = subprocess.run(["dunstctl", *args], env=self.env, capture_output=True,
                                text=True, timeout=10)
        return result.stdout.strip()

    def monitor(self, path: Path) -> subprocess.Popen[bytes]:
        """Everything said to and by the notification server, as dbus-monitor prints it."""
        with open(path, "wb") as out:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                ["dbus-monitor", "--address", self.bus,
                 "interface='org.freedesktop.Notifications'"],
                env=self.env, stdout=out, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()
