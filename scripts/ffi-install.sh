#!/usr/bin/env bash
# Installs libcardap (the C ABI) into a prefix, laid out as cargo-c lays it:
#
#   lib/libcardap.so.X.Y.Z        the library, SONAME libcardap.so.X
#   lib/libcardap.so.X -> libcardap.so.X.Y.Z   (what programs load)
#   lib/libcardap.so   -> libcardap.so.X       (what -lcardap links)
#   lib/libcardap.a
#   lib/pkgconfig/cardap.pc       Version: the Cargo version
#   include/cardap.h
#
#   bash scripts/ffi-install.sh PREFIX [release|debug]    # release by default
#
# The build is the production one: PC/SC, no virtual card. Tests that need
# the in-process virtual card add it with CARDAP_FFI_FEATURES=virtual-card.
# Then:
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig cc app.c $(pkg-config --cflags --libs cardap)
#
# The SONAME comes from ffi/build.rs, so the layout is made here rather than
# with cargo-c's `cargo cinstall` (see CHANGELOG: building cargo-c takes
# longer than the rest of the suite on a small CI machine).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${1:?usage: ffi-install.sh PREFIX [release|debug]}
profile=${2:-release}
features=(--features "${CARDAP_FFI_FEATURES:-}")
case $profile in
  debug) cargo build -q -p cardap-ffi "${features[@]}" ;;
  release) cargo build -q -p cardap-ffi --release "${features[@]}" ;;
  *) echo "ffi-install: profile must be release or debug" >&2; exit 2 ;;
esac

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
version=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "cardap-ffi"))')
major=${version%%.*}

install -d "$prefix/lib/pkgconfig" "$prefix/include"
built=${CARGO_TARGET_DIR:-target}/$profile
rm -f "$prefix/lib/libcardap.so" "$prefix/lib/libcardap.so.$major" "$prefix/lib/libcardap.so.$version"
install -m 0755 "$built/libcardap.so" "$prefix/lib/libcardap.so.$version"
ln -s "libcardap.so.$version" "$prefix/lib/libcardap.so.$major"
ln -s "libcardap.so.$major" "$prefix/lib/libcardap.so"
install -m 0644 "$built/libcardap.a" "$prefix/lib/"
install -m 0644 ffi/include/cardap.h "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" ffi/cardap.pc.in >"$prefix/lib/pkgconfig/cardap.pc"
echo "installed libcardap $version ($profile) into $prefix"
