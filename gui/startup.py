"""Start-up facts that need no window: is there a display, how much memory, the figures
``--self-test`` prints.

NOTE: no Qt at import time (a test checks it); :func:`startup_figures` asks PySide6 for its
versions only when called, in a process that already runs Qt.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any

NO_DISPLAY_MESSAGE = (
    "gate-killswitch: no display to show the window on (neither DISPLAY nor WAYLAND_DISPLAY is "
    "set).\nRun it from a desktop session, or set QT_QPA_PLATFORM=offscreen to run the window "
    "without a screen (tests, --self-test). For a headless heartbeat use "
    "'gate-killswitch run'.")


def display_problem(environ: dict[str, str] | os._Environ[str] | None = None,
                    platform_name: str | None = None) -> str | None:
    """Why no window can be shown here (a message naming the fix), or None.

    Only Linux and the BSDs need a display server; Qt would abort without one.
    """
    env = os.environ if environ is None else environ
    name = sys.platform if platform_name is None else platform_name
    if not (name.startswith("linux") or "bsd" in name):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip().lower()
    has_x11, has_wayland = bool(env.get("DISPLAY")), bool(env.get("WAYLAND_DISPLAY"))
    if chosen == "xcb":
        return None if has_x11 else NO_DISPLAY_MESSAGE
    if chosen.startswith("wayland"):
        return None if has_wayland else NO_DISPLAY_MESSAGE
    if chosen or has_x11 or has_wayland:  # offscreen, vnc, eglfs...: Qt's own business
        return None
    return NO_DISPLAY_MESSAGE


def resident_mb() -> float | None:
    """Resident memory of this process in MB (VmRSS on Linux, else the peak from getrusage)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def startup_figures(process_start: float) -> dict[str, Any]:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    return {
        "startup_s": round(time.time() - process_start, 3),
        "rss_mb": resident_mb(),
        "qt": qVersion(),
        "pyside": pyside_version,
        "python": platform.python_version(),
    }
