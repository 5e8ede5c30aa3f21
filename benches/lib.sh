# Shared by the end-to-end benchmark scripts: a scratch desk in $work.
# shellcheck shell=bash

# write_config DIR: a desk whose state and inbox live in DIR.
write_config() {
  local dir=$1
  cat >"$dir/postdesk.toml" <<TOML
[desk]
name = "Bench Desk"
address = "support@desk.test"
ticket_prefix = "B"
state_dir = "$dir/state"

[[inbox]]
name = "main"
kind = "maildir"
path = "$dir/inbox"

[outgoing]
kind = "file"
spool = "$dir/outgoing"

# The example rule file, so intake pays for realistic triage.
[rules]
file = "$PWD/config/rules.toml"

[templates]
dir = "$PWD/templates"

[[agent]]
email = "alice@example.com"
queues = ["billing", "general", "account"]

[[queue]]
name = "general"
[[queue]]
name = "billing"
[[queue]]
name = "account"
[[queue]]
name = "tech"

[sla.urgent]
first_response = "1h"
TOML
}

# imap_inbox DIR NAME USER: appends to the desk in DIR an IMAP inbox NAME
# reading USER's INBOX on the mail stack whose stack.env the script
# sourced, as the benchmarks measure it: marked seen, polled once a
# minute (the benchmarks count the intake of mail already there). The
# password goes to DIR/imap.pw.
imap_inbox() {
  local dir=$1 name=$2 user=$3
  printf 'secret\n' >"$dir/imap.pw"
  cat >>"$dir/postdesk.toml" <<EOF

[[inbox]]
name = "$name"
kind = "imap"
host = "127.0.0.1"
port = $PDSTACK_IMAPS_PORT
tls = "implicit"
ca_file = "$PDSTACK_CA_FILE"
username = "$user"
password_file = "$dir/imap.pw"
after = "seen"
poll = "60s"
EOF
}

# busy_cpu: seconds of CPU the whole machine has been busy since boot
# (user, nice, system, irq, softirq, steal from /proc/stat; all cores
# summed). Two readings bound what a run cost everything on the machine,
# the mail servers included.
busy_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu / {print ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat
}

# process_cpu PID: seconds of CPU (user + system) process PID has used.
process_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat"
}

# machine: one line naming the CPU, cores and memory, for RESULTS.md.
machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
  printf '%s, %s cores, %s RAM, %s\n' "$cpu" "$(nproc)" \
    "$(free -h | awk '/^Mem:/{print $2}')" "$(uname -sr)"
}

# The store a bench desk keeps its records in: sled (the default), or
# PostgreSQL with POSTDESK_BENCH_STORE=postgres (issue 20), on a
# throw-away cluster this script starts (tests/pg/start.sh, fsync on, in
# /tmp/pdpg-bench on port 25499) unless POSTDESK_BENCH_PG names the
# pg.json of one already running. Each desk gets a fresh database.
bench_store=${POSTDESK_BENCH_STORE:-sled}
bench_pg_started=

