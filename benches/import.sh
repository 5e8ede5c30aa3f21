#!/usr/bin/env bash
# Import throughput: generates an mbox of COUNT realistic support messages
# (2-20 KB, 60% new conversations, 40% replies) and times
# `postdesk import mbox` on it, release build, durability kept (one flush
# per intake.batch messages and at the end). Prints messages/s and peak RSS.
#
#   benches/import.sh [COUNT]        # default 10000
#   POSTDESK_BENCH_STORE=postgres benches/import.sh [COUNT]   # on PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

count=${1:-10000}
work=$(mktemp -d /tmp/pdbench.XXXXXX)
trap 'stop_store; rm -rf "$work"' EXIT

cargo build --release --locked -q
python3 benches/gen_corpus.py mbox "$work/corpus.mbox" --count "$count" >/dev/null
write_config "$work"
use_store "$work" target/release/postdesk
bytes=$(stat -c %s "$work/corpus.mbox")

# GNU time: %e wall seconds, %M peak RSS in KB.
/usr/bin/time -f '%e %M' -o "$work/time" \
  target/release/postdesk --config "$work/postdesk.toml" import mbox "$work/corpus.mbox" --json \
  >"$work/summary.json"
read -r wall rss_kb <"$work/time"
python3 - "$work/summary.json" "$wall" "$rss_kb" "$bytes" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, rss, size = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"import: {s['messages']} messages ({size/1e6:.1f} MB) in {wall:.2f} s wall "
      f"= {s['messages']/wall:.0f} messages/s (import loop alone {s['per_second']:.0f}/s); "
      f"{s['new_tickets']} tickets; peak RSS {rss/1024:.0f} MiB")
PY
echo "store: $bench_store, $(store_mb "$work") MiB"
echo "machine: $(machine)"
