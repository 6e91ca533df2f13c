#!/usr/bin/env bash
# Benchmarks (release build), figures for the README's performance table.
#
#   bash scripts/bench.sh [COUNT]        everything; COUNT reads per case (default 2000)
#   bash scripts/bench.sh --e2e [COUNT]  only the end-to-end part through pcscd
#   bash scripts/bench.sh --cpu          only host CPU (criterion)
#
# 1. Host CPU (criterion, `benches/read.rs` and `benches/codec.rs`): a read on
#    a replayed session, secure-messaging wrap and unwrap, TLV, APDU codec.
# 2. End to end through pcscd + vpcd + the benchmark card (`bench/card.toml`,
#    served by `cardap-bench card` with the card's randomness fixed), in one
#    process run per case: the floor (the APDUs of a recorded session replayed
#    raw with the `pcsc` crate, one transaction per read), cardap's read, and
#    a pyscard reader (scripts/bench_pyscard.py --serve), taking turns read by
#    read: p50/p99, ratios, APDUs and
#    PC/SC calls per read, for Type C, A and D in each suite, extended length
#    on and off.
#    Then the same reads with each one's wall time split: before the first
#    APDU, inside SCardTransmit, between APDUs, after the last answer, and
#    SCardEndTransaction (`cardap-bench split`).
# 3. Messages to pcscd per read, counted by strace on pcscd's socket, for the
#    floor, cardap and pyscard (fails if cardap sends more than the floor).
# 4. Whole-process time of `cardap read` against the floor's one-shot program.
# 5. Tap to result in `cardap watch` (card inserted → JSON line printed).
#
# Installs strace, python3-pyscard and python3-cryptography when missing
# (Debian, as root). The pcscd part holds /tmp/cardap-pcscd.lock (one pcscd
# per machine). Python is /usr/bin/python3 (Debian's pyscard serves it).
set -euo pipefail
cd "$(dirname "$0")/.."

what=all
case "${1:-}" in
  --e2e) what=e2e; shift ;;
  --cpu) what=cpu; shift ;;
esac
count="${1:-2000}"
reader="Virtual PCD 00 01"
port=35964
python=/usr/bin/python3
step() { printf '\n== %s\n' "$*"; }

