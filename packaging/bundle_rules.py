"""What goes into the PyInstaller bundle, and what is left out: used by gate-killswitch.spec.

Plain functions over PyInstaller's TOC entries ``(dest_name, src_name, typecode)``, kept out of
the spec so that ruff checks them and tests/test_packaging.py can call them without a build.
"""

from __future__ import annotations

import re
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

TocEntry = tuple[str, str, str]

NAME = "gate-killswitch"
BUNDLE_ID = "io.github.gate_killswitch"

# keyring finds its backends through entry points and imports them by name, which analysis cannot
# follow. PyInstaller's own keyring hook collects keyring.backends and keyring's metadata (the
# entry points); they are listed here too, as Vorta does, so the bundle does not depend on the
# hook staying as it is, together with what each backend imports lazily.
KEYRING_HIDDEN_IMPORTS = [
    "keyring.backends.chainer",
    "keyring.backends.fail",
    "keyring.backends.null",
    # Linux: Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet 5.97+), and KWallet's
    # own API (usable only where dbus-python is importable, which pip cannot install).
    "keyring.backends.SecretService",
    "keyring.backends.kwallet",
    "keyring.backends.libsecret",
    "secretstorage",
    "secretstorage.dhcrypto",
    "jeepney",
    "jeepney.io.blocking",
    # Windows Credential Locker and the macOS Keychain.
    "keyring.backends.Windows",
    "keyring.backends.macOS",
    "keyring.backends.macOS.api",
]
# The Windows backend talks to the Credential Locker through pywin32-ctypes.
WINDOWS_HIDDEN_IMPORTS = [
    "win32ctypes.core",
    "win32ctypes.pywin32.win32cred",
    "win32ctypes.pywin32.pywintypes",
]


def hidden_imports(platform: str = sys.platform) -> list[str]:
    return KEYRING_HIDDEN_IMPORTS + (WINDOWS_HIDDEN_IMPORTS if platform == "win32" else [])


# Qt modules the app uses: QtCore, QtGui, QtWidgets, QtSvg (through the SVG icon engine) and
# QtNetwork (QLocalServer for the single instance). Everything else is excluded so that nothing
# drags it in by accident; each would bring large Qt libraries with it.
UNUSED_QT_MODULES = [
    "QtQml", "QtQuick", "QtQuickWidgets", "QtQuickControls2", "QtQuick3D", "QtWebEngineCore",
    "QtWebEngineWidgets", "QtWebEngineQuick", "QtWebChannel", "QtWebSockets", "Qt3DCore",
    "Qt3DRender", "Qt3DInput", "Qt3DLogic", "Qt3DAnimation", "Qt3DExtras", "QtMultimedia",
    "QtMultimediaWidgets", "QtPdf", "QtPdfWidgets", "QtCharts", "QtDataVisualization", "QtGraphs",
    "QtNetworkAuth", "QtSql", "QtTest", "QtOpenGL", "QtOpenGLWidgets", "QtDesigner", "QtUiTools",
    "QtHelp", "QtPrintSupport", "QtXml", "QtConcurrent", "QtStateMachine", "QtScxml",
    "QtBluetooth", "QtPositioning", "QtLocation", "QtSerialPort", "QtSensors", "QtTextToSpeech",
    "QtRemoteObjects", "QtSpatialAudio", "QtSvgWidgets", "QtAxContainer",
]
EXCLUDES = [
    # Standard library parts the app never imports.
    "tkinter", "_tkinter", "turtle", "turtledemo", "idlelib", "lib2to3", "pydoc", "pydoc_data",
    "doctest", "unittest", "test", "ensurepip", "venv", "distutils",
    # Build tools, test and development dependencies, and the official SDK the tests compare
    # against.
    "setuptools", "pkg_resources", "pip", "wheel", "gate_api", "pytest", "_pytest", "pytestqt",
    "hypothesis", "mypy", "ruff", "tests",
    # The wheel's copy of resources/; the bundle has its own at <bundle>/resources.
    "gui._resources",
    *(f"PySide6.{module}" for module in UNUSED_QT_MODULES),
]

