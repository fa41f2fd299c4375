"""Workarounds for bugs of Qt and PySide6, each tagged ``WORKAROUND`` so it can be found with grep
and deleted when its bug is gone.

WORKAROUND for PySide6 6.12.0 on CPython 3.11, which loses references to ``None`` and ``True``
(:func:`guard_refcounts`). No upstream report was found for it (Qt's tracker is
bugreports.qt.io, project PYSIDE; search "6.12 refcount None"); it is measured by the probe
below and by ``tests/gui/test_refcounts.py``. Delete it once PySide6 6.12.0 is no longer
installable for Python 3.11 (``pyproject.toml`` already excludes it).
"""

from __future__ import annotations

import logging
import platform
import sys

log = logging.getLogger(__name__)

_REFCOUNT_BOOST = 1 << 40
_refcounts_guarded: bool | None = None


def guard_refcounts() -> bool:
    """Work around a reference-count bug of PySide6 6.12.0 on CPython 3.11.

    There, every call of a void Qt method from Python drops a reference to ``None`` and every
    ``Signal.emit`` one to ``True`` (measured: PySide6 6.11.3 does not, and CPython 3.12 made
    these objects immortal, PEP 683). In a running app that is tens of references a second, and
    when a count reaches zero CPython aborts ("none_dealloc"): within minutes, a kill switch
    that dies. When the bug is detected, ``None``, ``True`` and ``False`` get the huge reference
    count that CPython 3.12 gives immortal objects. Returns whether that was done.

    The real fix is a PySide6 without the bug (``PySide6-Essentials != 6.12.0``) or Python
    3.12+; this keeps the app alive meanwhile and changes nothing where the bug is absent.
    """
    global _refcounts_guarded
    if _refcounts_guarded is None:
        _refcounts_guarded = _guard_refcounts()
    return _refcounts_guarded


def _guard_refcounts() -> bool:
    if (sys.version_info >= (3, 12) or sys.implementation.name != "cpython"
            or hasattr(sys, "gettotalrefcount")):  # immortal already, or another layout
        return False
    import ctypes

    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    rounds = 32
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(rounds):
        probe.setObjectName("refcount-probe")
        probe.ping.emit()
    lost = max(none_before - sys.getrefcount(None), true_before - sys.getrefcount(True))
    del probe
    if lost < rounds:
        return False
    for obj in (None, True, False):
        cell = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt: first field of a release build
        if abs(cell.value - (sys.getrefcount(obj) - 1)) > 4:
            log.warning("Unexpected object layout: the PySide6 reference-count workaround is off")
            return False
        cell.value += _REFCOUNT_BOOST
    log.info("PySide6 %s on Python %s loses references to None/True; worked around. "
                "Use another PySide6 version or Python 3.12+.", _pyside_version(),
                platform.python_version())
    return True


def _pyside_version() -> str:
    from PySide6 import __version__

    return str(__version__)
