#!/usr/bin/env bash
# Build the Linux one-folder bundle and its tarball from a clean clone:
#
#   packaging/build.sh
#
# → dist/gate-killswitch/gate-killswitch and dist/gate-killswitch-<version>-linux-<arch>.tar.gz
#
# Installs what the build needs into a venv under build/ (the app with its dependencies, and
# PyInstaller: the "packaging" extra), freezes the app with packaging/gate-killswitch.spec, runs
# the bundle's --self-test without any Python on PATH, and packs the folder.
#
# Environment: PYTHON (default python3, 3.11+), BUILD_DIR (default build; holds the venv and
# PyInstaller's work folder), DIST_DIR (default dist), SKIP_SELF_TEST=1, SKIP_TARBALL=1.
# Windows and macOS: see packaging/README-platforms.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
BUILD_DIR=$(mkdir -p "${BUILD_DIR:-$ROOT/build}" && cd "${BUILD_DIR:-$ROOT/build}" && pwd)
DIST_DIR=$(mkdir -p "${DIST_DIR:-$ROOT/dist}" && cd "${DIST_DIR:-$ROOT/dist}" && pwd)
VENV=$BUILD_DIR/venv
NAME=gate-killswitch

if [ "$(uname -s)" != Linux ]; then
    echo "build.sh builds the Linux bundle; for Windows and macOS see" \
         "packaging/README-platforms.md" >&2
    exit 2
fi

step() { printf '\n== %s\n' "$*"; }

step "Build environment: $VENV"
python_id='import sys; print(sys.version, sys.base_prefix)'
if [ -x "$VENV/bin/python" ] \
        && [ "$("$VENV/bin/python" -c "$python_id")" != "$("$PYTHON" -c "$python_id")" ]; then
    rm -rf "$VENV"  # made by another Python: start again
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
# The app (so pip resolves its dependencies exactly as for users) and PyInstaller. Installed
# from a copy of the files git would commit: setuptools builds in the source folder and leaves
# build/lib and an .egg-info there, whose stale files would end up in later wheels. The spec
# freezes the checkout itself, not this installed copy.
SOURCE=$ROOT
if git -C "$ROOT" rev-parse --show-toplevel >/dev/null 2>&1; then
    SOURCE=$BUILD_DIR/source
    rm -rf "$SOURCE"
    mkdir -p "$SOURCE"
    # Files deleted but not yet committed are listed too: skipped.
    # shellcheck disable=SC2016  # $f and $0 belong to the inner sh
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
        | xargs -0 sh -c 'for f; do [ ! -f "$f" ] || cp --parents -- "$f" "$0/" || exit 1; done' \
            "$SOURCE")
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${SOURCE}[packaging]"
VERSION=$("$VENV/bin/python" -c \
    'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
    "$ROOT/pyproject.toml")

step "Icons"
# The generated icons are committed: a build refuses ones older than their SVG. By hashes, not by
# rendering again, which a newer Qt may anti-alias a pixel differently.
"$VENV/bin/python" "$ROOT/packaging/make_icons.py" --check-sources

step "PyInstaller: $NAME $VERSION"
rm -rf "${DIST_DIR:?}/$NAME"
"$VENV/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST_DIR" --workpath "$BUILD_DIR/pyinstaller" \
    "$ROOT/packaging/gate-killswitch.spec"
install -m 0755 "$ROOT/packaging/install-desktop-entry.sh" "$DIST_DIR/$NAME/"
BUNDLE=$DIST_DIR/$NAME
du -sh "$BUNDLE"

if [ "${SKIP_SELF_TEST:-0}" != 1 ]; then
    step "Self-test of the bundle, with no Python on PATH"
    # A private HOME: the self-test must not read or write the builder's settings or journal.
    home=$(mktemp -d)
    trap 'rm -rf "$home"' EXIT
    # LANG only spares Qt's note that it switched to a UTF-8 locale.
    env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        "$BUNDLE/$NAME" --version
    env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        "$BUNDLE/$NAME" --demo --self-test
fi

if [ "${SKIP_TARBALL:-0}" != 1 ]; then
    step "Tarball"
    TARBALL=$DIST_DIR/$NAME-$VERSION-linux-$(uname -m).tar.gz
    # Same input, same bytes: sorted names, no owners, and the last commit's time.
    mtime=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)
    tar -C "$DIST_DIR" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
        -cf - "$NAME" | gzip -n -6 > "$TARBALL"
    du -sh "$TARBALL"
fi
step "Done: $BUNDLE/$NAME"