# Qt plugins kept, by folder; a folder not named here is left out, None keeps a whole folder.
# Names are file names without "lib" and the suffix, so one table serves .so, .dll and .dylib.
QT_PLUGINS: dict[str, set[str] | None] = {
    # X11, Wayland, and offscreen for --self-test and CI; Windows and macOS.
    "platforms": {"qxcb", "qwayland", "qwayland-generic", "qwayland-egl", "qoffscreen",
                  "qwindows", "qcocoa"},
    # xcb looks these up when a window may use OpenGL; they are small.
    "xcbglintegrations": {"qxcb-glx-integration", "qxcb-egl-integration"},
    "wayland-shell-integration": {"xdg-shell"},
    # Client-side window decorations where the compositor draws none (GNOME).
    "wayland-decoration-client": {"bradient", "adwaita"},
    "wayland-graphics-integration-client": {"qt-plugin-wayland-egl"},
    # Portal dialogs and colour scheme; qgtk3 would need GTK 3 from the system and pulls in
    # cairo and pango at build time.
    "platformthemes": {"qxdgdesktopportal"},
    # Dead keys and input methods in the search and key fields.
    "platforminputcontexts": {"composeplatforminputcontextplugin",
                              "ibusplatforminputcontextplugin"},
    # SVG icons (tray, state icons) and ICO; PNG is built into QtGui.
    "imageformats": {"qsvg", "qico"},
    "iconengines": {"qsvgicon"},
    # Native styles on Windows and macOS: the app sets Fusion, but message boxes may ask.
    "styles": None,
}

# Qt libraries that only left-out plugins or modules use, by the start of the name after "Qt6".
QT_LIBS_DROPPED = (
    "Qml", "Quick", "Pdf", "WebEngine", "WebChannel", "WebSockets", "WebView", "3D", "Multimedia",
    "Charts", "DataVisualization", "Graphs", "NetworkAuth", "Sql", "Test", "OpenGLWidgets",
    "VirtualKeyboard", "WaylandCompositor", "WaylandEglCompositor", "WlShellIntegration",
    "Designer", "Help", "UiTools", "Labs", "Lottie", "ShaderTools", "Positioning", "Location",
    "Sensors", "SerialPort", "Bluetooth", "Nfc", "RemoteObjects", "Scxml", "StateMachine",
    "TextToSpeech", "SpatialAudio", "EglFS", "EglFs", "PrintSupport", "Concurrent", "Xml",
    "SvgWidgets",
)

# Linux: the display stack comes from the system, as for every desktop app. Libraries that talk
# to the X server, the compositor, the font configuration and the session bus must match them,
# and a copy from the build machine would be one more thing to go stale (the README lists the
# packages). PyInstaller leaves out libGL and libEGL for the same reason. libpng16, libbrotli*
# and libpcre2-8 come only with freetype and glib.
LINUX_SYSTEM_LIBS = re.compile(
    r"^lib(X11|X11-xcb|Xau|Xdmcp|xcb(-[a-z0-9-]+)?|xkbcommon(-x11)?|wayland-[a-z]+|fontconfig|"
    r"freetype|png16|brotli[a-z]*|glib-2\.0|gthread-2\.0|gobject-2\.0|gio-2\.0|gmodule-2\.0|"
    r"pcre2-8|dbus-1)\.so(\.|$)")


def qt_entry_kept(dest: str) -> bool:
    """False for Qt plugins, libraries and translations the app never loads."""
    parts = Path(dest).parts
    if "PySide6" not in parts:
        return True
    if "translations" in parts:
        # The app ships no translation and installs no QTranslator: no .qm file is ever loaded.
        return False
    if "plugins" in parts:
        index = parts.index("plugins")
        if len(parts) < index + 3:
            return True
        folder, stem = parts[index + 1], Path(parts[-1]).name.split(".")[0]
        kept = QT_PLUGINS.get(folder, set())
        return kept is None or stem.removeprefix("lib") in kept
    name = parts[-1]
    # libQt6Gui.so.6 (Linux), Qt6Gui.dll (Windows), QtGui.framework/.../QtGui (macOS).
    match = re.match(r"^(?:lib)?Qt6([A-Za-z0-9]+)", name) or re.match(r"^Qt([A-Za-z0-9]+)$", name)
    if match:
        return not match.group(1).startswith(QT_LIBS_DROPPED)
    return True


def linux_system_lib(dest: str) -> bool:
    """True for a display-stack library that must come from the system (top-level names only)."""
    return "/" not in dest and bool(LINUX_SYSTEM_LIBS.match(dest))