need=()
command -v strace >/dev/null 2>&1 || need+=(strace)
$python -c 'import smartcard' 2>/dev/null || need+=(python3-pyscard)
$python -c 'import cryptography' 2>/dev/null || need+=(python3-cryptography)
if ((${#need[@]} > 0)) && [[ $what != cpu ]]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [[ $what != e2e ]]; then
  step "host CPU (criterion)"
  cargo bench -q --bench read --bench codec -- --noplot 2>/dev/null \
    | grep -B1 'time:' | grep -vE '^--$|^Benchmarking' || true
fi
[[ $what == cpu ]] && exit 0

cargo build --release -q -p cardap-cli -p cardap-bench
bin=./target/release
$python scripts/bench_pyscard.py --self-test tests/vectors/profile-v1.json >/dev/null

exec 9>/tmp/cardap-pcscd.lock
flock 9
bash scripts/pcscd-up.sh
card_pid=
stop_card() {
  if [[ -n "$card_pid" ]]; then kill "$card_pid" 2>/dev/null || true; wait "$card_pid" 2>/dev/null || true; fi
  card_pid=
}
trap 'stop_card; bash scripts/pcscd-down.sh' EXIT
wait_card() {
  for _ in $(seq 100); do
    $bin/cardap readers | grep -q "\"$reader\",\"card_present\":true" && return 0
    sleep 0.1
  done
  echo "bench: the card did not appear in $reader" >&2; exit 1
}
start_card() {
  $bin/cardap-bench card --card bench/card.toml --port $port 2>/dev/null &
  card_pid=$!
  wait_card
}
start_card
tmp=$(mktemp -d)

# CPU placement. Left to the scheduler, the client and the pcscd thread that
# serves it land on the same core in some runs and on different cores in
# others, and the floor and cardap each have their own pcscd thread: the p50
# of two identical readers then differs by up to 2x from run to run. With
# two or more cores, the readers (the floor, cardap, pyscard) get core 0 and
# pcscd and the card get core 1, the same for all three.
client=()
if (( $(nproc) >= 2 )) && command -v taskset >/dev/null 2>&1; then
  taskset -a -p -c 1 "$(pgrep -o -x pcscd)" >/dev/null
  taskset -a -p -c 1 "$card_pid" >/dev/null
  client=(taskset -c 0)
fi

step "per read through pcscd: floor, cardap, pyscard ($count reads each, $(nproc) cores${client:+, readers on core 0, pcscd and the card on core 1})"
"${client[@]}" $bin/cardap-bench e2e --reader "$reader" --count "$count" --python $python

step "where cardap's time over the floor goes (median µs per read, extended length on)"
"${client[@]}" $bin/cardap-bench split --reader "$reader" --count "$count"

step "messages to pcscd per read (strace on /run/pcscd/pcscd.comm; sends+receives)"
# Counts socket syscalls of N reads for two N; the difference per read leaves
# out connecting.
socket_calls() {
  strace -f -qq -yy -e trace=connect,sendto,recvfrom,sendmsg,recvmsg,write,read,writev,readv \
    -o "$tmp/st" "$@" >/dev/null
  # The client sockets connected to pcscd, by inode; then every data call on them.
  python3 - "$tmp/st" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
inodes = {m.group(1) for l in lines if "pcscd.comm" in l and " connect(" in l
          for m in [re.search(r"UNIX-STREAM:\[(\d+)", l)] if m}
print(sum(1 for l in lines if " connect(" not in l
          and any("UNIX-STREAM:[%s" % i in l for i in inodes)))
PY
}
per_read() { # label command... (with N as the placeholder for the count)
  local a b
  a=$(socket_calls "${@//@N@/10}")
  b=$(socket_calls "${@//@N@/30}")
  echo "scale=1; ($b - $a) / 20" | bc
}
printf '| AP | floor | cardap | pyscard |\n|---|---|---|---|\n'
fail=0
for case in c a-aes128 d-aes256; do
  profile="bench/profiles/$case.toml"
  $bin/cardap-bench record --reader "$reader" --profile "$profile" --out "$tmp/$case.trace"
  f=$(per_read $bin/cardap-bench reads --reader "$reader" --profile "$profile" --count @N@ --mode floor --trace "$tmp/$case.trace")
  c=$(per_read $bin/cardap-bench reads --reader "$reader" --profile "$profile" --count @N@ --mode cardap)
  p=$(per_read $python scripts/bench_pyscard.py --reader "$reader" --profile "$profile" --count @N@ --warmup 0 --quiet)
  printf '| %s | %s | %s | %s |\n' "$case" "$f" "$c" "$p"
  [[ "$c" == "$f" ]] || { echo "bench: cardap makes $c socket calls per read, the floor $f" >&2; fail=1; }
done

step "whole process: cardap read against the floor's one-shot program (100 runs each, alternated)"
for case in c d-aes256; do
  profile="bench/profiles/$case.toml"
  printf '%s: ' "$case"
  $bin/cardap-bench process-time --count 100 \
    -- $bin/cardap-bench floor-once --reader "$reader" --trace "$tmp/$case.trace" \
    --- $bin/cardap read --reader "$reader" --profile "$profile"
done

step "tap to result in cardap watch (pcscd polls vpcd for presence; see README)"
stop_card
bash -c "for _ in \$(seq 50); do $bin/cardap readers | grep -q '\"$reader\",\"card_present\":false' && exit 0; sleep 0.1; done"
$bin/cardap-bench watch-latency --cardap $bin/cardap --reader "$reader" --port $port --taps 20

rm -rf "$tmp"
exit $fail
