#!/usr/bin/env bash
# Registry benchmarks (release build), the figures in the README:
#  1. full import of ROWS feed rows into an empty SQLite registry, the same
#     file again (nothing changes), and a delta of DELTA rows into it, each
#     timed around `cardap revocation import` (parsing, validation and the
#     transaction; the process start included);
#  2. status lookup and decision with ROWS statuses (criterion, plus the
#     p50/p99 of 200,000 single calls);
#  3. with --pcsc: a Type C read through pcscd + vpcd (`cardap bench`), the
#     decision's share of it, and tap-to-decision latency of `cardap watch
#     --db` over TAPS taps (needs the machine-wide pcscd lock, taken here).
# Usage: bash scripts/bench-registry.sh [--pcsc] [ROWS [DELTA]]
set -euo pipefail
cd "$(dirname "$0")/.."
pcsc=0
if [[ ${1:-} == --pcsc ]]; then pcsc=1; shift; fi
rows="${1:-1000000}"
delta="${2:-10000}"
taps="${TAPS:-20}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p cardap-cli
cardap=./target/release/cardap

python3 - "$work" "$rows" "$delta" <<'PY'
import sys
work, rows, delta = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def uid(n):
    body = f"{n:012d}"
    s = sum(int(d) * w for d, w in zip(reversed(body), [2, 3, 4, 5, 6, 7] * 2))
    r = s % 11
    return body + str(0 if r <= 1 else 11 - r)
statuses = ["active"] * 48 + ["suspended", "abolished"]
with open(f"{work}/full.csv", "w") as f:
    f.write("user_id,status,updated_at\n")
    for i in range(rows):
        f.write(f"{uid(i * 7 + 1)},{statuses[i % 50]},2026-11-30T00:00:00+09:00\n")
with open(f"{work}/delta.csv", "w") as f:
    f.write("user_id,status,updated_at\n")
    step = max(rows // delta, 1)
    for k in range(delta):
        i = (k * step) % rows
        f.write(f"{uid(i * 7 + 1)},suspended,2026-12-01T09:00:00+09:00\n")
PY

# Wall-clock and CPU (user + system) time of one command: on a busy machine
# the wall time includes waiting for a core, the CPU time does not.
timed() {
  local what=$1; shift
  local t
  t=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$work/out.json"; } 2>&1 )
  read -r wall user sys <<<"$t"
  printf '%-44s wall %6.3f s  cpu %6.3f s   %s\n' "$what" "$wall" "$(echo "$user + $sys" | bc -l)" "$(cat "$work/out.json")"
}

echo "== feed imports (SQLite, release cardap)"
db="$work/registry.db"
timed "full import of $rows rows (empty registry)" "$cardap" revocation import "$work/full.csv" --full --db "$db"
timed "the same full file again (no change)" "$cardap" revocation import "$work/full.csv" --full --db "$db"
timed "delta of $delta rows into $rows" "$cardap" revocation import "$work/delta.csv" --delta --db "$db"
ls -l "$db" | awk '{ printf "registry file: %.1f MB\n", $5 / 1048576 }'

echo "== status lookup and decision with $rows statuses (criterion)"
CARDAP_BENCH_ROWS="$rows" cargo bench -q -p cardap-registry --bench registry -- --noplot 2>&1 |
  grep -E '^registry_|time:|calls'

if ((pcsc)); then
  echo "== through pcscd + vpcd (under the pcscd lock)"
  flock /tmp/cardap-pcscd.lock bash -c '
    set -euo pipefail
    cardap=$1 work=$2 taps=$3
    bash scripts/pcscd-up.sh
    sim=""
    trap "[[ -n \$sim ]] && kill \$sim 2>/dev/null; bash scripts/pcscd-down.sh" EXIT
    "$cardap" sim --card examples/cards/demo.toml --port 35964 2>/dev/null &
    sim=$!
    for _ in $(seq 50); do
      "$cardap" readers | grep -q "\"Virtual PCD 00 01\",\"card_present\":true" && break
      sleep 0.1
    done
    "$cardap" bench --reader "Virtual PCD 00 01" --count 2000 --profile examples/profiles/library.toml
    "$cardap" register --reader "Virtual PCD 00 01" --profile examples/profiles/library.toml \
      --member M-0001 --db "$work/registry.db" >/dev/null
    kill $sim; wait $sim 2>/dev/null || true; sim=""
    sleep 1
    "$cardap" watch --reader "Virtual PCD 00 01" --profile examples/profiles/library.toml \
      --db "$work/registry.db" >"$work/watch.jsonl" &
    watch=$!
    sleep 1
    for i in $(seq "$taps"); do
      lines=$(wc -l <"$work/watch.jsonl")
      t0=$(date +%s%N)
      "$cardap" sim --card examples/cards/demo.toml --port 35964 2>/dev/null &
      sim=$!
      while [[ $(wc -l <"$work/watch.jsonl") -le $lines ]]; do sleep 0.002; done
      t1=$(date +%s%N)
      echo $(( (t1 - t0) / 1000000 )) >>"$work/taps.txt"
      kill $sim; wait $sim 2>/dev/null || true; sim=""
      sleep 0.6
    done
    kill $watch; wait $watch 2>/dev/null || true
    python3 - "$work" <<"PY"
import json, statistics, sys
work = sys.argv[1]
lines = [json.loads(l) for l in open(f"{work}/watch.jsonl")]
ms = sorted(l["ms"] for l in lines)
total = sorted(int(x) for x in open(f"{work}/taps.txt"))
decisions = {l["decision"] for l in lines}
print(f"taps: {len(lines)}, decisions {sorted(decisions)}")
print(f"connect + read + decide (the line ms): p50 {statistics.median(ms):.2f} ms, max {max(ms):.2f} ms")
print(f"card appears -> line printed: p50 {statistics.median(total)} ms, min {min(total)} ms, max {max(total)} ms")
PY
  ' _ "$cardap" "$work" "$taps"
fi