# use_store DIR BIN: points the desk in DIR at its store and prepares it
# (`postdesk migrate` on PostgreSQL). Call after write_config.
use_store() {
  local dir=$1 bin=$2 pg db
  [ "$bench_store" = postgres ] || return 0
  pg=${POSTDESK_BENCH_PG:-}
  if [ -z "$pg" ]; then
    pg=/tmp/pdpg-bench/pg.json
    if [ -z "$bench_pg_started" ]; then
      tests/pg/install.sh >/dev/null
      tests/pg/start.sh /tmp/pdpg-bench 25499 >/dev/null
      bench_pg_started=1
    fi
  fi
  db="pdbench_$(basename "$dir" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '_')"
  python3 - "$pg" "$db" "$dir" <<'PY'
import json, os, subprocess, sys
pg, db, d = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
env = dict(os.environ, PGPASSWORD=pg["password"])
for sql in (f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db}"):
    subprocess.run([os.path.join(pg["bin"], "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-h", pg["host"], "-p", str(pg["port"]), "-U", pg["user"],
                    "-d", "postdesk", "-c", sql], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
url = f"postgres://{pg['user']}:{pg['password']}@{pg['host']}:{pg['port']}/{db}"
fd = os.open(os.path.join(d, "db.url"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, url.encode())
os.close(fd)
with open(os.path.join(d, "postdesk.toml"), "a") as f:
    f.write(f'\n[store]\nkind = "postgres"\nurl_file = "{d}/db.url"\n'
            f'ca_file = "{pg["ca_file"]}"\npool = 8\n')
PY
  "$bin" --config "$dir/postdesk.toml" migrate >/dev/null
}

# store_mb DIR: MiB the desk's records take: sled's directory, or the
# PostgreSQL database (tables, indexes and TOAST).
store_mb() {
  local dir=$1
  if [ "$bench_store" = postgres ]; then
    python3 - "$dir" <<'PY'
import subprocess, sys, urllib.parse
url = open(sys.argv[1] + "/db.url").read().strip()
u = urllib.parse.urlparse(url)
out = subprocess.run(["psql", "-X", "-A", "-t", "-h", u.hostname, "-p", str(u.port), "-U", u.username,
                      "-d", u.path.lstrip("/"), "-c", "SELECT pg_database_size(current_database())"],
                     env={"PGPASSWORD": u.password, "PATH": "/usr/bin:/bin"},
                     capture_output=True, text=True, check=True).stdout
print(int(out.strip()) // 1048576)
PY
  else
    du -sm "$dir/state/store" | cut -f1
  fi
}

# store_parts DIR: on PostgreSQL, what each table takes with its indexes
# and TOAST, largest first, in MiB (sled's directory is one log: nothing).
store_parts() {
  [ "$bench_store" = postgres ] || return 0
  python3 - "$1" <<'PY'
import subprocess, sys, urllib.parse
url = open(sys.argv[1] + "/db.url").read().strip()
u = urllib.parse.urlparse(url)
sql = ("SELECT relname, round(pg_total_relation_size(oid) / 1048576.0, 1), "
       "round(pg_relation_size(oid) / 1048576.0, 1), "
       "round(pg_indexes_size(oid) / 1048576.0, 1) FROM pg_class "
       "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
       "ORDER BY pg_total_relation_size(oid) DESC LIMIT 6")
out = subprocess.run(["psql", "-X", "-A", "-t", "-F", " ", "-h", u.hostname, "-p", str(u.port),
                      "-U", u.username, "-d", u.path.lstrip("/"), "-c", sql],
                     env={"PGPASSWORD": u.password, "PATH": "/usr/bin:/bin"},
                     capture_output=True, text=True, check=True).stdout
for line in out.split("\n"):
    if line.strip():
        name, total, heap, idx = line.split()
        print(f"    {name}: {total} MiB (table {heap}, indexes {idx})")
PY
}

# stop_store: stops the cluster use_store started (call from the EXIT trap).
stop_store() {
  [ -z "$bench_pg_started" ] || tests/pg/stop.sh /tmp/pdpg-bench >/dev/null 2>&1 || true
}

# seed_imap USER COUNT CORPUS: COUNT generated support messages (2-20 KB)
# straight into USER's Maildir/new on the mail stack whose stack.env the
# script sourced, then indexed by Dovecot. CORPUS is a scratch Maildir to
# generate them in (on the stack's file system: a rename per file, as an
# MTA delivers). Sets seed_bytes to their size. Every body is read once:
# Dovecot caches what it has parsed and the files land in the page cache,
# so a benchmark's first round finds what the later ones do (without it,
# imap.sh's round 1 mbsync ran 3-4 times slower than the rest).
seed_bytes=
seed_imap() {
  local user=$1 count=$2 corpus=$3 local_part=${1%@*}
  python3 benches/gen_corpus.py maildir "$corpus" --count "$count" --crlf >/dev/null
  seed_bytes=$(du -sb "$corpus/new" | cut -f1)
  chown -R "$PDSTACK_MAIL_UID:$PDSTACK_MAIL_GID" "$corpus"
  find "$corpus/new" -type f -exec mv -t "$PDSTACK_MAILDIR_ROOT/desk.test/$local_part/Maildir/new/" {} +
  python3 - "$PDSTACK_IMAPS_PORT" "$PDSTACK_CA_FILE" "$user" "$count" <<'PY'
import imaplib, ssl, sys
port, ca, user, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl.create_default_context(cafile=ca))
m.login(user, "secret")
typ, data = m.select("INBOX", readonly=True)
assert int(data[0]) == count, data
m.uid("fetch", "1:*", "(UID RFC822.SIZE FLAGS)")
m.uid("fetch", "1:*", "(BODY.PEEK[])")
m.logout()
PY
}
