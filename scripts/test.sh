#!/usr/bin/env bash
# The whole test suite: formatting, lints, every test of every crate, and the
# end-to-end tests through a real pcscd with the vpcd virtual reader.
# `.ci/run` calls this; run it yourself the same way: `bash scripts/test.sh`.
# It installs what it needs (Debian packages, as root) and stops the pcscd it
# started.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "pcscd with the vpcd virtual reader (installs pcscd, libpcsclite-dev, vsmartcard-vpcd, pcsc-tools, openssl)"
bash scripts/pcscd-up.sh
trap 'bash scripts/pcscd-down.sh' EXIT

step "PostgreSQL for the registry tests (installs postgresql; a throw-away server on 127.0.0.1)"
eval "$(bash scripts/postgres-up.sh)"
trap 'bash scripts/postgres-down.sh; bash scripts/pcscd-down.sh' EXIT
# The registry's PostgreSQL tests fail instead of skipping without a server.
export CARDAP_REQUIRE_POSTGRES=1

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
# With the C ABI's virtual cards, which its tests use (off in production).
cargo clippy --workspace --all-targets --features cardap-ffi/virtual-card -- -D warnings
cargo clippy -p cardap-ffi -- -D warnings
# The core alone, as a library user builds it (no PC/SC).
cargo clippy -p cardap --all-targets -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  # The end-to-end tests through pcscd are #[ignore]d elsewhere: run them too.
  cargo nextest run --workspace --features cardap-ffi/virtual-card --no-fail-fast --run-ignored all
  cargo test --workspace --doc
else
  cargo test --workspace --features cardap-ffi/virtual-card --no-fail-fast -- --include-ignored
fi

step "cargo-deny (licences, duplicates, sources; advisories when reachable)"
bash scripts/deny.sh

step "fuzzing smoke (every target 30 s; scripts/fuzz.sh)"
bash scripts/fuzz.sh smoke "${CARDAP_FUZZ_SECONDS:-30}"

step "C ABI, Python and C# bindings, examples in four languages"
# The pcscd above stays up: the nested script keeps its own (empty) state.
CARDAP_PCSCD_STATE="$(mktemp -u)" bash scripts/test-ffi.sh
