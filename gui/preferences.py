"""Applying the preferences: the alert sound, the theme and starting at login.

The Preferences dialog asks; this applies each choice at once (the sound to the notifier, the
theme to the running app, the autostart entry to the disk), saves it in the settings, and tells
the dialog when something could not be done. The box for start at login shows whether the
entry exists, which is what decides the next login, not only what the settings say.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from gui.core import autostart
from gui.core.settings import Settings, SettingsError, SettingsStore
from gui.dialogs.preferences_dialog import PreferencesDialog
from gui.notifications import Notifier
from gui.theme import Theme

log = logging.getLogger(__name__)


class Preferences(QObject):
    def __init__(self, settings_store: SettingsStore, notifier: Notifier, theme: Theme | None,
                 window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = settings_store
        self._notifier = notifier
        self._theme = theme
        self._window = window
        self.dialog: PreferencesDialog | None = None

    def open(self) -> PreferencesDialog:
        """Show the dialog (the one already open, if there is one)."""
        if self.dialog is not None:
            self.dialog.show()
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        settings = self._store.load()
        dialog = PreferencesDialog(
            sound=settings.alert_sound,
            theme=self._theme.choice if self._theme is not None else settings.theme,
            start_at_login=autostart.supported() and autostart.is_enabled(),
            can_start_at_login=autostart.supported(), parent=self._window)
        dialog.soundChanged.connect(self.set_sound)
        dialog.themeChanged.connect(self.set_theme)
        dialog.startAtLoginChanged.connect(self.set_start_at_login)
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _closed(self, _result: int) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None

    def _save(self, change: str, value: object) -> bool:
        settings: Settings = self._store.load()
        setattr(settings, change, value)
        try:
            self._store.save(settings)
        except (OSError, SettingsError) as exc:
            log.warning("Could not save the settings: %s", exc)
            self._say(f"Could not save the setting: {exc}. It applies until the app quits.")
            return False
        return True

    def _say(self, text: str) -> None:
        if self.dialog is not None:
            self.dialog.set_message(text)

    def set_sound(self, on: bool) -> None:
        self._notifier.set_sound(on)
        if self._save("alert_sound", on):
            self._say("")

    def set_theme(self, choice: str) -> None:
        if self._theme is not None:
            self._theme.set_choice(choice)
        if self._save("theme", choice):
            self._say("")

    def set_start_at_login(self, on: bool) -> None:
        try:
            if on:
                path = autostart.enable()
                text = f"It starts at login, disarmed, from {path}."
            else:
                autostart.disable()
                text = "It no longer starts at login."
        except autostart.AutostartError as exc:
            log.warning("Start at login: %s", exc)
            if self.dialog is not None:
                self.dialog.set_start_at_login(autostart.is_enabled())
            self._say(f"Start at login could not be changed: {exc}")
            return
        if self._save("start_at_login", on):
            self._say(text)
