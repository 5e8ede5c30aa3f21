#!/usr/bin/env bash
# The one command that passes every test on a fresh machine (run as root):
# installs the mail stack's Debian packages (and Chromium, which renders the
# HTML report, cargo-deb, which builds the .deb tests/package.rs installs,
# and PostgreSQL) if missing, starts Dovecot and Postfix on 127.0.0.1 and a
# throw-away PostgreSQL cluster once for the whole run, runs the whole test
# suite against them, and stops them again. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

stack_dir=${POSTDESK_STACK_DIR:-/tmp/pdstack}
# Ports stay below the kernel's ephemeral range (32768 and up on Debian),
# where any client connection may take a port as its local end and make a
# server's listen fail now and then (start.sh refuses such ports). The map:
# sled pass's stack 10000+, PostgreSQL pass's 11000+, the tests' private
# stacks 12000-18993 (sled) and 20000-26993 (PostgreSQL, offset 8000), the
# test cluster 25432, benches/nodes.sh 19000+, benches/imap.sh 31000+.
port_base=${POSTDESK_STACK_PORT_BASE:-10000}
pg_dir=${POSTDESK_PG_DIR:-/tmp/pdpg}
pg_port=${POSTDESK_PG_PORT:-25432}

tests/mailstack/install.sh
tests/install-browser.sh
tests/pg/install.sh
# cargo-deb builds the Debian package that tests/package.rs installs
# (once per machine: about two minutes on 2 cores).
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version 3.8.0
tests/mailstack/start.sh "$stack_dir" "$port_base" >/dev/null
trap 'tests/mailstack/stop.sh "$stack_dir" >/dev/null 2>&1 || true' EXIT
export POSTDESK_MAILSTACK="$stack_dir/stack.json"
tests/pg/start.sh "$pg_dir" "$pg_port" >/dev/null
trap 'tests/mailstack/stop.sh "$stack_dir" >/dev/null 2>&1 || true
      tests/pg/stop.sh "$pg_dir" >/dev/null 2>&1 || true' EXIT
export POSTDESK_TEST_PG="$pg_dir/pg.json"

# Both passes run side by side once everything is built (most of their
# time is daemons and mail servers waiting, not CPU): the PostgreSQL pass
# gets a mail stack of its own, and its tests' private stacks other ports
# (POSTDESK_STACK_PORT_OFFSET), so the two never share a mailbox. Its
# output is kept and printed after the sled pass's.
cargo test --locked --all-targets --no-run "$@"
pg_stack_dir="$stack_dir-pg"
tests/mailstack/start.sh "$pg_stack_dir" $((port_base + 1000)) >/dev/null
trap 'tests/mailstack/stop.sh "$stack_dir" >/dev/null 2>&1 || true
      tests/mailstack/stop.sh "$pg_stack_dir" >/dev/null 2>&1 || true
      tests/pg/stop.sh "$pg_dir" >/dev/null 2>&1 || true' EXIT

# The same tests again on PostgreSQL (issue 20, parametrized, not copied):
# every test desk that does not choose its own [store] keeps its records in
# a database of its own on the test cluster. Only files whose tests open a
# desk's store are here: those with no store (calendar, language_fixtures,
# parse_fixtures, rules, strip, templates, threading_fixtures: pure logic;
# systemd: the unit file) and
# package (it installs the .deb, whose config is sled's) would run the same
# code twice. Not here, and sled's own: faults and full_disk (sled's lock
# and files, a full disk under its state directory; each desk there chooses
# sled, and tests/postgres.rs has the PostgreSQL counterparts), and the
# postgres* files, which run once, against the cluster, on the first pass.
# src/store/ENGINE.md says what runs where.
pg_tests=(admin agent_desk agents automatic backup_formats cli crash
  customers e2e_agents e2e_guards e2e_imap e2e_lifecycle e2e_maildir
  e2e_outbox_faults e2e_outgoing guards hostile languages lifecycle listing
  notify one_path ops ops_secrets privacy rules_reload sentiment stats
  terminal threading)
pg_log=$(mktemp "${TMPDIR:-/tmp}/postdesk-pg-pass.XXXXXX")
POSTDESK_TEST_STORE=postgres POSTDESK_MAILSTACK="$pg_stack_dir/stack.json" \
  POSTDESK_STACK_PORT_OFFSET=8000 cargo test --locked --no-fail-fast \
  $(printf -- '--test %s ' "${pg_tests[@]}") "$@" >"$pg_log" 2>&1 &
pg_pass=$!

# The .deb test (tests/package.rs) spends minutes on a release build: it
# runs beside the passes too, not on the sled pass's path, which is every
# other target (`--all-targets` but tests/package.rs).
deb_log=$(mktemp "${TMPDIR:-/tmp}/postdesk-deb.XXXXXX")
cargo test --locked --no-fail-fast --test package "$@" >"$deb_log" 2>&1 &
deb_test=$!
sled_targets=(--lib --bins --examples --benches)
for f in tests/*.rs; do
  name=$(basename "$f" .rs)
  [ "$name" = package ] || sled_targets+=(--test "$name")
done

sled_log=$(mktemp "${TMPDIR:-/tmp}/postdesk-sled-pass.XXXXXX")
sled_status=0
cargo test --locked --no-fail-fast "${sled_targets[@]}" "$@" 2>&1 | tee "$sled_log" ||
  sled_status=$?
deb_status=0
wait "$deb_test" || deb_status=$?
pg_status=0
wait "$pg_pass" || pg_status=$?
echo
echo "=== the Debian package (tests/package.rs) ==="
cat "$deb_log"
echo
echo "=== the same tests on PostgreSQL (POSTDESK_TEST_STORE=postgres) ==="
cat "$pg_log"

# What failed, last, where a reader of only the tail of this output (a CI
# page) sees it: each failing lane's panics and the names of its failing
# tests, or its last lines when it failed before any test ran.
failed_lane() {
  local name=$1 status=$2 log=$3
  [ "$status" -eq 0 ] && return
  echo
  echo "=== what failed in the $name (exit $status) ==="
  if grep -q '^failures:$' "$log"; then
    # A long panic (a failed build's whole output) keeps its head and its
    # end, where the error is.
    awk '/^failures:$/ {on = 1} on {l[n++] = $0} /^test result:/ {on = 0}
      END {for (i = 0; i < n; i++) if (i < 40 || i >= n - 160) print l[i];
           else if (i == 40) print "[... " n - 200 " lines ...]"}' "$log"
  else
    tail -n 60 "$log"
  fi
}
if [ "$sled_status" -ne 0 ] || [ "$deb_status" -ne 0 ] || [ "$pg_status" -ne 0 ]; then
  # A lane that fails where it passed before may have run out of room.
  echo
  echo "=== the machine at the end ==="
  df -h . "${CARGO_TARGET_DIR:-target}" "${TMPDIR:-/tmp}" 2>&1 | sort -u
  free -m
fi
failed_lane "sled pass" "$sled_status" "$sled_log"
failed_lane "Debian package" "$deb_status" "$deb_log"
failed_lane "PostgreSQL pass" "$pg_status" "$pg_log"
rm -f "$pg_log" "$deb_log" "$sled_log"
echo "sled pass: exit $sled_status; Debian package: exit $deb_status; PostgreSQL pass: exit $pg_status"
[ "$sled_status" -eq 0 ] && [ "$deb_status" -eq 0 ] && [ "$pg_status" -eq 0 ]
