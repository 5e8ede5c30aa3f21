#!/usr/bin/env bash
# Memory after a burst (issue 18): `serve` on a Maildir inbox takes N
# messages dropped in at once; prints how long intake took, the daemon's
# RSS while it worked (highest sample, every 100 ms) and at 2, 10 and 30 s
# after the last message was stored, and the same around one
# `tickets list --all --json` and one `stats`. Run it with
# MIMALLOC_PURGE_DELAY set to compare the allocator's purge settings.
#
#   benches/burst.sh [N]            # default 10000
#   POSTDESK_BIN=path benches/burst.sh N
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

n=${1:-10000}
bin=${POSTDESK_BIN:-target/release/postdesk}
work=$(mktemp -d "${TMPDIR:-/tmp}/pdburst.XXXXXX")
# (`kill 0` would signal this script's whole process group.)
trap '[ -z "${serve_pid:-}" ] || kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

[ -n "${POSTDESK_BIN:-}" ] || cargo build --release --locked -q
write_config "$work"
# EXTRA_TOML: more configuration to compare, e.g. '[store]\ncache = "8MiB"'.
[ -z "${EXTRA_TOML:-}" ] || printf '%b\n' "$EXTRA_TOML" >>"$work/postdesk.toml"
cfg=("--config" "$work/postdesk.toml")
mkdir -p "$work/inbox"/{tmp,new,cur} "$work/staging"
python3 benches/gen_corpus.py maildir "$work/staging" --count "$n" >/dev/null

"$bin" "${cfg[@]}" serve 2>"$work/serve.log" &
serve_pid=$!
until [ -S "$work/state/control.sock" ]; do
  kill -0 "$serve_pid" 2>/dev/null || { echo "serve exited:" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
  sleep 0.05
done
sleep 2
rss() { awk '/VmRSS/{print int($2/1024)}' "/proc/$serve_pid/status"; }
# The daemon's CPU time so far (user + system, in clock ticks): steadier
# than wall time on a shared machine.
cpu() { awk '{print $14 + $15}' "/proc/$serve_pid/stat"; }
echo "N=$n${MIMALLOC_PURGE_DELAY:+, MIMALLOC_PURGE_DELAY=$MIMALLOC_PURGE_DELAY}${EXTRA_TOML:+, $EXTRA_TOML}"
echo "  idle before: $(rss) MiB"

# Moves are atomic within one file system: the daemon sees whole files.
t0=$EPOCHREALTIME
c0=$(cpu)
find "$work/staging" -type f -path '*/new/*' -exec mv -t "$work/inbox/new" {} +
peak=0
while [ -n "$(find "$work/inbox/new" -type f -print -quit)" ]; do
  r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.1
done
t1=$EPOCHREALTIME
c1=$(cpu)
hz=$(getconf CLK_TCK)
echo "  intake: $(awk "BEGIN{printf \"%.2f s = %.0f msg/s, daemon CPU %.2f s\", $t1 - $t0, $n / ($t1 - $t0), ($c1 - $c0) / $hz}"), highest RSS $peak MiB"
for s in 2 10 30; do
  sleep $((s - ${last:-0})); last=$s
  echo "  ${s} s after: $(rss) MiB"
done
"$bin" "${cfg[@]}" tickets list --all --json >/dev/null
echo "  after tickets list --all --json: $(rss) MiB"
"$bin" "${cfg[@]}" stats >/dev/null
echo "  after stats: $(rss) MiB"
sleep 10
echo "  10 s later: $(rss) MiB"
kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=
echo "machine: $(machine)"
