#!/usr/bin/env bash
# Brings up pcscd with the vsmartcard vpcd virtual reader for end-to-end tests.
#
# - installs pcscd, libpcsclite-dev, vsmartcard-vpcd and pcsc-tools if missing
#   (apt-get update only when something must be installed);
# - starts `pcscd --foreground` in the background unless one already runs, and
#   records in the state file that WE started it (PID and start time), so that
#   pcscd-down.sh stops exactly that process and nothing else;
# - waits until the socket exists and vpcd listens on its port.
#
# Works without systemd, as root. Quiet on success.
# Environment: CARDAP_PCSCD_STATE (state file), CARDAP_PCSCD_LOG (pcscd output),
# CARDAP_PCSCD_TIMEOUT (seconds to wait for readiness, default 15).
set -euo pipefail

runtime="${XDG_RUNTIME_DIR:-/tmp}"
state="${CARDAP_PCSCD_STATE:-$runtime/cardap-pcscd.pid}"
logfile="${CARDAP_PCSCD_LOG:-$runtime/cardap-pcscd.log}"
timeout="${CARDAP_PCSCD_TIMEOUT:-15}"
socket=/run/pcscd/pcscd.comm
vpcd_port=35963

die() { echo "pcscd-up: $*" >&2; exit 1; }

# --- packages ---------------------------------------------------------------
missing=()
for pkg in pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || die "missing packages (${missing[*]}) and not root"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi

# --- pcscd ------------------------------------------------------------------
# Start time of a process (field 22 of /proc/PID/stat), to tell it from a
# later process that reuses the PID.
start_time() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null; }

pcscd_pids() { pgrep -x pcscd || true; }

if [[ -z "$(pcscd_pids)" ]]; then
  # No pcscd: leftovers of a dead one would make the new one refuse to start.
  rm -f "$socket" /run/pcscd/pcscd.pid /run/pcscd/pcscd.pub
  mkdir -p "$(dirname "$state")"
  # setsid: its own session, so a Ctrl-C in the caller's terminal does not
  # reach it; setsid execs pcscd, so $! is pcscd's PID.
  # Inherited descriptors beyond 0-2 are closed first: a daemon that kept a
  # caller's lock file open (say, `flock LOCK bash scripts/pcscd-up.sh`)
  # would hold that lock for as long as it runs.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [[ $fd -gt 2 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid pcscd --foreground </dev/null >"$logfile" 2>&1
  ) &
  pid=$!
  sleep 0.1
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 20 "$logfile" >&2 || true
    die "pcscd exited at once (log: $logfile)"
  fi
  echo "$pid $(start_time "$pid")" >"$state"
fi
# Otherwise pcscd was running already: leave the state file as it is (it
# names our pcscd if an earlier pcscd-up.sh started this one, else nothing).

# --- readiness --------------------------------------------------------------
deadline=$((SECONDS + timeout))
until [[ -S $socket ]] && ss -ltnH "sport = :$vpcd_port" | grep -q .; do
  if ((SECONDS >= deadline)); then
    [[ -f /etc/reader.conf.d/vpcd ]] || echo "pcscd-up: /etc/reader.conf.d/vpcd is missing" >&2
    [[ -f $logfile ]] && tail -n 20 "$logfile" >&2
    die "pcscd not ready after ${timeout}s (socket $socket, vpcd port $vpcd_port)"
  fi
  if [[ -z "$(pcscd_pids)" ]]; then
    [[ -f $logfile ]] && tail -n 20 "$logfile" >&2
    rm -f "$state"
    die "pcscd died while starting (log: $logfile)"
  fi
  sleep 0.1
done
