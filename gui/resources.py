"""Find the files under ``resources/`` from a checkout, an installed wheel or a frozen bundle.

The wheel carries ``resources/`` as the package ``gui._resources`` (see pyproject.toml); a
PyInstaller bundle puts it at ``<bundle>/resources``; a checkout has it beside ``gui/``.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path


@functools.cache
def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidate = Path(frozen) / "resources"
        if candidate.is_dir():
            return candidate
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if checkout.is_dir():
        return checkout
    try:
        import gui._resources as packaged  # type: ignore[import-not-found]
    except ImportError:
        packaged = None
    if packaged is not None and packaged.__file__:
        return Path(packaged.__file__).resolve().parent
    raise FileNotFoundError("The app's resources folder is missing; reinstall gate-killswitch.")


def resource_path(*parts: str) -> Path:
    """Path of a resource file, e.g. ``resource_path("icons", "armed.svg")``."""
    return resources_dir().joinpath(*parts)
