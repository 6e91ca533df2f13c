#!/usr/bin/env bash
# cargo-deny over the workspace (deny.toml): licences, duplicate crates and
# sources always (offline); advisories when the RustSec database can be
# fetched or is cached, otherwise skipped with a note. Installs cargo-deny
# when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install cargo-deny --locked
fi
cargo deny --all-features check licenses bans sources
# A fetched database is a directory with the advisories inside.
if timeout 120 cargo deny fetch db >/dev/null 2>&1 \
  || compgen -G "$HOME/.cargo/advisory-dbs/*/crates" >/dev/null; then
  cargo deny --all-features check --disable-fetch advisories
else
  echo "deny: advisories NOT checked: the RustSec database could not be fetched (no network) and none is cached"
fi
