"""Packaging as a user meets it: the frozen bundle, the wheel in a fresh venv, icons, launchers.

The bundle is built once per run by packaging/build.sh into a temporary folder (venv,
PyInstaller work folder and dist included) and shared by the tests that need it; the wheel is
built from a copy of the sources and installed into a fresh venv. Both need PyPI or pip's cache
for the dependencies, like any install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
APP_ID = "io.github.gate_killswitch"
NAME = "gate-killswitch"
GENERATED = ROOT / "resources" / "icons" / "generated"
LINUX = sys.platform.startswith("linux")
BUNDLE_LIMIT_MB = 200


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle_rules = _load("bundle_rules")
make_icons = _load("make_icons")


def _bare_env(home: Path, **extra: str) -> dict[str, str]:
    """What ``env -i PATH=/usr/bin:/bin HOME=... QT_QPA_PLATFORM=offscreen`` passes on."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen", **extra}


def _self_test_json(stdout: str) -> dict[str, object]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "--self-test printed nothing"
    figures = json.loads(lines[-1])
    assert isinstance(figures["startup_s"], float | int) and figures["startup_s"] > 0
    assert isinstance(figures["rss_mb"], float | int) and figures["rss_mb"] > 0
    return dict(figures)


def _size_mb(folder: Path) -> float:
    # Symbolic links count once, as du counts them: PyInstaller links Qt libraries to the top.
    total = sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    return total / 1e6


