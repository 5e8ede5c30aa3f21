#!/usr/bin/env bash
# Several nodes on one PostgreSQL desk (issue 20): two IMAP inboxes of
# COUNT generated support messages each (2-20 KB), read first by one
# `serve` node alone, then, with fresh mailboxes and a fresh database, by
# two nodes that share the inboxes (each reads one: the leases balance).
# Prints each round's combined intake rate, from process start to the log
# line of the batch that completed the count, and the ratio.
#
#   benches/nodes.sh [COUNT]        # default 5000 per inbox
#
# Needs root and the stack's packages (tests/mailstack/install.sh) and
# PostgreSQL (tests/pg/install.sh). Uses /tmp/pdbench-nodes and ports
# 19000+; the cluster is lib.sh's (/tmp/pdpg-bench, port 25499).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

count=${1:-5000}
stack=/tmp/pdbench-nodes
work=$(mktemp -d /tmp/pdbench.XXXXXX)
chmod 755 "$work"
bench_store=postgres
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  tests/mailstack/stop.sh "$stack" >/dev/null 2>&1 || true
  stop_store
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --locked -q
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/postdesk
tests/mailstack/start.sh "$stack" 19000 >/dev/null
# shellcheck disable=SC1091
source "$stack/stack.env"

# desk DIR USER1 USER2: a PostgreSQL desk reading both users' inboxes.
desk() {
  local dir=$1
  mkdir -p "$dir"
  write_config "$dir"
  for user in "$2" "$3"; do
    imap_inbox "$dir" "${user%@*}" "$user"
  done
  use_store "$dir" "$bin"
  printf 'lease_ttl = "3s"\n' >>"$dir/postdesk.toml"
}

# node DIR NAME: a node of the desk in DIR, with its own state directory.
node() {
  local dir=$1 name=$2
  sed "s|^state_dir = .*|state_dir = \"$dir/$name\"|" "$dir/postdesk.toml" >"$dir/$name.toml"
  "$bin" --config "$dir/$name.toml" serve >"$dir/$name.log" 2>&1 &
  pids+=($!)
}

# until_stored T0 TOTAL LOG...: seconds from T0 to the batch line that
# completed TOTAL messages across the logs.
until_stored() {
  python3 - "$@" <<'PY'
import datetime, re, sys, time
t0, total, logs = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
pat = re.compile(r"^(\S+Z) .*stored a batch.* new=(\d+) duplicates=(\d+) quarantined=(\d+)")
deadline = time.time() + 900
while True:
    events = []
    for log in logs:
        with open(log) as f:
            for line in f:
                m = pat.search(line)
                if m:
                    events.append((m[1], int(m[2]) + int(m[3]) + int(m[4])))
    events.sort()
    done = 0
    for at, n in events:
        done += n
        if done >= total:
            end = datetime.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
            print(f"{end - t0:.3f}")
            sys.exit(0)
    if time.time() > deadline:
        sys.exit(f"only {done} of {total} stored after 900 s")
    time.sleep(0.05)
PY
}

stop_nodes() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}

total=$((2 * count))
# One node reading both inboxes.
seed_imap desk11@desk.test "$count" "$work/corpus-desk11"
seed_imap desk12@desk.test "$count" "$work/corpus-desk12"
desk "$work/one" desk11@desk.test desk12@desk.test
t0=$(date +%s.%N)
node "$work/one" a
one=$(until_stored "$t0" "$total" "$work/one/a.log")
stop_nodes

# Two nodes: the second starts with the first; the leases share the inboxes.
seed_imap desk13@desk.test "$count" "$work/corpus-desk13"
seed_imap desk14@desk.test "$count" "$work/corpus-desk14"
desk "$work/two" desk13@desk.test desk14@desk.test
t0=$(date +%s.%N)
node "$work/two" a
node "$work/two" b
two=$(until_stored "$t0" "$total" "$work/two/a.log" "$work/two/b.log")
split=$(grep -c "took the inbox's lease" "$work/two/a.log" || true)
stop_nodes

python3 - "$total" "$one" "$two" "$split" <<'PY'
import sys
total, one, two, split = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"two IMAP inboxes, {total} messages, PostgreSQL: one node {one:.2f} s = {total/one:.0f} msg/s; "
      f"two nodes {two:.2f} s = {total/two:.0f} msg/s; two/one = {one/two:.2f} "
      f"(node a took {split} lease(s))")
PY
echo "machine: $(machine)"
