#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the registry tests.
#
# - installs the Debian `postgresql` package if missing (apt-get, idempotent);
# - `initdb` into a fresh temporary directory owned by the `postgres` user
#   (root cannot run the server), trust authentication, loopback only;
# - starts `postgres` itself (no systemd, no pg_ctlcluster) listening on
#   127.0.0.1 at a free port with its socket in the data directory;
# - waits until it accepts connections and creates the database `cardap`;
# - prints `export CARDAP_REGISTRY_URL=postgres://…` for `eval`, and writes
#   the state (data directory, PID, URL) to $CARDAP_POSTGRES_STATE so that
#   postgres-down.sh stops exactly this server and removes its files.
#
# Usage: eval "$(bash scripts/postgres-up.sh)"; …; bash scripts/postgres-down.sh
# Environment: CARDAP_POSTGRES_STATE (state file, default
# ${XDG_RUNTIME_DIR:-/tmp}/cardap-postgres-<checkout>.state), CARDAP_POSTGRES_PORT (a fixed
# port instead of the first free one from 55432).
set -euo pipefail

# One state file per checkout, so that two checkouts on one machine each
# stop only their own server.
root="$(cd "$(dirname "$0")/.." && pwd)"
key="$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
state="${CARDAP_POSTGRES_STATE:-${XDG_RUNTIME_DIR:-/tmp}/cardap-postgres-$key.state}"
die() { echo "postgres-up: $*" >&2; exit 1; }

if [[ -f "$state" ]]; then
  # shellcheck disable=SC1090
  source "$state"
  if [[ -n "${PG_PID:-}" ]] && kill -0 "$PG_PID" 2>/dev/null; then
    echo "export CARDAP_REGISTRY_URL=$PG_URL"
    exit 0
  fi
  rm -f "$state"
fi

# --- package ----------------------------------------------------------------
find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/postgres" && -x "$d/initdb" ]] && { echo "$d"; return 0; }
  done
  return 1
}
if ! bindir="$(find_bin)" || ! command -v psql >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || die "the postgresql package is missing and this is not root"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
    || die "apt-get install postgresql failed"
  bindir="$(find_bin)" || die "no server binaries under /usr/lib/postgresql/*/bin"
fi

# --- the user that runs the server --------------------------------------------
run_as=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  run_as=(runuser -u postgres --)
fi

# --- cluster ------------------------------------------------------------------
dir="$(mktemp -d "${TMPDIR:-/tmp}/cardap-pg.XXXXXX")"
chmod 700 "$dir"
[[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
"${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed"; }

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
port="${CARDAP_POSTGRES_PORT:-}"
if [[ -z "$port" ]]; then
  port=55432
  while port_in_use "$port"; do port=$((port + 1)); done
fi

setsid "${run_as[@]}" "$bindir/postgres" -D "$dir/data" -k "$dir/data" \
  -h 127.0.0.1 -p "$port" -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off </dev/null >"$dir/server.log" 2>&1 &
launcher=$!

pid=""
for _ in $(seq 1 150); do
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    pid="$(head -n 1 "$dir/data/postmaster.pid")"
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
      break
    fi
  fi
  kill -0 "$launcher" 2>/dev/null || { tail -n 20 "$dir/server.log" >&2; die "postgres exited (log: $dir/server.log)"; }
  sleep 0.1
done
"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres \
  || { tail -n 20 "$dir/server.log" >&2; die "postgres not ready after 15 s"; }

"$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres cardap
url="postgres://postgres@127.0.0.1:$port/cardap"
mkdir -p "$(dirname "$state")"
{
  echo "PG_DIR=$dir"
  echo "PG_PID=$pid"
  echo "PG_BIN=$bindir"
  echo "PG_URL=$url"
} >"$state"
echo "export CARDAP_REGISTRY_URL=$url"
