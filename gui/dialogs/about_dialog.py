"""About gate-killswitch: the version, the licence, and where its journal and settings live
(the paths selectable, to be copied into a file manager or a bug report)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

import gui
from gui.core.settings import config_dir
from gui.dialogs.fit import grow_to_fit

LICENCE = "MIT"


def about_text(journal_dir: Path | None) -> str:
    journal = str(journal_dir) if journal_dir is not None else "not kept by this window"
    rows = (("Version", gui.__version__), ("Licence", LICENCE), ("Journal", journal),
            ("Settings", str(config_dir())), ("Secrets", "the OS keyring, never a file"))
    cells = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td>"
                    f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
    return ("<p><b>gate-killswitch</b>: keeps Gate's server-side dead man's switch alive "
            f"for the scopes you protect.</p><table>{cells}</table>")


class AboutDialog(QDialog):
    def __init__(self, journal_dir: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grow_to_fit(self)  # as tall as its messages need
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About gate-killswitch")
        self.text = QLabel(about_text(journal_dir))
        self.text.setObjectName("aboutText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
