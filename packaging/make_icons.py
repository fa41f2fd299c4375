"""Render the SVG icons in ``resources/icons/`` into the PNG, ICO and ICNS files platforms need.

    python packaging/make_icons.py                    # (re)write resources/icons/generated/
    python packaging/make_icons.py --check            # exit 1 unless a fresh render matches
    python packaging/make_icons.py --check-sources    # exit 1 if an SVG changed since (no Qt)

Qt renders the SVGs (``QSvgRenderer`` on the offscreen platform, so no display is needed); the
ICO and ICNS containers are written here with ``struct``: both may hold PNG images, which keeps
Pillow out of the build. ``manifest.json`` records the SVGs' hashes and the Qt version, so a test
can tell an SVG edited after the last run without rendering anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
GENERATED = ICONS / "generated"
APP_ICON = "gate-killswitch"

# Sizes of the hicolor icon theme on Linux, plus the 512 that app stores and docks ask for.
APP_PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
# Windows picks from these for title bars, the taskbar, Explorer views and Alt-Tab; 256 is the
# largest an ICO entry can describe.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types that may hold PNG data (macOS 10.7+), with their pixel size.
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512),
    (b"ic10", 1024), (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512),
)
# Tray state icons: the sizes system trays and notification daemons ask for, for any host or
# tool that cannot render SVG itself.
STATE_PNG_SIZES = (16, 22, 24, 32, 48, 64)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def state_icon_names(icons: Path = ICONS) -> list[str]:
    """Every SVG in ``icons`` except the app icon is a tray state icon."""
    return sorted(p.stem for p in icons.glob("*.svg") if p.stem != APP_ICON)


def expected_files(icons: Path = ICONS) -> list[str]:
    """Names (relative to ``generated/``) that a run writes, the manifest excluded."""
    names = [f"{APP_ICON}-{size}.png" for size in APP_PNG_SIZES]
    names += [f"{APP_ICON}.ico", f"{APP_ICON}.icns"]
    names += [f"states/{state}-{size}.png" for state in state_icon_names(icons)
              for size in STATE_PNG_SIZES]
    return names


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; ValueError if ``data`` is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO file holding each PNG as is (ICONDIR, one ICONDIRENTRY each, then the images)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))  # reserved, type 1 = icon, count
    offset = len(header) + 16 * len(sizes)
    entries, images = [], []
    for size in sizes:
        data = pngs[size]
        if size > 256:
            raise ValueError("an ICO entry is at most 256 pixels")
        # Width and height are one byte each, where 0 means 256.
        entries.append(struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32,
                                   len(data), offset))
        images.append(data)
        offset += len(data)
    return header + b"".join(entries) + b"".join(images)


def icns_bytes(elements: Iterable[tuple[bytes, bytes]]) -> bytes:
    """An ICNS file: the ``icns`` magic and total length, then (type, length, data) elements."""
    body = b"".join(kind + struct.pack(">I", 8 + len(data)) + data for kind, data in elements)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


_app: object | None = None


def _qt_app() -> None:
    """Start a QGuiApplication once: QSvgRenderer needs one for the fonts of any SVG text."""
    global _app
    if _app is None:
        # Offscreen: icons are rendered on build machines and in CI, which have no display.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtGui import QGuiApplication

        # Kept in a global: the application object must outlive every rendering.
        _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])


def render_png(svg: Path, size: int) -> bytes:
    """``svg`` drawn on a transparent ``size`` × ``size`` canvas, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _qt_app()
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG")
    renderer.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    # Unpremultiplied before encoding, so that no pixel depends on the converter Qt picks.
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"Qt could not encode {svg.name} at {size} px as PNG")
    buffer.close()
    return bytes(data.data())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(icons: Path = ICONS) -> dict[str, bytes]:
    """Every generated file by name (relative to ``generated/``), manifest included."""
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    app_svg = icons / f"{APP_ICON}.svg"
    cache: dict[tuple[str, int], bytes] = {}

    def png(svg: Path, size: int) -> bytes:
        key = (svg.name, size)
        if key not in cache:
            cache[key] = render_png(svg, size)
        return cache[key]

    files: dict[str, bytes] = {}
    for size in APP_PNG_SIZES:
        files[f"{APP_ICON}-{size}.png"] = png(app_svg, size)
    files[f"{APP_ICON}.ico"] = ico_bytes({size: png(app_svg, size) for size in ICO_SIZES})
    files[f"{APP_ICON}.icns"] = icns_bytes((kind, png(app_svg, size))
                                           for kind, size in ICNS_TYPES)
    for state in state_icon_names(icons):
        for size in STATE_PNG_SIZES:
            files[f"states/{state}-{size}.png"] = png(icons / f"{state}.svg", size)
    assert sorted(files) == sorted(expected_files(icons))
    manifest = {
        "generator": "packaging/make_icons.py",
        # Another Qt may anti-alias differently: the bytes are reproducible for this version.
        "qt": qVersion(),
        "pyside": pyside_version,
        "sources": {p.name: sha256(p.read_bytes()) for p in sorted(icons.glob("*.svg"))},
        "files": {name: sha256(data) for name, data in sorted(files.items())},
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def stale_against_manifest(icons: Path = ICONS, out: Path = GENERATED) -> list[str]:
    """What changed since the last run, by the manifest's hashes: no rendering, so no Qt.

    Another Qt version may anti-alias a pixel differently, so a build compares the sources, not
    a fresh rendering: an SVG edited, added or removed, or an output missing or edited.
    """
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["manifest.json (missing or unreadable)"]
    sources = {p.name: sha256(p.read_bytes()) for p in sorted(icons.glob("*.svg"))}
    stale = [f"{name} (source)" for name in sorted(set(sources) | set(manifest["sources"]))
             if sources.get(name) != manifest["sources"].get(name)]
    files = manifest["files"]
    if sorted(files) != sorted(expected_files(icons)):
        stale.append("manifest.json (file list)")
    stale += [name for name, digest in sorted(files.items())
              if not (out / name).is_file() or sha256((out / name).read_bytes()) != digest]
    return stale


#: how far one colour channel of a pixel may be from a fresh rendering's (of 255): Qt's raster
#: engine blends on SIMD paths chosen by the CPU (SSE4, AVX2, …), and they round the last bit
#: of an anti-aliased edge differently.
PIXEL_TOLERANCE = 1


def embedded_pngs(name: str, data: bytes) -> list[bytes]:
    """The PNG images a generated file holds: itself, or an ICO's or ICNS's entries in order."""
    if name.endswith(".ico"):
        count = struct.unpack_from("<H", data, 4)[0]
        out = []
        for i in range(count):
            length, offset = struct.unpack_from("<II", data, 6 + 16 * i + 8)
            out.append(data[offset:offset + length])
        return out
    if name.endswith(".icns"):
        out, at = [], 8
        while at < len(data):
            length = struct.unpack_from(">I", data, at + 4)[0]
            out.append(data[at + 8:at + length])
            at += length
        return out
    return [data]


def same_pixels(a: bytes, b: bytes, tolerance: int = PIXEL_TOLERANCE) -> bool:
    """Whether two PNGs hold the same image, each channel within ``tolerance``."""
    if a == b:
        return True
    from PySide6.QtGui import QImage

    _qt_app()
    first, second = QImage.fromData(a), QImage.fromData(b)
    if first.isNull() or second.isNull() or first.size() != second.size():
        return False
    first = first.convertToFormat(QImage.Format.Format_ARGB32)
    second = second.convertToFormat(QImage.Format.Format_ARGB32)
    return all(abs(x - y) <= tolerance
               for x, y in zip(bytes(first.constBits()), bytes(second.constBits()), strict=True))


def same_file(name: str, fresh: bytes, committed: bytes) -> bool:
    """Whether a committed generated file is what a fresh run gives: the same images within
    :data:`PIXEL_TOLERANCE`, and for the manifest the same sources, versions and file list
    (its hashes are of the committed files, so they are not compared)."""
    if fresh == committed:
        return True
    if name == "manifest.json":
        try:
            old = json.loads(committed)
        except ValueError:
            return False
        new = json.loads(fresh)
        return ({**old, "files": sorted(old.get("files", {}))}
                == {**new, "files": sorted(new["files"])})
    old_images, new_images = embedded_pngs(name, committed), embedded_pngs(name, fresh)
    return len(old_images) == len(new_images) and all(
        same_pixels(x, y) for x, y in zip(old_images, new_images, strict=True))


def differences(files: dict[str, bytes], out: Path) -> list[str]:
    """Names whose file in ``out`` is missing or differs (beyond :func:`same_file`), and stray
    files ``out`` holds."""
    changed = [name for name, data in files.items() if not (out / name).is_file()
               or not same_file(name, data, (out / name).read_bytes())]
    stray = [str(p.relative_to(out)) for p in out.rglob("*")
             if p.is_file() and str(p.relative_to(out)) not in files]
    return sorted(changed) + sorted(f"{name} (stray)" for name in stray)


def write(files: dict[str, bytes], out: Path) -> list[str]:
    """Write what changed (unchanged files keep their timestamps; one that differs only within
    :data:`PIXEL_TOLERANCE` is unchanged) and remove stray files."""
    changed = differences(files, out)
    for name, data in files.items():
        target = out / name
        if name in changed:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    for path in sorted(out.rglob("*"), reverse=True):
        relative = str(path.relative_to(out))
        if path.is_file() and relative not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=GENERATED,
                        help=f"output folder (default {GENERATED.relative_to(ROOT)})")
    checks = parser.add_mutually_exclusive_group()
    checks.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 unless rendering now gives the same images "
                             f"(each channel within {PIXEL_TOLERANCE} of 255)")
    checks.add_argument("--check-sources", action="store_true",
                        help="write nothing, render nothing; exit 1 if an SVG or an output "
                             "changed since the last run")
    args = parser.parse_args(argv)
    if args.check_sources:
        stale = stale_against_manifest(out=args.out)
        for name in stale:
            print(f"stale: {name}", file=sys.stderr)
        if stale:
            print("Run: python packaging/make_icons.py", file=sys.stderr)
        return 1 if stale else 0
    files = build()
    if args.check:
        stale = differences(files, args.out)
        for name in stale:
            print(f"stale: {name}", file=sys.stderr)
        if stale:
            print("Run: python packaging/make_icons.py", file=sys.stderr)
        return 1 if stale else 0
    changed = write(files, args.out)
    print(f"{len(files)} files in {args.out}, {len(changed)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
