#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer) on the nightly toolchain.
#
#   bash scripts/fuzz.sh smoke [SECONDS]   every target for SECONDS (default 30), two at a time on
#                                          two or more cores; CI runs this
#   bash scripts/fuzz.sh long  [RUNS]      every target to RUNS executions (default 10000000),
#                                          logs in fuzz/logs/TARGET.log, one target after another.
#                                          Built with overflow checks and debug assertions (-a);
#                                          AddressSanitizer only for c_abi, the target that runs
#                                          the C ABI's `unsafe` code (the core forbids `unsafe`,
#                                          and ASan would cut the others' speed by half or more)
#   bash scripts/fuzz.sh list
#
# Installs the nightly toolchain and cargo-fuzz when missing. Seeds come from
# scripts/fuzz-seeds.py (golden transcripts, example profiles and cards).
# A crash stops the run with the reproducer in fuzz/artifacts/TARGET/; it
# becomes a regression test (the input as a unit or integration test of the
# code it broke) before the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-smoke}"

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal \
    || { echo "fuzz: the nightly toolchain is missing and cannot be installed" >&2; exit 1; }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
targets=$(cd fuzz && cargo +nightly fuzz list)
[[ "$mode" == list ]] && { echo "$targets"; exit 0; }

python3 scripts/fuzz-seeds.py . >/dev/null

case "$mode" in
  smoke)
    secs="${2:-30}"
    (cd fuzz && cargo +nightly fuzz build -O >/dev/null)
    # Two targets at a time where there are two cores (each target is one process).
    jobs=1
    (( $(nproc) >= 2 )) && jobs=2
    logs=$(mktemp -d)
    trap 'rm -rf "$logs"' EXIT
    set -- $targets
    while (( $# > 0 )); do
      batch=("${@:1:$jobs}")
      shift "${#batch[@]}"
      pids=()
      for t in "${batch[@]}"; do
        (cd fuzz && cargo +nightly fuzz run -O "$t" -- -max_total_time="$secs") >"$logs/$t" 2>&1 &
        pids+=("$!")
      done
      for i in "${!batch[@]}"; do
        t=${batch[$i]}
        if ! wait "${pids[$i]}"; then
          tail -40 "$logs/$t"; echo "fuzz: $t FAILED" >&2; exit 1
        fi
        echo "fuzz: $t $(grep -a -Eo 'Done [0-9]+ runs in [0-9]+ second' "$logs/$t" | tail -1), 0 crashes"
      done
    done
    ;;
  long)
    runs="${2:-10000000}"
    # CARDAP_FUZZ_MAX_TIME caps each target's seconds; CARDAP_FUZZ_TARGETS picks targets;
    # CARDAP_FUZZ_FORK=N runs N worker processes per target (libFuzzer's -fork; RUNS
    # counts the executions of all of them).
    limit=()
    [[ -n "${CARDAP_FUZZ_MAX_TIME:-}" ]] && limit=(-max_total_time="$CARDAP_FUZZ_MAX_TIME")
    [[ -n "${CARDAP_FUZZ_FORK:-}" ]] && limit+=(-fork="$CARDAP_FUZZ_FORK")
    targets="${CARDAP_FUZZ_TARGETS:-$targets}"
    mkdir -p fuzz/logs
    for t in $targets; do
      sanitizer=none dir=target extra=()
      # Its own target directory, so that the two builds do not replace each other.
      [[ $t == c_abi ]] && sanitizer=address dir=target/asan
      # A feed row is about 50 bytes: 512 bytes hold ten rows, and longer
      # inputs only slow the run down (a 3 KiB feed takes 0.5 ms instrumented).
      [[ $t == revocation_feed ]] && extra=(-max_len=512)
      start=$(date +%s)
      if (cd fuzz && cargo +nightly fuzz run -O -a -s "$sanitizer" --target-dir "$dir" "$t" -- -runs="$runs" "${limit[@]}" "${extra[@]}" -print_final_stats=1) >"fuzz/logs/$t.log" 2>&1; then
        echo "fuzz: $t $(grep -a -Eo 'Done [0-9]+ runs|fuzzed for [0-9]+ iterations' "fuzz/logs/$t.log" | tail -1) in $(( $(date +%s) - start )) s (sanitizer: $sanitizer), 0 crashes"
      else
        echo "fuzz: $t CRASHED (fuzz/logs/$t.log, fuzz/artifacts/$t/)" >&2
        exit 1
      fi
    done
    ;;
  *) echo "usage: fuzz.sh smoke [SECONDS] | long [RUNS] | list" >&2; exit 2 ;;
esac
