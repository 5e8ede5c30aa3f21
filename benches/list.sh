#!/usr/bin/env bash
# `tickets list` at scale (issue 18): imports N small messages, each a new
# conversation (so N tickets), then times the first page of `tickets list`
# and a filtered page, without a daemon and with `serve` running, and
# records wall time and peak RSS of the command (and the daemon's RSS).
# Release build. Each figure is the best of 3 runs.
#
#   benches/list.sh [N]        # default 10000
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

n=${1:-10000}
bin=${POSTDESK_BIN:-target/release/postdesk}
work=$(mktemp -d /tmp/pdlist.XXXXXX)
# (`kill 0` would signal this script's whole process group.)
trap '[ -z "${serve_pid:-}" ] || kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

[ -n "${POSTDESK_BIN:-}" ] || cargo build --release --locked -q
write_config "$work"
# ~0.5 KB messages, 200 customers, dates one minute apart.
python3 - "$work/corpus.mbox" "$n" <<'PY'
import sys, datetime
out, n = sys.argv[1], int(sys.argv[2])
base = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
with open(out, "w") as f:
    for i in range(n):
        d = (base + datetime.timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        f.write(f"From c{i % 200}@customer.test Wed Jan  1 00:00:00 2025\n"
                f"From: Customer {i % 200} <c{i % 200}@customer.test>\nTo: support@desk.test\n"
                f"Subject: Order {i} did not arrive\nMessage-ID: <list{i}@customer.test>\n"
                f"Date: {d}\nContent-Type: text/plain; charset=utf-8\n\n"
                f"Hello, my order {i} has not arrived yet. Could you check where it is?\n"
                "It was due last week and the tracking page shows nothing new.\n\nThanks\n\n")
PY
/usr/bin/time -f '%e %M' -o "$work/time" \
  "$bin" --config "$work/postdesk.toml" import mbox "$work/corpus.mbox" --json >"$work/import.json"
read -r iwall irss <"$work/time"
echo "N=$n: import ${iwall}s, peak RSS $((irss / 1024)) MiB, store $(du -sm "$work/state/store" | cut -f1) MiB"

# best WALL RSS of 3 runs of: postdesk ARGS (stdout discarded)
best() {
  # GNU time's %e counts in 10 ms steps: the wall time is bash's clock
  # around it (which adds the fork of time itself, ~1 ms).
  local t0 t1 w r bw=999999 br=0
  for _ in 1 2 3; do
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$work/time" \
      "$bin" --config "$work/postdesk.toml" "$@" >/dev/null 2>"$work/err"
    t1=$EPOCHREALTIME
    w=$(awk "BEGIN{print ($t1 - $t0) * 1000}")
    read -r r <"$work/time"
    if awk "BEGIN{exit !($w < $bw)}"; then bw=$w; br=$r; fi
  done
  printf '%6.1f ms %5d MiB' "$bw" $((br / 1024))
}

# `tickets show` opens the store and reads one ticket: the cost of
# opening, for comparison.
queries=(
  "tickets show B-1"
  "tickets list"
  "tickets list --status open --limit 50"
  "tickets list --requester c7@customer.test"
  "tickets list --search order --limit 50"
)
for mode in store daemon; do
  if [ "$mode" = daemon ]; then
    "$bin" --config "$work/postdesk.toml" serve 2>"$work/serve.log" &
    serve_pid=$!
    until [ -S "$work/state/control.sock" ]; do
  kill -0 "$serve_pid" 2>/dev/null || { echo "serve exited:" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
  sleep 0.05
done
    sleep 0.5
    echo "  daemon idle: $(awk '/VmRSS/{print int($2/1024)}' "/proc/$serve_pid/status") MiB"
  fi
  for q in "${queries[@]}"; do
    # shellcheck disable=SC2086
    echo "  $mode: $q: $(best $q)"
  done
  # shellcheck disable=SC2086
  echo "  $mode: tickets list --all --json: $(best tickets list --all --json), $("$bin" --config "$work/postdesk.toml" tickets list --all --json | wc -l) lines"
  if [ "$mode" = daemon ]; then
    echo "  daemon after the queries: $(awk '/VmRSS/{print int($2/1024)}' "/proc/$serve_pid/status") MiB"
    kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=
  fi
done
echo "machine: $(machine)"
