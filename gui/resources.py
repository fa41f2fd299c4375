"""Find the files under ``resources/`` from a checkout, an installed wheel or a frozen bundle, and
load the state icons from there.

The wheel carries ``resources/`` as the package ``gui._resources`` (see pyproject.toml); a
PyInstaller bundle puts it at ``<bundle>/resources``; a checkout has it beside ``gui/``.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from PySide6.QtGui import QIcon


@functools.cache
def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidate = Path(frozen) / "resources"
        if candidate.is_dir():
            return candidate
    # The wheel's copy before the checkout's: installed, the checkout path would be
    # site-packages/resources, which another distribution may own.
    try:
        import gui._resources as packaged  # type: ignore[import-not-found]
    except ImportError:
        packaged = None
    # resources/ has no __init__.py, so gui._resources is a namespace package: it has no
    # __file__, only __path__.
    for folder in getattr(packaged, "__path__", []):
        if Path(folder).is_dir():
            return Path(folder).resolve()
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("The app's resources folder is missing; reinstall gate-killswitch.")


def resource_path(*parts: str) -> Path:
    """Path of a resource file, e.g. ``resource_path("icons", "armed.svg")``."""
    return resources_dir().joinpath(*parts)


_icon_cache: dict[str, QIcon] = {}


def state_icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg``, loaded once."""
    icon = _icon_cache.get(name)
    if icon is None:
        icon = QIcon(str(resource_path("icons", f"{name}.svg")))
        _icon_cache[name] = icon
    return icon
