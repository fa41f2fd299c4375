#!/bin/sh
# Put gate-killswitch in this user's application menu, from the unpacked bundle:
#
#   ./install-desktop-entry.sh              launcher, icons, AppStream metainfo, ~/.local/bin link
#   ./install-desktop-entry.sh --uninstall  remove them again
#
# Copied into dist/gate-killswitch/ by packaging/build.sh. Nothing outside the user's own
# XDG data folder and ~/.local/bin is touched; no root needed.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
APP_ID=io.github.gate_killswitch
NAME=gate-killswitch
RES=$HERE/_internal/resources
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
BIN=$HOME/.local/bin
SIZES="16 22 24 32 48 64 128 256 512"

refresh() {
    # Menus and icon caches pick the change up without a new login where these tools exist.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$DATA/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t "$DATA/icons/hicolor" 2>/dev/null || true
    fi
}

if [ "${1:-}" = --uninstall ]; then
    rm -f "$DATA/applications/$APP_ID.desktop" "$DATA/metainfo/$APP_ID.metainfo.xml" \
        "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
    for size in $SIZES; do
        rm -f "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
    done
    # Only our own link: a gate-killswitch installed by pipx lives at the same place.
    if [ -L "$BIN/$NAME" ] && [ "$(readlink "$BIN/$NAME")" = "$HERE/$NAME" ]; then
        rm -f "$BIN/$NAME"
    fi
    refresh
    echo "Removed the gate-killswitch launcher."
    exit 0
fi

# The desktop entry format reserves these characters in Exec, and sed below reserves | and &.
case $HERE in
    *[\"\`\$\\\|\&]*)
        echo "Move the bundle to a folder whose path has none of \" \` \$ \\ | & first." >&2
        exit 1 ;;
esac

mkdir -p "$DATA/applications" "$DATA/metainfo" "$DATA/icons/hicolor/scalable/apps"
# Exec and TryExec point at this bundle; quoted, so a path with spaces works.
sed -e "s|^Exec=.*|Exec=\"$HERE/$NAME\"|" -e "/^Exec=/a TryExec=$HERE/$NAME" \
    "$RES/linux/$APP_ID.desktop" > "$DATA/applications/$APP_ID.desktop"
cp "$RES/linux/$APP_ID.metainfo.xml" "$DATA/metainfo/"
cp "$RES/icons/$NAME.svg" "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
for size in $SIZES; do
    mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
    cp "$RES/icons/generated/$NAME-$size.png" "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
if [ ! -e "$BIN/$NAME" ] || [ -L "$BIN/$NAME" ]; then
    mkdir -p "$BIN"
    ln -sfn "$HERE/$NAME" "$BIN/$NAME"
else
    echo "Left $BIN/$NAME as it is (not a link to a bundle)."
fi
refresh
echo "gate-killswitch is in the application menu; run it from there or as $BIN/$NAME."