def elf_needed(path: str | Path) -> list[str]:
    """The DT_NEEDED names of an ELF file (its direct dependencies); [] for anything else.

    ldd would list the whole closure as the build machine resolves it, including what the
    libraries left to the system need, which would then stay in the bundle for nothing.
    """
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        return []
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if wide:
        (sh_offset,) = struct.unpack_from(order + "Q", data, 0x28)
        sh_size, sh_count = struct.unpack_from(order + "HH", data, 0x3A)
        section, dyn_entry = order + "IIQQQQIIQQ", order + "qQ"
    else:
        (sh_offset,) = struct.unpack_from(order + "I", data, 0x20)
        sh_size, sh_count = struct.unpack_from(order + "HH", data, 0x2E)
        section, dyn_entry = order + "IIIIIIIIII", order + "iI"
    sections = [struct.unpack_from(section, data, sh_offset + i * sh_size)
                for i in range(sh_count)]
    names: list[str] = []
    for _name, kind, _flags, _addr, offset, size, link, *_ in sections:
        if kind != 6:  # SHT_DYNAMIC; its sh_link is the index of its string table
            continue
        strings_at = sections[link][4]
        step = struct.calcsize(dyn_entry)
        for at in range(offset, offset + size, step):
            tag, value = struct.unpack_from(dyn_entry, data, at)
            if tag == 0:  # DT_NULL ends the table
                break
            if tag == 1:  # DT_NEEDED
                end = data.index(b"\0", strings_at + value)
                names.append(data[strings_at + value:end].decode())
    return names


def _is_dependency_library(dest: str) -> bool:
    # What binary dependency analysis adds: lib*.so* at the top and in Qt's own lib folder.
    # Never an extension module (_cffi_backend.cpython-311-x86_64-linux-gnu.so sits at the top
    # too, and only Python's import loads it), nor libpython, which the bootloader loads.
    path = Path(dest)
    return (str(path.parent) in (".", "PySide6/Qt/lib")
            and re.fullmatch(r"lib[^/]*\.so(\.[0-9]+)*", path.name) is not None
            and not path.name.startswith("libpython"))


def prune_orphan_libraries(binaries: list[TocEntry]) -> list[TocEntry]:
    """Drop the shared libraries (Linux) that only left-out plugins or system libraries need.

    Analysis collects every plugin's dependencies before the filters run, so the GTK theme
    plugin, for one, leaves cairo and pango behind. A library stays if an extension module, a
    kept plugin or libpython needs it, directly or through other bundled libraries.
    """
    libraries: dict[str, TocEntry] = {}
    for entry in binaries:
        if entry[2] != "SYMLINK" and _is_dependency_library(entry[0]):
            libraries.setdefault(Path(entry[0]).name, entry)
    pending = [entry[1] for entry in binaries
               if entry[2] != "SYMLINK" and not _is_dependency_library(entry[0])]
    needed: set[str] = set()
    while pending:
        for name in elf_needed(pending.pop()):
            if name in libraries and name not in needed:
                needed.add(name)
                pending.append(libraries[name][1])
    return [entry for entry in binaries
            if entry[2] == "SYMLINK" or not _is_dependency_library(entry[0])
            or Path(entry[0]).name in needed]


def drop_dangling_links(toc: Iterable[TocEntry], targets: set[str]) -> list[TocEntry]:
    """``toc`` without the symbolic links whose target (``src_name``) is not collected."""
    return [entry for entry in toc if entry[2] != "SYMLINK" or entry[1] in targets]


def filter_collected(binaries: list[TocEntry], datas: list[TocEntry],
                     platform: str = sys.platform) -> tuple[list[TocEntry], list[TocEntry]]:
    """Analysis's binaries and datas without what the app never loads."""
    linux = platform.startswith("linux")
    binaries = [entry for entry in binaries if qt_entry_kept(entry[0])
                and not (linux and linux_system_lib(entry[0]))]
    datas = [entry for entry in datas if qt_entry_kept(entry[0])]
    if linux:
        binaries = prune_orphan_libraries(binaries)
    collected = {dest for dest, _, kind in binaries + datas if kind != "SYMLINK"}
    return drop_dangling_links(binaries, collected), drop_dangling_links(datas, collected)


def resource_datas(root: Path, platform: str = sys.platform) -> list[tuple[str, str]]:
    """``resources/`` → ``resources`` in the bundle, minus what this platform never uses."""
    linux, windows = platform.startswith("linux"), platform == "win32"
    skip = {".ico", ".icns"} if linux else {".icns"} if windows else {".ico"}
    datas = []
    for path in sorted((root / "resources").rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or path.suffix in skip or path.name == "manifest.json":
            continue
        if not linux and "linux" in relative.parts:
            continue
        datas.append((str(path), str(relative.parent)))
    return datas
