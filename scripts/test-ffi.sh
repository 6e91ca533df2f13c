#!/usr/bin/env bash
# The C ABI and its bindings, end to end:
#
#  1. dependencies (scripts/ffi-deps.sh: apt packages, a Python venv);
#  2. the generated header and C# P/Invoke layer match the sources (drift);
#  3. cargo test -p cardap-ffi (the C ABI exercised from Rust);
#  4. libcardap installed into a prefix with its pkg-config file; the C
#     example and the C test program built against it (shared and static)
#     and run under valgrind memcheck: 0 errors, 0 definite leaks;
#  5. the Python wheel built with maturin (cffi) and its pytest suite;
#  6. the C# wrapper and its tests built with mcs and run with mono;
#  7. the four examples (C, Python, C#, Rust) print exactly what
#     `cardap read` prints, for Type C, A and D, from the in-process virtual
#     card;
#  8. the same through real PC/SC: pcscd (scripts/pcscd-up.sh) with the vpcd
#     reader, the demo card served by `cardap sim`. Skipped with
#     CARDAP_FFI_PCSC=0.
#
# Run it as `bash scripts/test-ffi.sh`. Environment: CARDAP_FFI_PCSC (1),
# CARDAP_FFI_VPCD_PORT (35964, reader "Virtual PCD 00 01"; the core's own
# PC/SC tests use the first slot), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Cargo's target directory (CARGO_TARGET_DIR is honoured); the scripts' own
# outputs (venv, prefix, logs) live under target/ of the checkout.
tdir=${CARGO_TARGET_DIR:-$root/target}
bin=$tdir/debug
out=$root/target/ffi-test
prefix=$root/target/ffi-prefix
venv=$root/target/pyenv
started=$SECONDS

step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - started)); }
fail() { echo "test-ffi: $*" >&2; exit 1; }

vpcd_pid=
pcscd_up=
cleanup() {
  if [[ -n $vpcd_pid ]]; then
    kill "$vpcd_pid" 2>/dev/null || true
    wait "$vpcd_pid" 2>/dev/null || true
  fi
  if [[ -n $pcscd_up ]]; then
    bash scripts/pcscd-down.sh || true
  fi
}
trap cleanup EXIT

step "dependencies"
bash scripts/ffi-deps.sh

step "cargo build: libcardap, tools, the cardap CLI, the Rust example"
cargo build -q -p cardap-ffi -p cardap-ffi-tools -p cardap-cli
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

step "cargo test -p cardap-ffi"
cargo test -q -p cardap-ffi

step "install into a prefix; pkg-config"
rm -rf "$prefix"
bash scripts/ffi-install.sh "$prefix" >/dev/null
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
# The static library links with the libraries pkg-config lists as private.
# shellcheck disable=SC2046
gcc "${cflags[@]}" $(pkg-config --cflags cardap) examples/c/read_ap.c "$prefix/lib/libcardap.a" \
  $(pkg-config --static --libs-only-l cardap | sed 's/-lcardap//') -o "$out/read_ap_static"

step "C under valgrind memcheck"
valgrind=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)
CARDAP_TEST_READER='' "${valgrind[@]}" "$out/abi_test" examples
profiles=(library kiosk evacuee)
for p in "${profiles[@]}"; do
  "${valgrind[@]}" "$out/read_ap" --profile "examples/profiles/$p.toml" \
    --virtual-card examples/cards/demo.toml >"$out/c-$p.json"
  "$out/read_ap_static" --profile "examples/profiles/$p.toml" \
    --virtual-card examples/cards/demo.toml >"$out/c-static-$p.json"
done
echo "valgrind: abi_test and read_ap (Type C, A, D): 0 errors, 0 definite leaks"

step "Python: maturin wheel (cffi) and pytest"
rm -rf "$root/target/py-wheels"
(cd bindings/python && "$venv/bin/maturin" build -o "$root/target/py-wheels" >"$out/maturin.log" 2>&1) ||
  { cat "$out/maturin.log"; fail "maturin build"; }
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$root"/target/py-wheels/cardap-*.whl
CARDAP_TEST_READER='' "$venv/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests

step "C#: mcs and mono"
cs=$out/csharp
mkdir -p "$cs"
mcs -nologo -warnaserror -unsafe -target:library -out:"$cs/Cardap.dll" \
  bindings/csharp/NativeMethods.g.cs bindings/csharp/Cardap.cs
mcs -nologo -warnaserror -r:"$cs/Cardap.dll" -out:"$cs/CardapTests.exe" bindings/csharp/tests/CardapTests.cs
mcs -nologo -warnaserror -r:"$cs/Cardap.dll" -out:"$cs/ReadAp.exe" examples/csharp/ReadAp.cs
cp "$prefix/lib/libcardap.so" "$cs/"
CARDAP_TEST_READER='' mono "$cs/CardapTests.exe" examples

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
  "$bin/cardap" sim --card examples/cards/demo.toml --port "$port" >"$out/sim.log" 2>&1 &
  vpcd_pid=$!
  present() { "$bin/cardap" readers | grep -q "\"$reader\",\"card_present\":true"; }
  for _ in $(seq 200); do
    present && break
    kill -0 "$vpcd_pid" 2>/dev/null || { cat "$out/sim.log" >&2; fail "cardap sim exited"; }
    sleep 0.1
  done
  present || { cat "$out/sim.log" >&2; fail "the card did not appear in $reader"; }
  export CARDAP_TEST_READER=$reader

  step "PC/SC: C test program under valgrind, pytest, C# tests"
  "${valgrind[@]}" "$out/abi_test" examples
  "$venv/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests -k pcsc
  mono "$cs/CardapTests.exe" examples

  step "examples agree with cardap read (PC/SC)"
  examples_agree --reader "$reader"
fi

step "done"
