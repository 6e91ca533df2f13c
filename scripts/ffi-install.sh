#!/usr/bin/env bash
# Installs libcardap (the C ABI) into a prefix: lib/libcardap.so,
# lib/libcardap.a, include/cardap.h and lib/pkgconfig/cardap.pc, whose
# Version is the Cargo version.
#
#   bash scripts/ffi-install.sh PREFIX [PROFILE]     # PROFILE: debug (default) or release
#
# Builds cardap-ffi in that profile first. Then:
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig cc app.c $(pkg-config --cflags --libs cardap)
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${1:?usage: ffi-install.sh PREFIX [debug|release]}
profile=${2:-debug}
case $profile in
  debug) cargo build -q -p cardap-ffi ;;
  release) cargo build -q -p cardap-ffi --release ;;
  *) echo "ffi-install: profile must be debug or release" >&2; exit 2 ;;
esac

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
version=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "cardap-ffi"))')

install -d "$prefix/lib/pkgconfig" "$prefix/include"
built=${CARGO_TARGET_DIR:-target}/$profile
install -m 0755 "$built/libcardap.so" "$prefix/lib/"
install -m 0644 "$built/libcardap.a" "$prefix/lib/"
install -m 0644 ffi/include/cardap.h "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" ffi/cardap.pc.in >"$prefix/lib/pkgconfig/cardap.pc"
echo "installed libcardap $version into $prefix"
