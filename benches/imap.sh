#!/usr/bin/env bash
# IMAP intake, end to end, on a private Dovecot + Postfix stack:
#
#  1. throughput: COUNT generated support messages (2-20 KB) are written
#     straight into a Dovecot user's Maildir/new and indexed; then
#     - mbsync (isync) pulls the mailbox into a local Maildir: the cost of
#       just moving the bytes over IMAPS (FSync no), and with its default
#       fsync of every message (FSync yes);
#     - postdesk serve (release build, after = "seen", the example rules,
#       acknowledgements on) runs from process start until every message
#       is stored;
#     both rates and their ratio are printed, and what each cost in CPU
#     a message: the whole machine's (the mail servers included) and the
#     daemon's own, beside the most the goal of 2x durable mbsync allows
#     (2 cores over twice mbsync's durable rate);
#  2. latency: with postdesk idle in IDLE, LATENCY_COUNT messages are sent
#     one by one over SMTP; for each, the time from the SMTP server's
#     accept to the "stored" log line; median and p99 are printed.
#
#   benches/imap.sh [COUNT] [LATENCY_COUNT]      # default 10000 200
#   POSTDESK_BIN=path benches/imap.sh ...           # measure that build
#   ROUNDS=3 (default): throughput rounds, mbsync and postdesk alternating
#   POSTDESK_BENCH_STORE=postgres: postdesk keeps its desk in PostgreSQL
#     (a fresh database each round on a throw-away cluster; see lib.sh)
#
# Needs root and the stack's packages (tests/mailstack/install.sh installs
# dovecot, postfix, isync). Uses /tmp/pdbench-imap and ports 31000+ (tests/run.sh uses 10000-26993).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

count=${1:-10000}
latency_count=${2:-200}
stack=/tmp/pdbench-imap
port_base=31000
work=$(mktemp -d /tmp/pdbench.XXXXXX)
chmod 755 "$work"
daemon_pid=
cleanup() {
  if [[ -n "$daemon_pid" ]]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  tests/mailstack/stop.sh "$stack" >/dev/null 2>&1 || true
  stop_store
  rm -rf "$work"
}
trap cleanup EXIT

