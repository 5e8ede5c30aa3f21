#!/usr/bin/env bash
# Start a private, throw-away mail stack (Dovecot 2.3 + Postfix 3.7) for
# postdesk's end-to-end tests.
#
#   start.sh [DIR] [PORT_BASE]      (defaults: /tmp/pdstack 24000)
#
# Everything lives in DIR and listens on 127.0.0.1 only, at PORT_BASE + a
# fixed offset, so several stacks can run side by side. Prints the path of
# DIR/stack.json on success. Rerunning on the same DIR restarts from scratch
# (mail, queue and config are recreated; the previous logs go to log.prev/).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${1:-/tmp/pdstack}
PORT_BASE=${2:-24000}

die() { printf 'start.sh: %s\n' "$*" >&2; exit 1; }

((EUID == 0)) || die "must run as root (Dovecot/Postfix drop privileges per user)"
if ! command -v dovecot >/dev/null || ! command -v postfix >/dev/null; then
  die "dovecot/postfix missing: run tests/mailstack/install.sh first"
fi
if ! [[ "$PORT_BASE" =~ ^[0-9]+$ ]] || ((PORT_BASE < 1024 || PORT_BASE > 64500)); then
  die "PORT_BASE must be a number in 1024..64500, got '$PORT_BASE'"
fi

