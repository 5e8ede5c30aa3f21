#!/usr/bin/env bash
# Stop the mail stack started by start.sh in DIR (default /tmp/pdstack).
#
# Touches only the Dovecot and Postfix whose pid files live in DIR, never a
# system-wide instance or another stack. Waits until they have exited and
# their ports are free, so start.sh can reuse the ports at once. Logs and
# mail stay in DIR for post-mortems; stack.env/stack.json are removed so
# nobody mistakes a stopped stack for a running one.
set -euo pipefail

DIR=$(realpath -m -- "${1:-/tmp/pdstack}")
MARKER=$DIR/.pdstack

say() { printf 'stop.sh: %s\n' "$*" >&2; }

if [[ ! -e "$MARKER" ]]; then
  say "no mail stack in $DIR (nothing to stop)"
  exit 0
fi
PORT_BASE=$(sed -n 's/^PORT_BASE=\([0-9]*\)$/\1/p' "$MARKER")

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The daemons detach, so their parent is init. An init that reaps lazily
# (as in some containers/VMs) leaves them as zombies for a second or two and
# "kill -0" still succeeds: a zombie counts as gone (its sockets are closed).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "$stat" != Z* ]]
}

# Pid from a daemon's pid file, if that process is still alive.
live_pid() {
  local pid
  [[ -r "$1" ]] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [[ -n "$pid" ]] && alive "$pid" && printf '%s' "$pid"
}

# Wait up to $2 tenths of a second for process $1 to exit.
wait_gone() {
  local pid=$1 n=$2
  while ((n-- > 0)); do
    alive "$pid" || return 0
    sleep 0.05
    alive "$pid" || return 0
    sleep 0.05
  done
  ! alive "$pid"
}

pids=()
if pf_pid=$(live_pid "$DIR/postfix/queue/pid/master.pid"); then
  # "postfix stop" checks the config first and logs the stop; fall back to a
  # plain SIGTERM to the master if the config is gone or broken.
  postfix -c "$DIR/postfix/etc" stop </dev/null >>"$DIR/log/postfix-start.log" 2>&1 ||
    kill -TERM "$pf_pid" 2>/dev/null || true
  pids+=("$pf_pid")
fi
if dc_pid=$(live_pid "$DIR/run/master.pid"); then
  # SIGTERM makes the Dovecot master stop all its services and exit.
  kill -TERM "$dc_pid" 2>/dev/null || true
  pids+=("$dc_pid")
fi

for pid in "${pids[@]}"; do
  if ! wait_gone "$pid" 100; then
    say "pid $pid did not exit after 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 20 || say "pid $pid still alive"
  fi
done

# Children of the masters (a long IMAP session, an smtpd mid-transaction)
# can outlive the master by a moment and keep a listening socket.
if [[ -n "$PORT_BASE" ]]; then
  for off in 143 993 24 12 25 587 465; do
    p=$((PORT_BASE + off))
    for _ in $(seq 100); do
      port_open "$p" || break
      sleep 0.1
    done
    if port_open "$p"; then say "warning: port $p still accepts connections"; fi
  done
fi

rm -f -- "$DIR/stack.env" "$DIR/stack.json"
if ((${#pids[@]})); then say "stopped stack in $DIR"; else say "stack in $DIR was not running"; fi
