#!/usr/bin/env bash
# Stop the PostgreSQL cluster that start.sh made in DIR (default /tmp/pdpg).
# Touches only that cluster (its postmaster.pid in DIR/data), waits until
# it has exited, and removes pg.json so nobody mistakes a stopped cluster
# for a running one. The data and logs stay for post-mortems.
set -euo pipefail

DIR=$(realpath -m -- "${1:-/tmp/pdpg}")
say() { printf 'pg/stop.sh: %s\n' "$*" >&2; }

if [[ ! -e "$DIR/.pdpg" ]]; then
  say "no cluster in $DIR (nothing to stop)"
  exit 0
fi
rm -f -- "$DIR/pg.json"
if [[ ! -r "$DIR/data/postmaster.pid" ]]; then
  say "cluster in $DIR was not running"
  exit 0
fi
BIN=
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  [[ -x "$d/pg_ctl" ]] && { BIN=$d; break; }
done
as_owner=()
((EUID == 0)) && as_owner=(runuser -u postgres --)
# "fast": roll back open transactions (a test that died mid-way) and stop.
if [[ -n "$BIN" ]] && "${as_owner[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop \
  </dev/null >>"$DIR/pg_ctl.log" 2>&1; then
  say "stopped cluster in $DIR"
  exit 0
fi
pid=$(head -n1 "$DIR/data/postmaster.pid" | tr -dc '0-9')
if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
  say "pg_ctl stop failed; sending SIGQUIT to postmaster $pid"
  kill -QUIT "$pid" 2>/dev/null || true
fi