# Postfix wants an absolute -c path and Dovecot resolves paths in its config
# literally, so normalise once here.
DIR=$(realpath -m -- "$DIR")
[[ "$DIR" != / ]] || die "refusing to use / as the stack directory"
# Unix socket paths are limited to 107 bytes; Dovecot's longest socket name
# under base_dir is about 30, so keep the directory short.
((${#DIR} <= 60)) || die "DIR is too long for unix sockets (${#DIR} > 60 chars): $DIR"

# Offsets echo the standard port numbers so they are easy to remember.
# The Dovecot auth listener (Postfix SMTP AUTH) has no standard port: +12.
IMAP_PORT=$((PORT_BASE + 143))
IMAPS_PORT=$((PORT_BASE + 993))
LMTP_PORT=$((PORT_BASE + 24))
SMTP_PORT=$((PORT_BASE + 25))
SUBMISSION_PORT=$((PORT_BASE + 587))
SMTPS_PORT=$((PORT_BASE + 465))
SASL_PORT=$((PORT_BASE + 12))
ALL_PORTS=("$IMAP_PORT" "$IMAPS_PORT" "$LMTP_PORT" "$SASL_PORT" "$SMTP_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT")

HOST=127.0.0.1
PASSWORD=secret
# A uid/gid with no /etc/passwd entry: Dovecot takes it from the passwd-file,
# so the tests never depend on (or change) the machine's user database.
MAIL_UID=5000
MAIL_GID=5000
DOMAIN_DESK=desk.test
DOMAIN_CUSTOMER=customer.test
USERS=(
  "support@$DOMAIN_DESK" "helpdesk@$DOMAIN_DESK" "alice@$DOMAIN_DESK"
  "bob@$DOMAIN_DESK" "admin@$DOMAIN_DESK" "catchall@$DOMAIN_DESK"
  "carol@$DOMAIN_CUSTOMER" "dave@$DOMAIN_CUSTOMER" "erin@$DOMAIN_CUSTOMER"
  "frank@$DOMAIN_CUSTOMER"
  # tests/e2e_guards.rs: two more desks and a customer whose mailbox a
  # script answers automatically (tests/support/autoresponder.py).
  "guards1@$DOMAIN_DESK" "guards2@$DOMAIN_DESK" "autoresponder@$DOMAIN_CUSTOMER"
  # tests/e2e_imap.rs: batches cut by bytes.
  "bigmail@$DOMAIN_DESK"
  # tests/e2e_agents.rs: collisions, a desk with two agents of its own.
  "collide@$DOMAIN_DESK" "ann@$DOMAIN_DESK" "ben@$DOMAIN_DESK" "cora@$DOMAIN_CUSTOMER"
  # tests/e2e_agents.rs: a German customer and a canned answer.
  "sprache@$DOMAIN_DESK" "ute@$DOMAIN_DESK" "hans@$DOMAIN_CUSTOMER"
)
# One desk mailbox and a few customers per end-to-end test, so tests running
# in parallel never read each other's mail.
for i in $(seq 1 20); do
  USERS+=("desk$i@$DOMAIN_DESK" "cust$i@$DOMAIN_CUSTOMER")
done
CATCHALL="catchall@$DOMAIN_DESK"

MARKER=$DIR/.pdstack
TLS=$DIR/tls
DC=$DIR/dovecot
RUN=$DIR/run        # Dovecot base_dir: holds unix sockets, so keep it short
PF=$DIR/postfix
PF_ETC=$PF/etc
MAIL=$DIR/mail
LOG=$DIR/log

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- reuse or claim DIR ------------------------------------------------------
if [[ -e "$MARKER" ]]; then
  # A previous stack (running or not) in this DIR: stop it so reruns work.
  "$HERE/stop.sh" "$DIR" >&2
elif [[ -d "$DIR" ]] && [[ -n "$(ls -A -- "$DIR")" ]]; then
  # Never wipe a directory we did not create.
  die "$DIR exists, is not empty and is not a mailstack dir (no .pdstack); pick another DIR"
fi

# Someone else (another stack, a system daemon) on our ports would make the
# readiness check below pass against the wrong server.
busy=()
for p in "${ALL_PORTS[@]}"; do
  if port_open "$p"; then busy+=("$p"); fi
done
((${#busy[@]} == 0)) || die "ports already in use on 127.0.0.1: ${busy[*]} (another stack? try another PORT_BASE)"

# A port in the kernel's ephemeral range may be taken at any moment as the
# local end of some client's connection (a test's, PostgreSQL's): the
# listener then fails with "Address already in use" only now and then.
# Refuse such a PORT_BASE outright rather than be flaky.
if read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
  for p in "${ALL_PORTS[@]}"; do
    if ((p >= eph_lo && p <= eph_hi)); then
      die "port $p is in this machine's ephemeral range $eph_lo-$eph_hi (net.ipv4.ip_local_port_range), where client connections take their local ports; choose a PORT_BASE with PORT_BASE+993 below $eph_lo"
    fi
  done
fi

mkdir -p "$DIR"
# The daemons drop privileges (dovenull, postfix, uid $MAIL_UID) and must
# still traverse DIR and every parent to reach sockets, queue and Maildirs
# (/root/... fails in odd ways deep inside Dovecot otherwise).
chmod 755 "$DIR"
parent=$(dirname -- "$DIR")
while [[ "$parent" != / ]]; do
  if ! ((8#$(stat -c %a -- "$parent") & 1)); then
    die "$parent is not world-traversable (o+x); the daemons could not reach $DIR"
  fi
  parent=$(dirname -- "$parent")
done
rm -rf -- "$TLS" "$DC" "$RUN" "$PF" "$MAIL" "$DIR/log.prev" "$DIR/stack.env" "$DIR/stack.json"
if [[ -d "$LOG" ]]; then mv -- "$LOG" "$DIR/log.prev"; fi
printf 'PORT_BASE=%s\n' "$PORT_BASE" >"$MARKER"
mkdir -p "$TLS" "$DC" "$RUN" "$PF_ETC" "$PF/queue" "$PF/data" "$MAIL" "$LOG"
# "postfix start" creates the queue's subdirectories (post-install
# create-missing) but not the queue directory itself.
chown postfix: "$PF/data"

# --- TLS: tiny CA + leaf -----------------------------------------------------
# rustls rejects a self-signed CA:TRUE certificate used as a server
# certificate (CaUsedAsEndEntity), so tests trust this CA and the servers
# present a CA:FALSE leaf. P-256 keys: generated in milliseconds, unlike RSA.
tls_fail() {
  cat "$LOG/openssl.log" >&2
  die "making the test certificates failed"
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$TLS/ca.key" -out "$TLS/ca.pem" -days 3650 \
  -subj "/CN=postdesk test CA $PORT_BASE" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"$LOG/openssl.log" || tls_fail
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$TLS/server.key" -out "$TLS/server.csr" -subj "/CN=localhost" \
  2>>"$LOG/openssl.log" || tls_fail
cat >"$TLS/server.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
  -set_serial "0x$(openssl rand -hex 8)" -days 825 -extfile "$TLS/server.ext" \
  -out "$TLS/server.pem" 2>>"$LOG/openssl.log" || tls_fail
chmod 600 "$TLS/ca.key" "$TLS/server.key"
chmod 644 "$TLS/ca.pem" "$TLS/server.pem"
rm -f "$TLS/server.csr"

# --- users and Maildirs ------------------------------------------------------
# Maildirs exist before the first delivery so a test can start watching
# Maildir/new (inotify) or SELECT INBOX right away.
: >"$DC/users"
for u in "${USERS[@]}"; do
  local_part=${u%@*} domain=${u#*@}
  home=$MAIL/$domain/$local_part
  # passwd-file: user:password:uid:gid:gecos:home:shell:extra. Without a
  # uid/gid Dovecot silently skips the line as a userdb entry.
  printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$u" "$PASSWORD" "$MAIL_UID" "$MAIL_GID" "$home" >>"$DC/users"
  mkdir -p "$home/Maildir/cur" "$home/Maildir/new" "$home/Maildir/tmp"
done
chmod 640 "$DC/users"
chgrp dovecot "$DC/users"
# The mail processes run as $MAIL_UID and create index/cache files (and, for
# a user without a Maildir, whole directories) under here.
chown -R "$MAIL_UID:$MAIL_GID" "$MAIL"

# --- Dovecot -----------------------------------------------------------------
DH_LINE=
if [[ -r /usr/share/dovecot/dh.pem ]]; then DH_LINE="ssl_dh = </usr/share/dovecot/dh.pem"; fi
cat >"$DC/dovecot.conf" <<EOF
# Generated by tests/mailstack/start.sh for a throw-away test stack.
# Dovecot 2.3 syntax (2.4 renamed most settings).
instance_name = pdstack-$PORT_BASE
base_dir = $RUN
state_dir = $DC/state
log_path = $LOG/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1

ssl = yes
ssl_cert = <$TLS/server.pem
ssl_key = <$TLS/server.key
$DH_LINE

# Tests log in with plain passwords over plain IMAP on loopback.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
# Dovecot delays every failed login by 2 s by default; tests that check the
# wrong-password path should not pay for that.
auth_failure_delay = 0

recipient_delimiter = +
mail_location = maildir:$MAIL/%d/%n/Maildir
# Tests do not need crash safety; skipping fsync speeds up bulk deliveries.
mail_fsync = never
# Parallel tests open many sessions for the same user from 127.0.0.1.
mail_max_userip_connections = 200

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $DC/users
}
# XOAUTH2 / OAUTHBEARER go here later: add "xoauth2 oauthbearer" to
# auth_mechanisms and a second passdb, e.g.
#   passdb {
#     driver = oauth2
#     mechanisms = xoauth2 oauthbearer
#     args = $DC/oauth2.conf.ext    # introspection_url, tokeninfo_url, ...
#   }
# (with a local token endpoint; the userdb below stays as is).
userdb {
  driver = passwd-file
  args = username_format=%Lu $DC/users
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
  # One login process per connection (the default) caps concurrent TLS
  # sessions at process_limit and costs a fork per login; reuse a few.
  service_count = 0
  process_min_avail = 2
}

service imap {
  # Default is 100 sessions in total, below the per-user limit above.
  process_limit = 500
}

service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}

service auth {
  # Postfix's smtpd_sasl_type = dovecot talks to this (auth-client protocol).
  inet_listener sasl {
    address = 127.0.0.1
    port = $SASL_PORT
  }
}

service anvil {
  # After one failed login the per-IP penalty would slow every later login
  # from 127.0.0.1, i.e. from every test.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

service stats {
  # imap/lmtp run as uid $MAIL_UID, which is not in the dovecot group.
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
mkdir -p "$DC/state"
if ! doveconf -c "$DC/dovecot.conf" -n >/dev/null 2>"$LOG/doveconf.err"; then
  cat "$LOG/doveconf.err" >&2
  die "Dovecot config is invalid ($DC/dovecot.conf)"
fi

# --- Postfix -----------------------------------------------------------------
cat >"$PF_ETC/main.cf" <<EOF
# Generated by tests/mailstack/start.sh for a throw-away test stack.
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
# Postfix writes its log itself (no syslog here); the file must sit under
# one of these prefixes or postlogd refuses it.
maillog_file = $LOG/postfix.log
maillog_file_prefixes = $LOG

myhostname = mail.$DOMAIN_DESK
mydomain = $DOMAIN_DESK
myorigin = \$myhostname
# No local delivery at all: every address is virtual or trapped.
mydestination =
local_transport = error:local delivery is disabled in the test stack
# The built-in defaults point at /etc/aliases.db and NIS, which do not exist
# here and only produce log errors.
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
# No network: never try DNS for client names.
smtpd_peername_lookup = no
lmtp_host_lookup = native
smtp_host_lookup = native

# Our two domains go to Dovecot over LMTP. virtual_mailbox_maps is left
# empty on purpose: Postfix accepts any local part, and Dovecot refuses
# unknown users at RCPT time, so Postfix generates a real DSN to the sender.
virtual_mailbox_domains = $DOMAIN_DESK $DOMAIN_CUSTOMER
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
recipient_delimiter = +
# Every other recipient is rewritten to $CATCHALL, so replies to
# "external" customers are visible and nothing leaves the machine. The
# default virtual_alias_domains (= the alias map) would make Postfix treat
# the regexp as a domain list and refuse real users: keep it empty.
virtual_alias_maps = regexp:$PF_ETC/virtual_alias.regexp
virtual_alias_domains =
relay_domains =
default_transport = error:mail outside the test domains is disabled
relay_transport = error:mail outside the test domains is disabled

# Dovecot answers SMTP AUTH; enabled per service in master.cf.
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$SASL_PORT
smtpd_sasl_auth_enable = no
smtpd_tls_chain_files = $TLS/server.key, $TLS/server.pem
smtpd_tls_security_level = may
lmtp_tls_security_level = none

# Test traffic is bursty and from one IP: do not throttle it.
in_flow_delay = 0
smtpd_error_sleep_time = 0
message_size_limit = 52428800
virtual_mailbox_limit = 0
biff = no
EOF

cat >"$PF_ETC/virtual_alias.regexp" <<EOF
# Anything not addressed to our test domains lands in $CATCHALL.
!/@($DOMAIN_DESK|$DOMAIN_CUSTOMER)\$/	$CATCHALL
EOF

# chroot off everywhere: a chroot would need copies of /etc files per stack.
cat >"$PF_ETC/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtp
127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
# Postfix daemons treat a config file whose mtime is in the current second
# as "possibly still being written" and restart/wait; backdating avoids
# seconds of start-up delay.
touch -d '-10 seconds' "$PF_ETC/main.cf" "$PF_ETC/master.cf" "$PF_ETC/virtual_alias.regexp"

# --- start -------------------------------------------------------------------
# Daemons must not inherit our stdout/stderr: a caller capturing our output
# (e.g. Rust Command::output()) would otherwise wait for EOF forever.
start_fail() {
  printf 'start.sh: %s\n' "$1" >&2
  for f in "$LOG"/*; do
    [[ -f "$f" ]] || continue
    printf '==== tail %s ====\n' "$f" >&2
    tail -n 30 -- "$f" >&2
  done
  "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
  exit 1
}

dovecot -c "$DC/dovecot.conf" </dev/null >>"$LOG/dovecot-start.log" 2>&1 ||
  start_fail "dovecot failed to start"
# Postfix reports start-up errors only to a tty or its own log.
postfix -c "$PF_ETC" start </dev/null >>"$LOG/postfix-start.log" 2>&1 ||
  start_fail "postfix failed to start"

deadline=$((SECONDS + 20))
for p in "${ALL_PORTS[@]}"; do
  until port_open "$p"; do
    ((SECONDS < deadline)) || start_fail "port $p on 127.0.0.1 not accepting after 20 s"
    sleep 0.05
  done
done

# --- describe the stack for tests -------------------------------------------
json_escape() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '%s' "$s"
}
user_list=$(
  IFS=,
  printf '%s' "${USERS[*]}"
)
# key, value, kind (s = string, n = number); the env file uses PDSTACK_<KEY>.
entries=(
  dir "$DIR" s
  host "$HOST" s
  port_base "$PORT_BASE" n
  imap_port "$IMAP_PORT" n
  imaps_port "$IMAPS_PORT" n
  smtp_port "$SMTP_PORT" n
  submission_port "$SUBMISSION_PORT" n
  smtps_port "$SMTPS_PORT" n
  lmtp_port "$LMTP_PORT" n
  sasl_port "$SASL_PORT" n
  ca_file "$TLS/ca.pem" s
  password "$PASSWORD" s
  domain_desk "$DOMAIN_DESK" s
  domain_customer "$DOMAIN_CUSTOMER" s
  users "$user_list" s
  catchall "$CATCHALL" s
  maildir_root "$MAIL" s
  maildir_layout "%d/%n/Maildir" s
  mail_uid "$MAIL_UID" n
  mail_gid "$MAIL_GID" n
  dovecot_log "$LOG/dovecot.log" s
  postfix_log "$LOG/postfix.log" s
)
{
  echo "# Written by tests/mailstack/start.sh; source it."
  for ((i = 0; i < ${#entries[@]}; i += 3)); do
    # Single quotes: valid shell and also read literally by dotenv parsers
    # (printf %q would add backslashes they keep). No value contains a '.
    printf "PDSTACK_%s='%s'\n" "${entries[i]^^}" "${entries[i + 1]}"
  done
} >"$DIR/stack.env.tmp"
{
  printf '{'
  sep=
  for ((i = 0; i < ${#entries[@]}; i += 3)); do
    if [[ "${entries[i + 2]}" == n ]]; then
      printf '%s\n  "%s": %s' "$sep" "${entries[i]}" "${entries[i + 1]}"
    else
      printf '%s\n  "%s": "%s"' "$sep" "${entries[i]}" "$(json_escape "${entries[i + 1]}")"
    fi
    sep=,
  done
  printf '\n}\n'
} >"$DIR/stack.json.tmp"
# Rename last, so a test that polls for stack.json never reads half a file
# or a stack that is not yet listening.
mv "$DIR/stack.env.tmp" "$DIR/stack.env"
mv "$DIR/stack.json.tmp" "$DIR/stack.json"
echo "$DIR/stack.json"
