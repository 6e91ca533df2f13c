#!/usr/bin/env bash
# Benchmarks: host CPU per read (criterion, replayed sessions) and wall-clock
# latency per read through real pcscd + vpcd + `cardap sim` (release build).
# Usage: bash scripts/bench.sh [COUNT]   (reads per AP type, default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-2000}"

bash scripts/pcscd-up.sh
cargo build --release -q -p cardap-cli
sim_pid=
cleanup() {
  [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  bash scripts/pcscd-down.sh
}
trap cleanup EXIT

echo "== host CPU per read (criterion)"
cargo bench -q --bench read -- --noplot 2>/dev/null | grep -E 'time:'

echo "== latency per read through pcscd ($count reads each)"
./target/release/cardap sim --card examples/cards/demo.toml --port 35964 2>/dev/null &
sim_pid=$!
for _ in $(seq 50); do
  ./target/release/cardap readers | grep -q '"Virtual PCD 00 01","card_present":true' && break
  sleep 0.1
done
for p in library kiosk evacuee; do
  ./target/release/cardap bench --reader "Virtual PCD 00 01" --count "$count" \
    --profile "examples/profiles/$p.toml"
done
