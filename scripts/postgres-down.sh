#!/usr/bin/env bash
# Stops the PostgreSQL server that postgres-up.sh started (by its PID from the
# state file, never by name) and removes its temporary directory.
set -euo pipefail

# One state file per checkout, so that two checkouts on one machine each
# stop only their own server.
root="$(cd "$(dirname "$0")/.." && pwd)"
key="$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
state="${CARDAP_POSTGRES_STATE:-${XDG_RUNTIME_DIR:-/tmp}/cardap-postgres-$key.state}"
[[ -f "$state" ]] || exit 0
# shellcheck disable=SC1090
source "$state"
if [[ -n "${PG_PID:-}" ]] && kill -0 "$PG_PID" 2>/dev/null; then
  # SIGINT: PostgreSQL's "fast" shutdown.
  kill -INT "$PG_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$PG_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$PG_PID" 2>/dev/null && kill -KILL "$PG_PID" 2>/dev/null || true
fi
case "${PG_DIR:-}" in
  */cardap-pg.*) rm -rf "$PG_DIR" ;;
esac
rm -f "$state"
