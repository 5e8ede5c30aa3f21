#!/usr/bin/env bash
# Start a private, throw-away PostgreSQL cluster for postdesk's tests.
#
#   start.sh [DIR] [PORT]      (defaults: /tmp/pdpg 25432)
#
# The cluster lives in DIR/data, listens on 127.0.0.1:PORT and on a unix
# socket in DIR, with fsync on (the tests check durability, not speed).
# It has a role `postdesk` (password login, may create databases: each test
# makes its own) owning a database `postdesk`. Writes DIR/pg.json with the
# URL and prints its path. Rerunning on the same DIR starts from scratch.
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# `postgres` user that Debian's package creates, and DIR is handed to it.
set -euo pipefail

DIR=${1:-/tmp/pdpg}
PORT=${2:-25432}
die() { printf 'pg/start.sh: %s\n' "$*" >&2; exit 1; }

if ! [[ "$PORT" =~ ^[0-9]+$ ]] || ((PORT < 1024 || PORT > 65535)); then
  die "PORT must be a number in 1024..65535, got '$PORT'"
fi
DIR=$(realpath -m -- "$DIR")
[[ "$DIR" != / ]] || die "refusing to use / as the cluster directory"
# The socket is DIR/.s.PGSQL.PORT: unix socket paths end at 107 bytes.
((${#DIR} <= 80)) || die "DIR is too long for a unix socket (${#DIR} > 80 chars): $DIR"

BIN=
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && { BIN=$d; break; }
done
[[ -n "$BIN" ]] || die "no PostgreSQL server found: run tests/pg/install.sh first"

# A previous cluster in DIR: stop it first.
if [[ -e "$DIR/.pdpg" ]]; then
  "$(dirname "${BASH_SOURCE[0]}")/stop.sh" "$DIR" >/dev/null 2>&1 || true
fi
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_open "$PORT" && die "port $PORT on 127.0.0.1 is already in use"
# A port in the kernel's ephemeral range may be held at any moment by a
# client connection's local end: the server's listen would fail at random.
if read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null \
  && ((PORT >= eph_lo && PORT <= eph_hi)); then
  die "port $PORT is in this machine's ephemeral range $eph_lo-$eph_hi (net.ipv4.ip_local_port_range); choose a PORT below $eph_lo"
fi

rm -rf -- "$DIR/data" "$DIR/pg.json" "$DIR/openssl.log"
mkdir -p -- "$DIR/data"
chmod 700 "$DIR/data"

as_owner=()
if ((EUID == 0)); then
  id postgres >/dev/null 2>&1 || die "no postgres user: run tests/pg/install.sh first"
  chown postgres: "$DIR" "$DIR/data"
  as_owner=(runuser -u postgres --)
fi

PASSWORD=secret
pwfile=$(mktemp "$DIR/.pw.XXXXXX")
printf '%s\n' "$PASSWORD" >"$pwfile"
((EUID == 0)) && chown postgres: "$pwfile"

# Superuser `pdadmin` (for the scripts), trust only on the socket in DIR,
# which only the cluster's owner (and root) can reach; TCP needs a password.
if ! "${as_owner[@]}" "$BIN/initdb" -D "$DIR/data" -U pdadmin --pwfile="$pwfile" \
  -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 \
  >"$DIR/initdb.log" 2>&1; then
  rm -f "$pwfile"
  die "initdb failed, see $DIR/initdb.log"
fi
rm -f "$pwfile"

# TLS with a CA of its own (DIR/tls/ca.pem), so tests can check that
# `tls = "require"` verifies the server: its certificate names 127.0.0.1
# and localhost. Plain connections stay allowed (tls = "disable"/"prefer").
TLS=$DIR/tls
rm -rf -- "$TLS"
mkdir -p -- "$TLS"
tls_fail() { cat "$DIR/openssl.log" >&2; die "making the test certificates failed"; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$TLS/ca.key" -out "$TLS/ca.pem" -days 3650 \
  -subj "/CN=postdesk test PostgreSQL CA $PORT" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"$DIR/openssl.log" || tls_fail
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$TLS/server.key" -out "$TLS/server.csr" -subj "/CN=localhost" \
  2>>"$DIR/openssl.log" || tls_fail
cat >"$TLS/server.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EXT
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
  -set_serial "0x$(openssl rand -hex 8)" -days 825 -extfile "$TLS/server.ext" \
  -out "$TLS/server.pem" 2>>"$DIR/openssl.log" || tls_fail
rm -f "$TLS/server.csr" "$TLS/ca.key"
chmod 644 "$TLS/ca.pem" "$TLS/server.pem"
chmod 600 "$TLS/server.key"
((EUID == 0)) && chown postgres: "$TLS/server.key" "$TLS/server.pem"

cat >>"$DIR/data/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = '$TLS/server.pem'
ssl_key_file = '$TLS/server.key'
CONF
cat >>"$DIR/data/postgresql.conf" <<CONF
# tests/pg/start.sh
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
unix_socket_permissions = 0700
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 64MB
logging_collector = off
log_min_messages = warning
CONF

printf 'PORT=%s\n' "$PORT" >"$DIR/.pdpg"

# pg_ctl -w waits until the server accepts connections. The server must
# not inherit our stdout: a caller capturing it would wait for ever.
if ! "${as_owner[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
  </dev/null >"$DIR/pg_ctl.log" 2>&1; then
  die "the server did not start, see $DIR/server.log and $DIR/pg_ctl.log"
fi

psql_admin() {
  "${as_owner[@]}" "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U pdadmin -d postgres "$@"
}
psql_admin -c "CREATE ROLE postdesk LOGIN CREATEDB PASSWORD '$PASSWORD'" </dev/null >/dev/null ||
  die "cannot create the postdesk role"
psql_admin -c "CREATE DATABASE postdesk OWNER postdesk" </dev/null >/dev/null ||
  die "cannot create the postdesk database"
# The erasure tests scan the table files for what was erased: a CHECKPOINT
# first puts on disk what is still only in shared buffers.
psql_admin -c "GRANT pg_checkpoint TO postdesk" </dev/null >/dev/null ||
  die "cannot grant pg_checkpoint to postdesk"

URL="postgres://postdesk:$PASSWORD@127.0.0.1:$PORT/postdesk"
cat >"$DIR/pg.json" <<JSON
{
  "url": "$URL",
  "host": "127.0.0.1",
  "port": $PORT,
  "user": "postdesk",
  "password": "$PASSWORD",
  "database": "postdesk",
  "socket_dir": "$DIR",
  "ca_file": "$TLS/ca.pem",
  "bin": "$BIN"
}
JSON
chmod 644 "$DIR/pg.json"
printf '%s\n' "$DIR/pg.json"