# ---------------------------------------------------------------------------------------------
# The frozen bundle
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bundle:
    folder: Path
    executable: Path
    tarball: Path
    venv_python: Path
    seconds: float


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bundle]:
    if not LINUX:
        pytest.skip("packaging/build.sh builds the Linux bundle")
    work = tmp_path_factory.mktemp("bundle")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GATE_KILLSWITCH", "PYTHON_KEYRING", "VIRTUAL_ENV"))}
    env.update(PYTHON=sys.executable, BUILD_DIR=str(work / "build"), DIST_DIR=str(work / "dist"))
    started = time.monotonic()
    result = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    print(f"\nbundle built by packaging/build.sh in {seconds:.1f} s")
    folder = work / "dist" / NAME
    yield Bundle(folder=folder, executable=folder / NAME,
                 tarball=work / "dist" / f"{NAME}-{VERSION}-linux-{os.uname().machine}.tar.gz",
                 venv_python=work / "build" / "venv" / "bin" / "python", seconds=seconds)
    shutil.rmtree(work, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bundle_self_test_runs_without_python(bundle: Bundle, tmp_path: Path) -> None:
    # Any python on PATH would leave a mark here: the frozen app must never start one.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    marker = tmp_path / "python-was-run"
    for name in ("python", "python3", f"python3.{sys.version_info.minor}"):
        script = fake_bin / name
        script.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 97\n")
        script.chmod(0o755)
    env = _bare_env(tmp_path / "home", PATH=f"{fake_bin}:/usr/bin:/bin")
    (tmp_path / "home").mkdir()

    version = subprocess.run([str(bundle.executable), "--version"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"{NAME} {VERSION}"

    started = time.monotonic()
    result = subprocess.run([str(bundle.executable), "--demo", "--self-test"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = _self_test_json(result.stdout)
    assert figures["python"] == ".".join(map(str, sys.version_info[:3]))
    assert not marker.exists(), "the bundle ran a python from PATH"
    print(f"\nbundle --self-test: {figures}, {time.monotonic() - started:.1f} s wall")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bundle_is_lean_and_complete(bundle: Bundle) -> None:
    internal = bundle.folder / "_internal"
    size = _size_mb(bundle.folder)
    print(f"\nbundle {size:.0f} MB, tarball {bundle.tarball.stat().st_size / 1e6:.0f} MB")
    assert size < BUNDLE_LIMIT_MB

    # Its own resources, the keyring's entry points, and no broken link.
    for part in (("icons", "armed.svg"), ("icons", "gate-killswitch.svg"), ("style.qss",),
                 ("icons", "generated", "gate-killswitch-256.png"),
                 ("linux", f"{APP_ID}.desktop")):
        assert internal.joinpath("resources", *part).is_file(), part
    entry_points = list(internal.glob("keyring-*.dist-info/entry_points.txt"))
    assert entry_points and "SecretService" in entry_points[0].read_text()
    assert not [p for p in bundle.folder.rglob("*") if p.is_symlink() and not p.exists()]

    files = [str(p.relative_to(internal)) for p in internal.rglob("*") if p.is_file()]
    unwanted = re.compile(r"Qt6?(Qml|Quick|WebEngine|Pdf|3D|Multimedia|Charts|Sql|Test|Designer)"
                          r"|/translations/|tkinter|libgtk|libcairo")
    assert not [f for f in files if unwanted.search(f)]
    plugins = internal / "PySide6" / "Qt" / "plugins"
    for folder in plugins.iterdir():
        allowed = bundle_rules.QT_PLUGINS.get(folder.name, set())
        for plugin in folder.iterdir():
            assert allowed is None or plugin.name.split(".")[0].removeprefix("lib") in allowed
    for needed in ("platforms/libqxcb.so", "platforms/libqoffscreen.so",
                   "imageformats/libqsvg.so", "iconengines/libqsvgicon.so"):
        assert (plugins / needed).is_file(), needed

    # Every module the keyring backends need is in the archive; no test dependency is.
    viewer = bundle.venv_python.with_name("pyi-archive_viewer")
    listing = subprocess.run([str(viewer), "-l", "-r", "-b", str(bundle.executable)],
                             capture_output=True, text=True, timeout=120, check=True).stdout
    modules = {line.strip() for line in listing.splitlines()}
    missing = [m for m in bundle_rules.KEYRING_HIDDEN_IMPORTS if m not in modules]
    assert not missing
    for absent in ("gate_api", "pytest", "hypothesis", "unittest", "tkinter", "PySide6.QtQml"):
        assert absent not in modules, absent

    # No bundled library lacks a bundled dependency; only the system's display stack may be
    # missing here. LD_LIBRARY_PATH as the bootloader sets it.
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(internal)}
    unresolved: dict[str, str] = {}
    for path in internal.rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        ldd = subprocess.run(["ldd", str(path)], env=env, capture_output=True, text=True,
                             timeout=60)
        for name in re.findall(r"^\s*(\S+) => not found", ldd.stdout, re.MULTILINE):
            if not bundle_rules.LINUX_SYSTEM_LIBS.match(name):
                unresolved[name] = str(path.relative_to(internal))
    assert not unresolved


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_tarball_unpacks_to_the_bundle(bundle: Bundle) -> None:
    with tarfile.open(bundle.tarball) as archive:
        names = archive.getnames()
        tops = {name.split("/")[0] for name in names}
        executable = archive.getmember(f"{NAME}/{NAME}")
        assert executable.mode & 0o111
        assert {m.uid for m in archive.getmembers()} == {0}
    assert tops == {NAME}
    assert f"{NAME}/install-desktop-entry.sh" in names


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bundle_installs_a_desktop_entry(bundle: Bundle, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d")}
    script = bundle.folder / "install-desktop-entry.sh"
    subprocess.run([str(script)], env=env, check=True, capture_output=True, timeout=60)
    desktop = tmp_path / "d" / "applications" / f"{APP_ID}.desktop"
    text = desktop.read_text()
    assert f'Exec="{bundle.executable}"' in text and f"TryExec={bundle.executable}" in text
    assert (tmp_path / "d" / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").is_file()
    assert (tmp_path / ".local" / "bin" / NAME).resolve() == bundle.executable.resolve()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True,
                               text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
    subprocess.run([str(script), "--uninstall"], env=env, check=True, capture_output=True,
                   timeout=60)
    assert not desktop.exists() and not (tmp_path / ".local" / "bin" / NAME).exists()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bundle_keeps_a_key_in_the_secret_service(bundle: Bundle, tmp_path: Path) -> None:
    """The frozen keyring finds and uses Secret Service: a private bus and GNOME Keyring."""
    tools = ("dbus-run-session", "gnome-keyring-daemon")
    if not all(shutil.which(tool) for tool in tools):
        pytest.skip("needs dbus-run-session and gnome-keyring-daemon (apt: dbus gnome-keyring)")
    # A throwaway keyring in a temporary HOME, on a bus that lives as long as this script.
    script = tmp_path / "session.sh"
    script.write_text(
        "#!/bin/sh\nset -e\n"
        "printf 'unlock' | gnome-keyring-daemon --unlock --components=secrets >/dev/null\n"
        f"printf 'bundle-probe-key\\nbundle-probe-secret\\n' | '{bundle.executable}' keys set "
        "probe --base-url http://127.0.0.1:9/api/v4\n"
        f"'{bundle.executable}' keys list\n"
        f"'{bundle.executable}' keys delete probe\n")
    script.chmod(0o755)
    (tmp_path / "home").mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8"}
    result = subprocess.run(["dbus-run-session", "--", str(script)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OS keyring (SecretService Keyring)" in result.stdout
    # The only profile: stored, and the default (the one the window opens).
    assert re.search(r"^probe\s+\S+\s+stored\s+yes$", result.stdout, re.MULTILINE)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bundle_shows_its_window_on_x11(bundle: Bundle, tmp_path: Path) -> None:
    """The xcb platform plugin and its libraries load (offscreen alone would not tell)."""
    if not shutil.which("xvfb-run"):
        pytest.skip("needs xvfb-run (apt: xvfb xauth and the libxcb-* packages in the README)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run(["xvfb-run", "-a", str(bundle.executable), "--demo", "--self-test"],
                            env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 and "xcb-cursor" in result.stderr:
        pytest.skip("the system lacks the libxcb-* packages that X11 needs")
    assert result.returncode == 0, result.stdout + result.stderr
    _self_test_json(result.stdout)


# ---------------------------------------------------------------------------------------------
# The wheel in a fresh venv
# ---------------------------------------------------------------------------------------------

def _source_copy(target: Path) -> Path:
    """The sources as a clone would have them, without build/, dist/, venvs or caches."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True, timeout=60)
    if listed.returncode == 0:
        for name in listed.stdout.decode().split("\0"):
            if name and (ROOT / name).is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, target / name)
    else:
        shutil.copytree(ROOT, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"))
    return target


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_installs_into_a_fresh_venv_and_finds_its_resources(tmp_path: Path) -> None:
    started = time.monotonic()
    source = _source_copy(tmp_path / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(tmp_path / "wheel"), str(source)], capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-4000:]
    (wheel,) = (tmp_path / "wheel").glob("gate_killswitch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names
                            if n.endswith(".dist-info/entry_points.txt"))
    # Every module of gui/ (a sub-package missing from pyproject's list would be left out),
    # and resources/ as gui._resources.
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "gui").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert sources - names == set()
    for part in ("style.qss", "icons/armed.svg", "icons/generated/gate-killswitch-512.png",
                 f"linux/{APP_ID}.desktop", f"linux/{APP_ID}.metainfo.xml"):
        assert f"gui/_resources/{part}" in names, part
    assert not [n for n in names if n.startswith(("tests/", "packaging/", "resources/"))]
    assert f"{NAME} = gui.__main__:main" in entry_points

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                              "--disable-pip-version-check", str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-4000:]
    installed = time.monotonic()

    # From a folder outside the checkout, with its own home: nothing of the repo is in reach.
    outside = tmp_path / "elsewhere"
    (outside / "home").mkdir(parents=True)
    env = _bare_env(outside / "home")
    script = venv / "bin" / NAME
    version = subprocess.run([str(script), "--version"], cwd=outside, env=env,
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"{NAME} {VERSION}"
    result = subprocess.run([str(script), "--demo", "--self-test"], cwd=outside, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    _self_test_json(result.stdout)
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import gui, json; from gui.resources import resource_path, resources_dir; "
         "print(json.dumps([gui.__file__, str(resources_dir()), "
         "resource_path('icons', 'armed.svg').is_file(), "
         "resource_path('style.qss').is_file()]))"],
        cwd=outside, env=env, capture_output=True, text=True, timeout=60, check=True)
    module, folder, has_icon, has_style = json.loads(probe.stdout)
    site = venv.resolve()
    assert Path(module).resolve().is_relative_to(site)
    assert Path(folder).resolve() == Path(module).resolve().parent / "_resources"
    assert has_icon and has_style
    print(f"\nwheel built and installed in {installed - started:.1f} s, "
          f"checked in {time.monotonic() - installed:.1f} s")


# ---------------------------------------------------------------------------------------------
# Icons
# ---------------------------------------------------------------------------------------------

def _manifest() -> dict[str, object]:
    return dict(json.loads((GENERATED / "manifest.json").read_text()))


def test_generated_icons_match_their_svg_sources() -> None:
    manifest = _manifest()
    sources = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
               for p in sorted((ROOT / "resources" / "icons").glob("*.svg"))}
    assert manifest["sources"] == sources, "an SVG changed: run python packaging/make_icons.py"
    files = manifest["files"]
    assert isinstance(files, dict)
    assert sorted(files) == sorted(make_icons.expected_files())
    for name, digest in files.items():
        assert hashlib.sha256((GENERATED / name).read_bytes()).hexdigest() == digest, name
    assert make_icons.stale_against_manifest() == []


def test_check_sources_notices_an_edited_svg(tmp_path: Path) -> None:
    icons = tmp_path / "icons"
    shutil.copytree(ROOT / "resources" / "icons", icons)
    assert make_icons.stale_against_manifest(icons, icons / "generated") == []
    (icons / "armed.svg").write_text((icons / "armed.svg").read_text().replace("<svg", "<svg "))
    (icons / "generated" / "states" / "idle-16.png").unlink()
    assert make_icons.stale_against_manifest(icons, icons / "generated") == [
        "armed.svg (source)", "states/idle-16.png"]


def test_generated_pngs_have_their_sizes() -> None:
    for name in make_icons.expected_files():
        if name.endswith(".png"):
            size = int(name.rsplit("-", 1)[1].removesuffix(".png"))
            assert make_icons.png_size((GENERATED / name).read_bytes()) == (size, size), name


def test_ico_holds_a_png_for_each_size() -> None:
    data = (GENERATED / f"{NAME}.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind, count) == (0, 1, len(make_icons.ICO_SIZES))
    sizes = []
    for index in range(count):
        width, height, _colors, _, planes, bits, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index)
        image = data[offset:offset + length]
        real = make_icons.png_size(image)
        assert real == (width or 256, height or 256) and (planes, bits) == (1, 32)
        sizes.append(real[0])
    assert sizes == sorted(make_icons.ICO_SIZES)


def test_icns_holds_a_png_for_each_type() -> None:
    data = (GENERATED / f"{NAME}.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    found, at = {}, 8
    while at < len(data):
        kind, length = data[at:at + 4], struct.unpack_from(">I", data, at + 4)[0]
        found[kind] = make_icons.png_size(data[at + 8:at + length])
        at += length
    assert at == len(data)
    assert found == {kind: (size, size) for kind, size in make_icons.ICNS_TYPES}


def test_make_icons_reproduces_the_committed_files() -> None:
    from PySide6.QtCore import qVersion

    if _manifest()["qt"] != qVersion():
        pytest.skip(f"icons were rendered with Qt {_manifest()['qt']}, this is Qt {qVersion()}")
    # A separate process: make_icons starts a QGuiApplication, this one may hold a QApplication.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, str(ROOT / "packaging" / "make_icons.py"),
                             "--check"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_icon_check_allows_a_cpu_s_rounding_but_not_an_edit(tmp_path: Path) -> None:
    """Qt's raster engine rounds an anti-aliased edge by the CPU's SIMD path: a channel 1 off
    is the same icon; anything more is a stale or edited file."""
    script = str(ROOT / "packaging" / "make_icons.py")
    code = (
        "import shutil, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'packaging')!r})\n"
        "import make_icons as m\n"
        "from PySide6.QtGui import QImage\n"
        "from PySide6.QtCore import QBuffer, QByteArray, QIODevice\n"
        "m._qt_app()\n"
        "def nudge(path, by):\n"
        "    image = QImage(str(path))\n"
        "    pixel = image.pixel(8, 8)\n"
        "    image.setPixel(8, 8, (pixel & 0xFFFFFF00) | min(255, (pixel & 0xFF) + by))\n"
        "    image.save(str(path), 'PNG')\n"
        "out = sys.argv[1]\n"
        "shutil.copytree(m.GENERATED, out + '/a'); shutil.copytree(m.GENERATED, out + '/b')\n"
        "nudge(out + '/a/states/armed-16.png', 1)\n"
        "nudge(out + '/b/states/armed-16.png', 40)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, check=True,
                   timeout=60)
    rounded = subprocess.run([sys.executable, script, "--check", "--out", str(tmp_path / "a")],
                             env=env, capture_output=True, text=True, timeout=120)
    edited = subprocess.run([sys.executable, script, "--check", "--out", str(tmp_path / "b")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert rounded.returncode == 0, rounded.stderr
    assert edited.returncode == 1 and "stale: states/armed-16.png" in edited.stderr


def test_ico_and_icns_writers_round_trip() -> None:
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61")
    ico = make_icons.ico_bytes({16: png, 256: png})
    assert struct.unpack_from("<HHH", ico) == (0, 1, 2)
    assert struct.unpack_from("<BB", ico, 6 + 16) == (0, 0)  # 256 is written as 0
    icns = make_icons.icns_bytes([(b"icp4", png)])
    assert icns == b"icns" + struct.pack(">I", 16 + len(png)) + b"icp4" + \
        struct.pack(">I", 8 + len(png)) + png


# ---------------------------------------------------------------------------------------------
# Linux desktop integration
# ---------------------------------------------------------------------------------------------

DESKTOP = ROOT / "resources" / "linux" / f"{APP_ID}.desktop"
METAINFO = ROOT / "resources" / "linux" / f"{APP_ID}.metainfo.xml"


def test_desktop_entry_and_metainfo_agree() -> None:
    entry = dict(line.split("=", 1) for line in DESKTOP.read_text().splitlines()
                 if "=" in line and not line.startswith("#"))
    assert entry["Exec"] == NAME and entry["Icon"] == APP_ID and entry["Type"] == "Application"
    assert NAME in PYPROJECT["project"]["scripts"]
    root = ET.parse(METAINFO).getroot()  # noqa: S314  (our own file)
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("provides/binary") == NAME
    release = root.find("releases/release")
    assert release is not None and release.get("version") == VERSION, \
        "add a <release> for the new version to the metainfo"


def test_desktop_entry_validates() -> None:
    if not shutil.which("desktop-file-validate"):
        pytest.skip("desktop-file-validate is not installed (apt: desktop-file-utils)")
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_metainfo_validates() -> None:
    if not shutil.which("appstreamcli"):
        pytest.skip("appstreamcli is not installed (apt: appstream)")
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# What the spec keeps (no build needed)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("dest", "kept"), [
    ("PySide6/Qt/lib/libQt6Core.so.6", True),
    ("PySide6/Qt/lib/libQt6Network.so.6", True),
    ("PySide6/Qt/lib/libQt6Qml.so.6", False),
    ("PySide6/Qt/lib/libQt6Pdf.so.6", False),
    ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
    ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
    ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
    ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
    ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", False),
    ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", False),
    ("PySide6/Qt/translations/qtbase_de.qm", False),
    ("PySide6/plugins/platforms/qwindows.dll", True),
    ("PySide6/Qt6Quick.dll", False),
    ("PySide6/Qt/lib/QtWidgets.framework/Versions/A/QtWidgets", True),
    ("PySide6/QtCore.abi3.so", True),
    ("_cffi_backend.cpython-311-x86_64-linux-gnu.so", True),
])
def test_qt_entry_kept(dest: str, kept: bool) -> None:
    assert bundle_rules.qt_entry_kept(dest) is kept


def test_filter_keeps_extension_modules_and_drops_orphans(tmp_path: Path) -> None:
    # Real ELF files: this interpreter's _ctypes needs libffi; nothing needs "libcairo".
    import _ctypes

    ctypes_path = Path(_ctypes.__file__)
    needed = bundle_rules.elf_needed(ctypes_path)
    binaries = [
        (f"python3/lib-dynload/{ctypes_path.name}", str(ctypes_path), "EXTENSION"),
        ("_cffi_backend.cpython-311-x86_64-linux-gnu.so", str(ctypes_path), "EXTENSION"),
        ("libcairo.so.2", str(ctypes_path), "BINARY"),
        ("libcairo.so", "libcairo.so.2", "SYMLINK"),
        ("libxcb.so.1", str(ctypes_path), "BINARY"),
    ]
    binaries += [(name, str(ctypes_path), "BINARY") for name in needed if name.startswith("libffi")]
    kept, _ = bundle_rules.filter_collected(binaries, [], platform="linux")
    names = [entry[0] for entry in kept]
    assert names[:2] == [binaries[0][0], binaries[1][0]]
    assert "libcairo.so.2" not in names and "libcairo.so" not in names
    assert "libxcb.so.1" not in names
    assert [n for n in needed if n.startswith("libffi")] == [n for n in names
                                                            if n.startswith("libffi")]


def test_elf_needed_reads_direct_dependencies() -> None:
    import PySide6

    core = Path(PySide6.__file__).parent / "Qt" / "lib" / "libQt6Widgets.so.6"
    if not core.is_file():
        pytest.skip("not a Linux PySide6 wheel")
    needed = bundle_rules.elf_needed(core)
    assert "libQt6Gui.so.6" in needed and "libQt6Core.so.6" in needed
    assert "libicudata.so.73" not in needed  # a dependency of a dependency: ldd would list it
    assert bundle_rules.elf_needed(Path(__file__)) == []
