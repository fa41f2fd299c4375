"""Light and dark: the palette for Qt's own widgets and the stylesheets for the app's parts.

``resources/style.qss`` lays everything out and colours it for the light scheme;
``resources/style-dark.qss`` follows it and gives the colour-bearing rules their dark values.
"system" (the default setting) follows the desktop's colour scheme as Qt reports it
(``QStyleHints.colorScheme``) and switches live when the desktop switches; "light" and "dark"
force one. Every state's colours keep WCAG AA contrast in both schemes
(``tests/gui/test_theme.py`` measures them on the widgets), and no state is told by colour
alone: each also has its words and an icon of its own shape.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from gui.core.settings import THEMES
from gui.resources import resource_path

log = logging.getLogger(__name__)

_R = QPalette.ColorRole
LIGHT_PALETTE: dict[QPalette.ColorRole, str] = {
    _R.Window: "#eef0f3",
    _R.WindowText: "#1d2330",
    _R.Base: "#ffffff",
    _R.AlternateBase: "#f5f6f8",
    _R.Text: "#1d2330",
    _R.Button: "#f7f8fa",
    _R.ButtonText: "#1d2330",
    _R.Highlight: "#2f6fde",
    _R.HighlightedText: "#ffffff",
    _R.ToolTipBase: "#1d2330",
    _R.ToolTipText: "#f5f6f8",
    _R.PlaceholderText: "#6b7383",
    _R.Link: "#1f57b8",
}
DARK_PALETTE: dict[QPalette.ColorRole, str] = {
    _R.Window: "#15191f",
    _R.WindowText: "#e6e9ef",
    _R.Base: "#1e232b",
    _R.AlternateBase: "#242a33",
    _R.Text: "#e6e9ef",
    _R.Button: "#2a303a",
    _R.ButtonText: "#e6e9ef",
    _R.Highlight: "#3d7bea",
    _R.HighlightedText: "#ffffff",
    _R.ToolTipBase: "#e6e9ef",
    _R.ToolTipText: "#15191f",
    _R.PlaceholderText: "#9aa3b2",
    _R.Link: "#8fb4ff",
}
_DISABLED_TEXT = {"light": "#8a93a3", "dark": "#7d8696"}


def desktop_scheme() -> str:
    """'dark' or 'light', as the desktop says (Qt asks the platform); 'light' if unknown."""
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication) \
            and app.styleHints().colorScheme() is Qt.ColorScheme.Dark:
        return "dark"
    return "light"


def resolve(choice: str) -> str:
    """The scheme a setting means now: 'system' follows the desktop."""
    if choice not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {choice!r}")
    return desktop_scheme() if choice == "system" else choice


def palette(scheme: str) -> QPalette:
    pal = QPalette()
    for role, color in (DARK_PALETTE if scheme == "dark" else LIGHT_PALETTE).items():
        pal.setColor(role, QColor(color))
    for role in (_R.WindowText, _R.Text, _R.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(_DISABLED_TEXT[scheme]))
    return pal


def stylesheet(scheme: str) -> str:
    """style.qss, and for dark style-dark.qss after it (later rules win at equal specificity)."""
    names = ["style.qss"] + (["style-dark.qss"] if scheme == "dark" else [])
    parts = []
    for name in names:
        try:
            parts.append(resource_path(name).read_text(encoding="utf-8"))
        except OSError as exc:
            log.warning("The stylesheet %s could not be read: %s", name, exc)
    return "\n".join(parts)


def apply_scheme(app: QApplication, scheme: str) -> None:
    """Fusion with the scheme's palette, and the app's stylesheet for that scheme."""
    if scheme not in ("light", "dark"):
        raise ValueError(scheme)
    app.setStyle("Fusion")
    app.setPalette(palette(scheme))
    app.setStyleSheet(stylesheet(scheme))


class Theme(QObject):
    """Keeps the app in the scheme the setting asks for, following the desktop for 'system'.

    ``changed(scheme)`` is emitted whenever the scheme applied changes.
    """

    changed = Signal(str)

    def __init__(self, app: QApplication, choice: str = "system",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._choice = "system"
        self.scheme = ""
        app.styleHints().colorSchemeChanged.connect(self._desktop_changed)
        self.set_choice(choice)

    @property
    def choice(self) -> str:
        return self._choice

    def set_choice(self, choice: str) -> None:
        """'system', 'light' or 'dark' (anything else is a ValueError and changes nothing)."""
        scheme = resolve(choice)
        self._choice = choice
        self._apply(scheme)

    def _desktop_changed(self, scheme: Qt.ColorScheme) -> None:
        # The signal carries the desktop's new scheme: read it from there, not from the hint,
        # which a platform may update only after telling.
        if self._choice == "system":
            self._apply("dark" if scheme is Qt.ColorScheme.Dark else "light")

    def _apply(self, scheme: str) -> None:
        if scheme == self.scheme:
            return
        apply_scheme(self._app, scheme)
        self.scheme = scheme
        self.changed.emit(scheme)

    def close(self) -> None:
        self._app.styleHints().colorSchemeChanged.disconnect(self._desktop_changed)
