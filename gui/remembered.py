"""What the window remembers between runs: the timing, the chosen targets and its geometry,
restored at start and saved on the way out. Never keys.

The other preferences (sound, theme, start at login, the compact strip's place) are applied
and saved by :mod:`gui.preferences`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray

from gui.core.settings import Settings, SettingsError, SettingsStore
from gui.core.targets import Target, TargetError, parse_target
from gui.window.layout import fit_to_screen

if TYPE_CHECKING:
    from gui.options import GuiOptions
    from gui.window.main_window import MainWindow

log = logging.getLogger(__name__)


def restore_window(window: MainWindow, settings: Settings, options: GuiOptions) -> None:
    """Put the remembered (or the command line's) timing, targets and geometry back."""
    timeout = options.timeout if options.timeout is not None else settings.timeout
    interval = options.interval
    if interval is None:
        interval = settings.interval if options.timeout is None else None
    try:
        window.set_timing(timeout, interval)
    except Exception:
        log.exception("Could not restore the countdown settings")
    targets: list[Target] = []
    if options.arm:
        targets = list(options.arm)
    elif not options.demo:
        for text in settings.targets:
            try:
                targets.append(parse_target(text))
            except TargetError:
                log.warning("Ignoring a remembered target that is not valid: %r", text)
    if targets:
        window.picker.set_selected(targets)
    if settings.window_geometry:
        window.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode("ascii")))
        # Saved on another (larger) screen, or before the screen's layout changed.
        fit_to_screen(window)


def save_window(window: MainWindow, store: SettingsStore, settings: Settings,
                options: GuiOptions, profile_name: str | None, *, geometry: bool = False
                ) -> Settings | None:
    """Save what the window shows now over what is on file; the saved settings, or None when
    they could not be saved (logged)."""
    try:
        current = store.load()
    except Exception:
        current = settings
    current.notices_shown = sorted(set(current.notices_shown) | set(settings.notices_shown))
    if not options.demo:
        timeout, interval = window.timing()
        if window.timing_problem() is None:
            current.timeout, current.interval = timeout, interval
        current.targets = [str(t) for t in window.picker.selected_targets()]
        if profile_name and profile_name in current.profiles:
            current.last_profile = profile_name
    if geometry:
        current.window_geometry = bytes(window.saveGeometry().toBase64().data()).decode("ascii")
    try:
        store.save(current)
    except (OSError, SettingsError) as exc:
        log.warning("Could not save the settings: %s", exc)
        return None
    return current
