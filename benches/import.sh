#!/usr/bin/env bash
# Import throughput: generates an mbox of COUNT realistic support messages
# (2-20 KB, 60% new conversations, 40% replies) and times
# `postdesk import mbox` on it, release build, durability kept (one flush
# per intake.batch messages and at the end). Prints messages/s and peak RSS.
#
#   benches/import.sh [COUNT]        # default 10000
#   POSTDESK_BENCH_STORE=postgres benches/import.sh [COUNT]   # on PostgreSQL
#   POSTDESK_BIN=path benches/import.sh [COUNT]   # that binary, no build
#   CORPUS=small benches/import.sh [COUNT]   # small mails (~0.9 KB,
#                                  # benches/gen_small.py) instead
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

count=${1:-10000}
work=$(mktemp -d /tmp/pdbench.XXXXXX)
trap 'stop_store; rm -rf "$work"' EXIT

bin=${POSTDESK_BIN:-target/release/postdesk}
[ -n "${POSTDESK_BIN:-}" ] || cargo build --release --locked -q
case "${CORPUS:-typical}" in
  typical) python3 benches/gen_corpus.py mbox "$work/corpus.mbox" --count "$count" >/dev/null ;;
  small) python3 benches/gen_small.py "$work/corpus.mbox" "$count" ;;
  *) echo "CORPUS must be typical or small, not ${CORPUS}" >&2; exit 2 ;;
esac
write_config "$work"
use_store "$work" "$bin"
bytes=$(stat -c %s "$work/corpus.mbox")

# GNU time: %e wall seconds, %M peak RSS in KB, %U %S client CPU seconds.
/usr/bin/time -f '%e %M %U %S' -o "$work/time" \
  "$bin" --config "$work/postdesk.toml" import mbox "$work/corpus.mbox" --json \
  >"$work/summary.json"
read -r wall rss_kb user_s sys_s <"$work/time"
python3 - "$work/summary.json" "$wall" "$rss_kb" "$bytes" "$user_s" "$sys_s" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, rss, size = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cpu = float(sys.argv[5]) + float(sys.argv[6])
print(f"import: {s['messages']} messages ({size/1e6:.1f} MB) in {wall:.2f} s wall "
      f"= {s['messages']/wall:.0f} messages/s (import loop alone {s['per_second']:.0f}/s); "
      f"{s['new_tickets']} tickets; peak RSS {rss/1024:.0f} MiB; client CPU {cpu:.1f} s")
PY
echo "store: $bench_store, $(store_mb "$work") MiB for $((bytes / 1048576)) MiB of mbox"
store_parts "$work"
echo "machine: $(machine)"