command -v mbsync >/dev/null || { echo "mbsync missing: run tests/mailstack/install.sh" >&2; exit 1; }
# POSTDESK_BIN: a build to measure instead of this checkout's (to compare
# two builds in one sitting).
bin=${POSTDESK_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -q
  bin=${CARGO_TARGET_DIR:-$PWD/target}/release/postdesk
fi

tests/mailstack/start.sh "$stack" "$port_base" >/dev/null
# shellcheck disable=SC1091
source "$stack/stack.env"
user=desk5@desk.test
latency_user=desk6@desk.test

# --- seed: files straight into Maildir/new, then let Dovecot index them ---
seed_imap "$user" "$count" "$work/corpus"
bytes=$seed_bytes

# --- mbsync ------------------------------------------------------------------
# run_mbsync DIR FSYNC: FSync no is the bare cost of moving the bytes;
# yes (mbsync's default) makes every message durable on arrival, as
# postdesk does per batch.
run_mbsync() {
  local dir=$1 fsync=$2
  mkdir -p "$dir/local"
  # mbsync 1.4 does not match IP SANs: Host localhost (resolves to 127.0.0.1).
  cat >"$dir/mbsyncrc" <<EOF
FSync $fsync

IMAPAccount bench
Host localhost
Port $PDSTACK_IMAPS_PORT
User $user
Pass secret
SSLType IMAPS
CertificateFile $PDSTACK_CA_FILE

IMAPStore remote
Account bench

MaildirStore local
Path $dir/local/
Inbox $dir/local/INBOX

Channel bench
Far :remote:INBOX
Near :local:
Sync Pull
Create Near
SyncState *
EOF
  local t0 t1 c0 c1
  c0=$(busy_cpu)
  t0=$(date +%s.%N)
  mbsync -q -c "$dir/mbsyncrc" bench
  t1=$(date +%s.%N)
  c1=$(busy_cpu)
  local got
  got=$(find "$dir/local/INBOX" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)
  [[ "$got" == "$count" ]] || { echo "mbsync pulled $got of $count" >&2; exit 1; }
  python3 -c "print(f'{$t1 - $t0:.3f},{$c1 - $c0:.3f},0')"
}

# --- postdesk ------------------------------------------------------------------
desk_config() {
  local dir=$1 inbox_user=$2
  mkdir -p "$dir"
  write_config "$dir"
  # The maildir inbox of write_config stays (it is empty); the IMAP one
  # is what is measured.
  imap_inbox "$dir" imap "$inbox_user"
  use_store "$dir" "$bin"
}

# Runs serve until COUNT messages are stored; prints seconds from process
# start to the log line of the batch that completed the count, the
# machine's busy CPU seconds meanwhile (to when the count was seen) and
# the daemon's own (0 under perf).
run_postdesk() {
  local dir=$1
  desk_config "$dir" "$user"
  local t0 c0
  c0=$(busy_cpu)
  t0=$(date +%s.%N)
  if [[ -n "${PROFILE:-}" ]]; then
    # PROFILE=FILE: a flat perf profile of the daemon, for finding where
    # the time goes (perf report -i FILE --no-children).
    perf record -q ${PERF_ARGS:-} -F 999 -o "$PROFILE" -- "$bin" --config "$dir/postdesk.toml" serve >"$dir/serve.log" 2>&1 &
  else
    "$bin" --config "$dir/postdesk.toml" serve >"$dir/serve.log" 2>&1 &
  fi
  daemon_pid=$!
  local seconds c1 own=0
  seconds=$(python3 - "$dir/serve.log" "$count" "$t0" <<'PY'
import datetime, re, sys, time
log, count, t0 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pat = re.compile(r"^(\S+Z) .*stored a batch.* new=(\d+) duplicates=(\d+) quarantined=(\d+)")
deadline = time.time() + 600
while True:
    total, last = 0, None
    with open(log) as f:
        for line in f:
            m = pat.search(line)
            if m:
                total += int(m[2]) + int(m[3]) + int(m[4])
                last = m[1]
    if total >= count:
        end = datetime.datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp()
        print(f"{end - t0:.3f}")
        break
    if time.time() > deadline:
        sys.exit(f"only {total} of {count} stored after 600 s")
    time.sleep(0.05)
PY
)
  c1=$(busy_cpu)
  [[ -n "${PROFILE:-}" ]] || own=$(process_cpu "$daemon_pid")
  python3 -c "print(f'$seconds,{$c1 - $c0:.3f},$own')"
  # Under perf, stop the daemon itself; perf then writes its profile.
  pkill -TERM -P "$daemon_pid" 2>/dev/null || kill "$daemon_pid"
  wait "$daemon_pid" || true
  daemon_pid=
  # SERVE_LOG=FILE keeps the daemon's log of the last round (with
  # POSTDESK_LOG=debug: how long each batch took in each stage).
  if [[ -n "${SERVE_LOG:-}" ]]; then cp "$dir/serve.log" "$SERVE_LOG"; fi
}

# Alternating rounds, so a busy moment on the machine hits both tools.
rounds=${ROUNDS:-3}
times=()
for r in $(seq 1 "$rounds"); do
  times+=("$(run_mbsync "$work/mbn$r" no)" "$(run_mbsync "$work/mby$r" yes)" "$(run_postdesk "$work/pd$r")")
done
python3 - "$count" "$bytes" "${times[@]}" <<'PY'
import statistics, sys
count, size = int(sys.argv[1]), int(sys.argv[2])
runs = [tuple(float(v) for v in x.split(",")) for x in sys.argv[3:]]
t = [r[0] for r in runs]
bare, durable, pd = t[0::3], t[1::3], t[2::3]
ms = lambda cpu: f"{cpu / count * 1000:.3f} ms"
rate = lambda r: f"{r[0]:.2f} s = {count/r[0]:.0f} msg/s, {ms(r[1])} of machine CPU a message"
print(f"corpus: {count} messages, {size/1e6:.1f} MB")
for i in range(len(pd)):
    n, y, p = runs[3 * i : 3 * i + 3]
    print(f"round {i+1}: mbsync FSync no {rate(n)}; mbsync FSync yes {rate(y)}; "
          f"postdesk {rate(p)}" + (f" (the daemon's own {ms(p[2])})" if p[2] else ""))
b, d, p = (statistics.median(x) for x in (bare, durable, pd))
print(f"median: mbsync FSync no {count/b:.0f} msg/s, mbsync FSync yes {count/d:.0f} msg/s, "
      f"postdesk {count/p:.0f} msg/s; postdesk/mbsync = {b/p:.2f} (FSync no), {d/p:.2f} (FSync yes)")
# 2x durable mbsync leaves each message at most this much of the
# machine's two cores, for everything: the daemon, Dovecot, Postfix.
cores = __import__("os").cpu_count()
budget = cores / (2 * count / d) * 1000
machine = statistics.median(r[1] for r in runs[2::3]) / count * 1000
own = [r[2] for r in runs[2::3] if r[2]]
print(f"CPU a message: postdesk's whole run {machine:.3f} ms of machine CPU"
      + (f", the daemon's own {statistics.median(own) / count * 1000:.3f} ms" if own else "")
      + f"; 2x durable mbsync allows at most {budget:.3f} ms ({cores} cores / {2 * count / d:.0f} msg/s)")
PY

# --- latency: SMTP accept -> stored, with IDLE ----------------------------------
ldir=$work/latency
desk_config "$ldir" "$latency_user"
"$bin" --config "$ldir/postdesk.toml" serve >"$ldir/serve.log" 2>&1 &
daemon_pid=$!
python3 - "$ldir/serve.log" "$PDSTACK_SMTP_PORT" "$latency_user" "$latency_count" <<'PY'
import datetime, re, smtplib, statistics, sys, time
from email.message import EmailMessage
log, port, to, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
pat = re.compile(r"^(\S+Z) .*stored a batch.* new=(\d+)")
def stored_lines():
    with open(log) as f:
        return [m for m in map(pat.search, f) if m]
deadline = time.time() + 30
while "IMAP inbox connected" not in open(log).read():
    if time.time() > deadline:
        sys.exit("the IMAP inbox did not connect:\n" + open(log).read())
    time.sleep(0.05)
time.sleep(1)  # into IDLE
seen = len(stored_lines())
lat = []
for i in range(n):
    m = EmailMessage()
    m["From"] = f"Latency Customer <lat{i}@customer.test>"
    m["To"] = to
    m["Subject"] = f"Latency probe {i}"
    m["Message-ID"] = f"<latency-{i}-{time.time_ns()}@customer.test>"
    m.set_content("Is anybody there?\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.send_message(m)
        accepted = time.time()  # after the server's 250 to DATA
    limit = time.time() + 30
    while True:
        lines = stored_lines()
        if len(lines) > seen:
            seen = len(lines)
            at = datetime.datetime.fromisoformat(lines[-1][1].replace("Z", "+00:00")).timestamp()
            lat.append(at - accepted)
            break
        if time.time() > limit:
            sys.exit(f"message {i} not stored within 30 s")
        time.sleep(0.002)
lat.sort()
p99 = lat[min(len(lat) - 1, int(round(0.99 * len(lat))) - 1)]
print(f"latency SMTP accept -> stored (IDLE), {n} messages one by one: "
      f"median {statistics.median(lat)*1000:.0f} ms, p99 {p99*1000:.0f} ms, "
      f"min {lat[0]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms")
PY
echo "machine: $(machine)"
