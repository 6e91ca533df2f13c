#!/usr/bin/env bash
# The main job: read every AP of the built-in virtual card (Type C, A and D).
# Where the PC/SC stack can be set up (root on Debian: pcscd, vsmartcard-vpcd),
# the card is served to pcscd's vpcd reader and read through real PC/SC, as a
# physical card would be; elsewhere it is read in process.
# Extra arguments go to `cardap demo` (e.g. --format json).
set -euo pipefail
cd "$(dirname "$0")/.."

features=()
if bash scripts/pcscd-up.sh 2>/dev/null; then
  trap 'bash scripts/pcscd-down.sh' EXIT
elif ! pkg-config --exists libpcsclite 2>/dev/null; then
  echo "demo: no PC/SC stack here; building cardap without it and reading in process" >&2
  features=(--no-default-features)
fi
cargo build --release -q -p cardap-cli "${features[@]}"
./target/release/cardap demo --format text "$@"
