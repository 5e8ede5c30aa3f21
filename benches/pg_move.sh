#!/usr/bin/env bash
# Moving a desk into PostgreSQL: imports COUNT generated messages into a
# sled desk (as benches/import.sh), then times `postdesk migrate --from
# sled --to postgres` into a fresh database on the test cluster
# (tests/pg/start.sh; started here on DIR /tmp/pdpg-bench, port 25499,
# and stopped at the end). Prints rows, wall time and peak RSS of the move:
# the move streams, so its RSS should stay near that of `postdesk backup`
# (the same export into a file), which is timed too for comparison.
#
#   benches/pg_move.sh [COUNT]       # default 10000
#   POSTDESK_BIN=target/debug/postdesk benches/pg_move.sh 2000   # no release build
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

count=${1:-10000}
work=$(mktemp -d /tmp/pdbench.XXXXXX)
pgdir=/tmp/pdpg-bench
trap 'tests/pg/stop.sh "$pgdir" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

bin=${POSTDESK_BIN:-}
if [[ -z "$bin" ]]; then
  cargo build --release --locked -q
  bin=target/release/postdesk
fi
tests/pg/install.sh
tests/pg/start.sh "$pgdir" 25499 >/dev/null
python3 benches/gen_corpus.py mbox "$work/corpus.mbox" --count "$count" >/dev/null
write_config "$work"
printf '\n[store]\nurl_env = "PD_BENCH_URL"\nca_file = "%s/tls/ca.pem"\n' "$pgdir" >>"$work/postdesk.toml"
"$bin" --config "$work/postdesk.toml" import mbox "$work/corpus.mbox" --json >/dev/null
export PD_BENCH_URL="postgres://postdesk:secret@127.0.0.1:25499/postdesk"
store_mb=$(du -sm "$work/state/store" | cut -f1)

/usr/bin/time -f '%e %M' -o "$work/time" \
  "$bin" --config "$work/postdesk.toml" migrate --from sled "$work/state" --to postgres --json \
  >"$work/moved.json"
read -r wall rss_kb <"$work/time"
python3 - "$work/moved.json" "$wall" "$rss_kb" "$store_mb" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
wall, rss, store = float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = {t["table"]: t["rows"] for t in m["tables"]}
ok = all(t["ok"] for t in m["tables"])
print(f"move: {rows['tickets']} tickets, {rows['messages']} messages, "
      f"{sum(rows.values())} rows (sled store {store} MB) in {wall:.2f} s wall; "
      f"verified {'ok' if ok else 'DIFFERS'}; peak RSS {rss/1024:.0f} MiB")
PY
/usr/bin/time -f '%e %M' -o "$work/time-backup" \
  "$bin" --config "$work/postdesk.toml" backup "$work/backup" >/dev/null
read -r bwall brss_kb <"$work/time-backup"
echo "backup of the same desk (the export alone): $bwall s wall; peak RSS $((brss_kb / 1024)) MiB"
echo "machine: $(machine)"
