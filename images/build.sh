#!/bin/sh
# Firmware with pear-fog from an OpenWrt ImageBuilder (24.10), no SDK needed.
#
#   images/build.sh IMAGEBUILDER_DIR PROFILE FEED_DIR [SET ...]
#
#   IMAGEBUILDER_DIR  unpacked openwrt-imagebuilder-24.10.*-<target>.Linux-x86_64
#   PROFILE           device profile (`make info` in the ImageBuilder lists them)
#   FEED_DIR          a feed from scripts/ipk/build.mjs (pear-fog_*.ipk, Packages[.gz|.sig]),
#                     built for the target's package architecture
#   SET               package sets from images/sets/ (default: base luci)
#
# Adds FEED_DIR to the ImageBuilder's repositories.conf (once) and, if FEED_DIR has a usign
# public key named by its key number (build.mjs --gen-key), copies it to keys/ so the
# signature is checked; then `make image` with the sets' packages.  Extra ImageBuilder
# variables pass through the environment: FILES, BIN_DIR, EXTRA_IMAGE_NAME, ROOTFS_PARTSIZE.
set -eu

[ $# -ge 3 ] || { sed -n '3,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }
ib="$1" profile="$2" feed="$(cd "$3" && pwd)"
shift 3
[ $# -gt 0 ] || set -- base luci
sets_dir="$(cd "$(dirname "$0")" && pwd)/sets"

[ -f "$ib/repositories.conf" ] || { echo "build.sh: $ib is not an ImageBuilder" >&2; exit 1; }
ls "$feed"/pear-fog_*.ipk >/dev/null 2>&1 || { echo "build.sh: no pear-fog ipk in $feed" >&2; exit 1; }

packages=""
for s in "$@"; do
	f="$sets_dir/$s.packages"
	[ -f "$f" ] || { echo "build.sh: no package set '$s' in $sets_dir" >&2; exit 1; }
	packages="$packages $(sed -e 's/#.*//' "$f" | tr '\n' ' ')"
done
packages="$(echo $packages)"

grep -q "^src pearfog " "$ib/repositories.conf" ||
	printf 'src pearfog file://%s\n' "$feed" >>"$ib/repositories.conf"
for k in "$feed"/*; do
	case "${k##*/}" in
	[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])
		mkdir -p "$ib/keys" && cp "$k" "$ib/keys/"
		;;
	esac
done

echo "build.sh: make image PROFILE=$profile PACKAGES=\"$packages\""
exec make -C "$ib" image PROFILE="$profile" PACKAGES="$packages"
