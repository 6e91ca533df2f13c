#!/usr/bin/env bash
# Instructions per read, counted by valgrind's callgrind (they repeat exactly
# where wall time does not): a recorded session of each AP type and suite
# replayed in process (`cardap-bench replay`), 110 reads minus 10 reads, /100.
# Usage: bash scripts/callgrind.sh     (installs valgrind when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi
cargo build --release -q -p cardap-bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
instructions() { # profile count
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" \
    ./target/release/cardap-bench replay --profile "$1" --count "$2" 2>"$tmp/log" >/dev/null
  grep -Eo 'Collected : [0-9]+' "$tmp/log" | grep -Eo '[0-9]+'
}
printf '| AP | instructions per read |\n|---|---|\n'
for case in c a-3des a-aes128 a-aes256 d-3des d-aes128 d-aes256; do
  a=$(instructions "bench/profiles/$case.toml" 10)
  b=$(instructions "bench/profiles/$case.toml" 110)
  printf '| %s | %s |\n' "$case" $(( (b - a) / 100 ))
done
