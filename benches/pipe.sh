#!/usr/bin/env bash
# MTA pipe delivery: one `postdesk ingest` process per message, one after
# another, as Postfix's pipe(8) or procmail would run it, first with
# `postdesk serve` running (ingest talks to it over the control socket),
# then with no daemon (each process opens the store itself). Every message
# is flushed to disk before its process exits 0.
#
#   benches/pipe.sh [COUNT]          # default 1000
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

count=${1:-1000}
work=$(mktemp -d /tmp/pdbench.XXXXXX)
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --locked -q
bin=target/release/postdesk
python3 benches/gen_corpus.py eml "$work/eml" --count "$count" >/dev/null

run_pipe() {
  local label=$1 start end
  start=$(date +%s.%N)
  for f in "$work"/eml/*.eml; do
    "$bin" --config "$work/postdesk.toml" ingest <"$f" >/dev/null
  done
  end=$(date +%s.%N)
  python3 -c "import sys; n=int(sys.argv[1]); t=float(sys.argv[3])-float(sys.argv[2]); print(f'pipe ({sys.argv[4]}): {n} messages in {t:.2f} s = {n/t:.0f} messages/s')" \
    "$count" "$start" "$end" "$label"
}

write_config "$work"
"$bin" --config "$work/postdesk.toml" serve >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do [ -S "$work/state/control.sock" ] && break; sleep 0.05; done
run_pipe "serve running"
kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=

rm -rf "$work/state"
run_pipe "no daemon"
echo "machine: $(machine)"
