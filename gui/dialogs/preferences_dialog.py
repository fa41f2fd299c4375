"""Preferences: the alert sound, the theme, starting at login. Each applies as it is changed.

The dialog only shows and asks: it emits what the person chose, and the controller applies it
(saves the setting, writes or removes the autostart entry, switches the theme) and tells the
dialog what came of it (:meth:`PreferencesDialog.set_message`), so a failure is said here, next
to the choice that caused it, and the box shows what is true.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from gui.dialogs.fit import grow_to_fit

#: the theme setting's values, as the box shows them
THEME_LABELS = {"system": "Follow the desktop", "light": "Light", "dark": "Dark"}


class PreferencesDialog(QDialog):
    soundChanged = Signal(bool)
    themeChanged = Signal(str)
    startAtLoginChanged = Signal(bool)

    def __init__(self, *, sound: bool, theme: str, start_at_login: bool,
                 can_start_at_login: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grow_to_fit(self)  # as tall as its messages need
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences — gate-killswitch")
        self.sound_box = QCheckBox("Play a sound when a countdown fires or time is short")
        self.sound_box.setChecked(sound)
        self.sound_box.toggled.connect(self.soundChanged.emit)
        self.theme_combo = QComboBox()
        self.theme_combo.setAccessibleName("Theme")
        for value, label in THEME_LABELS.items():
            self.theme_combo.addItem(label, value)
        self.theme_combo.setCurrentIndex(list(THEME_LABELS).index(theme))
        self.theme_combo.currentIndexChanged.connect(
            lambda _i: self.themeChanged.emit(self.theme_combo.currentData()))
        self.login_box = QCheckBox("Start at login (disarmed, in the tray)")
        self.login_box.setChecked(start_at_login)
        self.login_box.setEnabled(can_start_at_login)
        if not can_start_at_login:
            self.login_box.setToolTip("On this system, add the app to the login items yourself "
                                      "(see the README).")
        self.login_box.toggled.connect(self.startAtLoginChanged.emit)
        self.message = QLabel()
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        form = QFormLayout()
        form.addRow(self.sound_box)
        form.addRow("Theme:", self.theme_combo)
        form.addRow(self.login_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_start_at_login(self, on: bool) -> None:
        """Show what is true (after a failed change), without asking for it again."""
        self.login_box.blockSignals(True)
        self.login_box.setChecked(on)
        self.login_box.blockSignals(False)
