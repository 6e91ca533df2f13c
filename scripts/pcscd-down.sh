#!/usr/bin/env bash
# Stops the pcscd that pcscd-up.sh started, and only that one: a pcscd that
# was running before pcscd-up.sh is left alone. Quiet on success.
set -euo pipefail

runtime="${XDG_RUNTIME_DIR:-/tmp}"
state="${CARDAP_PCSCD_STATE:-$runtime/cardap-pcscd.pid}"

[[ -f $state ]] || exit 0
read -r pid started <"$state" || true
rm -f "$state"
[[ ${pid:-} =~ ^[0-9]+$ ]] || exit 0

# Only our process: same PID, still pcscd, same start time.
ours() {
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == pcscd ]] &&
    [[ $(awk '{ print $22 }' "/proc/$pid/stat" 2>/dev/null) == "${started:-}" ]]
}
ours || exit 0

kill -TERM "$pid" 2>/dev/null || exit 0
for _ in $(seq 50); do
  ours || exit 0
  sleep 0.1
done
echo "pcscd-down: pcscd ($pid) ignored SIGTERM for 5 s; sending SIGKILL" >&2
kill -KILL "$pid" 2>/dev/null || true
