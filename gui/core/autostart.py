"""Start at login: the XDG autostart entry on Linux (off until the person turns it on).

The entry is ``$XDG_CONFIG_HOME/autostart/io.github.gate_killswitch.desktop`` (``~/.config``
when the variable is unset or not absolute, as the XDG Base Directory spec says). It runs the
app with ``--autostart``: the app starts disarmed, in the tray when there is one (else with its
window), and arms nothing by itself, whatever was armed when it last quit.

Windows and macOS have no entry written by the app (see the README): a shortcut in the Startup
folder, or Login Items, does the same.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

__all__ = ["AUTOSTART_FLAG", "ENTRY_NAME", "AutostartError", "autostart_path", "command",
           "disable", "enable", "entry_text", "is_enabled", "supported"]

ENTRY_NAME = "io.github.gate_killswitch.desktop"
AUTOSTART_FLAG = "--autostart"


class AutostartError(OSError):
    """The entry could not be written or removed (the message says where and why)."""


def supported() -> bool:
    return sys.platform.startswith("linux") or "bsd" in sys.platform


def autostart_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "autostart" / ENTRY_NAME


def command() -> list[str]:
    """How this installation is started: the bundle's executable, the script this process was
    started by, or this Python with ``-m gui``. Never the first ``gate-killswitch`` on PATH,
    which may be another installation."""
    if getattr(sys, "frozen", False):
        return [sys.executable, AUTOSTART_FLAG]
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "gate-killswitch" and script.is_file():
        return [str(script.resolve()), AUTOSTART_FLAG]
    return [str(Path(sys.executable).absolute()), "-m", "gui", AUTOSTART_FLAG]


def _exec_quote(arg: str) -> str:
    # The Desktop Entry spec's quoting: double quotes around an argument with reserved
    # characters, backslash before ", `, $ and \ inside; % is doubled everywhere.
    arg = arg.replace("%", "%%")
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`="):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def entry_text(argv: list[str] | None = None) -> str:
    argv = command() if argv is None else argv
    # "-m gui" finds the package from the working directory when it is not installed (a
    # checkout): start there. Path= takes no quoting, only a plain directory.
    workdir = ""
    if argv[1:3] == ["-m", "gui"]:
        workdir = f"Path={Path(__file__).resolve().parents[2]}\n"
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=gate-killswitch\n"
        "Comment=Keeps Gate's dead man's switch alive; starts disarmed, in the tray\n"
        f"Exec={' '.join(_exec_quote(a) for a in argv)}\n"
        f"{workdir}"
        "Icon=io.github.gate_killswitch\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def is_enabled() -> bool:
    return autostart_path().is_file()


def enable(argv: list[str] | None = None) -> Path:
    """Write the entry (replacing an older one atomically); its path."""
    path = autostart_path()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(entry_text(argv), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise AutostartError(f"could not write {path}: {exc.strerror or exc}") from None
    return path


def disable() -> None:
    path = autostart_path()
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise AutostartError(f"could not remove {path}: {exc.strerror or exc}") from None
