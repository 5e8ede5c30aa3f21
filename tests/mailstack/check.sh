#!/usr/bin/env bash
# Smoke test of a running mail stack (start.sh) with real clients: swaks for
# SMTP/submission/SMTPS, curl for IMAP/IMAPS.
#
#   check.sh [DIR]        (default /tmp/pdstack)
#
# Prints PASS/FAIL per step and exits non-zero if any step failed. Every
# message carries a fresh token, so the check can run against a stack that
# already holds mail (and twice in a row).
set -euo pipefail

DIR=$(realpath -m -- "${1:-/tmp/pdstack}")
if [[ ! -r "$DIR/stack.env" ]]; then
  echo "check.sh: no running stack in $DIR (no stack.env): run start.sh first" >&2
  exit 2
fi
# shellcheck source=/dev/null
source "$DIR/stack.env"

for tool in swaks curl; do
  command -v "$tool" >/dev/null || { echo "check.sh: $tool missing: run install.sh" >&2; exit 2; }
done

H=$PDSTACK_HOST
PW=$PDSTACK_PASSWORD
CA=$PDSTACK_CA_FILE
TOKEN="pdcheck-$(date +%s%N)-$$"
TMP=$(mktemp -d)
trap 'rm -rf -- "$TMP"' EXIT

passed=0
failed=0
pass() { printf 'PASS  %s\n' "$1"; passed=$((passed + 1)); }
fail() {
  printf 'FAIL  %s: %s\n' "$1" "$2"
  failed=$((failed + 1))
  # Show the client transcript that explains the failure, if any.
  if [[ -n "${3:-}" && -s "$3" ]]; then sed 's/^/      | /' "$3" | tail -n 25; fi
}

# swaks with the common flags; transcript to $1.
send() {
  local out=$1
  shift
  swaks --server "$H" --timeout 10 "$@" >"$out" 2>&1
}

# UIDs in USER's INBOX matching an IMAP SEARCH expression.
imap_search() {
  curl -sS --max-time 10 --user "$1:$PW" "imap://$H:$PDSTACK_IMAP_PORT/INBOX" \
    -X "UID SEARCH $2" 2>>"$TMP/curl.err" | tr -d '\r' | sed -n 's/^\* SEARCH *//p'
}

# Poll until a message matching $2 is in $1's INBOX; print its UID. Delivery
# is asynchronous (Postfix queue -> LMTP), so a short wait is expected.
wait_for() {
  local user=$1 query=$2 deadline=$((SECONDS + ${3:-15})) uids
  while ((SECONDS < deadline)); do
    uids=$(imap_search "$user" "$query")
    if [[ -n "$uids" ]]; then
      printf '%s' "${uids%% *}"
      return 0
    fi
    sleep 0.2
  done
  return 1
}

imap_fetch() {
  curl -sS --max-time 10 --user "$1:$PW" "imap://$H:$PDSTACK_IMAP_PORT/INBOX;UID=$2"
}

# --- 1. SMTP with a +detail address, Delivered-To names it --------------------
step="SMTP to support+ACME-1.abc@desk.test lands in support's INBOX with Delivered-To"
plus_rcpt="support+ACME-1.abc@$PDSTACK_DOMAIN_DESK"
if ! send "$TMP/1.log" --port "$PDSTACK_SMTP_PORT" --from "carol@$PDSTACK_DOMAIN_CUSTOMER" \
  --to "$plus_rcpt" --header "Subject: $TOKEN plus" --body "body $TOKEN plus"; then
  fail "$step" "swaks failed" "$TMP/1.log"
elif ! plus_uid=$(wait_for "support@$PDSTACK_DOMAIN_DESK" "SUBJECT \"$TOKEN plus\""); then
  fail "$step" "not in support's INBOX after 15 s (see $PDSTACK_POSTFIX_LOG)" "$TMP/curl.err"
else
  imap_fetch "support@$PDSTACK_DOMAIN_DESK" "$plus_uid" >"$TMP/1.msg" 2>>"$TMP/curl.err" || true
  if grep -qi "^Delivered-To: <\?$plus_rcpt>\?"$'\r'"\?$" "$TMP/1.msg"; then
    pass "$step"
  else
    fail "$step" "no 'Delivered-To: $plus_rcpt' header" "$TMP/1.msg"
  fi
fi

# --- 2. external recipient is trapped in catchall ---------------------------
step="SMTP to someone@elsewhere.example lands in $PDSTACK_CATCHALL"
if ! send "$TMP/2.log" --port "$PDSTACK_SMTP_PORT" --from "support@$PDSTACK_DOMAIN_DESK" \
  --to someone@elsewhere.example --header "Subject: $TOKEN external"; then
  fail "$step" "swaks failed" "$TMP/2.log"
elif ! wait_for "$PDSTACK_CATCHALL" "SUBJECT \"$TOKEN external\"" >/dev/null; then
  fail "$step" "not in catchall's INBOX after 15 s (see $PDSTACK_POSTFIX_LOG)" "$TMP/curl.err"
else
  pass "$step"
fi

# --- 3. IMAPS with the test CA ------------------------------------------------
step="IMAPS read of support's INBOX verifies with the test CA (127.0.0.1 and localhost)"
if [[ -z "${plus_uid:-}" ]]; then
  fail "$step" "skipped: no message from step 1"
else
  url="imaps://$H:$PDSTACK_IMAPS_PORT/INBOX;UID=$plus_uid"
  # localhost must verify too (SAN DNS:localhost), but resolve it to
  # 127.0.0.1: nothing listens on ::1.
  url_lh="imaps://localhost:$PDSTACK_IMAPS_PORT/INBOX;UID=$plus_uid"
  if ! curl -sS --max-time 10 --cacert "$CA" --user "support@$PDSTACK_DOMAIN_DESK:$PW" \
    "$url" >"$TMP/3.msg" 2>"$TMP/3.err"; then
    fail "$step" "curl imaps failed" "$TMP/3.err"
  elif ! grep -q "$TOKEN plus" "$TMP/3.msg"; then
    fail "$step" "message body not returned" "$TMP/3.msg"
  elif ! curl -sS --max-time 10 --cacert "$CA" --resolve "localhost:$PDSTACK_IMAPS_PORT:$H" \
    --user "support@$PDSTACK_DOMAIN_DESK:$PW" "$url_lh" >/dev/null 2>"$TMP/3.err"; then
    fail "$step" "curl imaps via the name localhost failed" "$TMP/3.err"
  elif curl -sS --max-time 10 --user "support@$PDSTACK_DOMAIN_DESK:$PW" "$url" \
    >/dev/null 2>&1; then
    # Without --cacert the system store must reject the cert; otherwise the
    # step above proved nothing about verification.
    fail "$step" "curl accepted the server cert without the test CA"
  else
    pass "$step"
  fi
fi

# --- 4. submission: STARTTLS + AUTH required ---------------------------------
step="submission (STARTTLS + AUTH as alice, cert verified) delivers to bob; no AUTH is refused"
if ! send "$TMP/4.log" --port "$PDSTACK_SUBMISSION_PORT" --tls --tls-verify --tls-ca-path "$CA" \
  --auth PLAIN --auth-user "alice@$PDSTACK_DOMAIN_DESK" --auth-password "$PW" \
  --from "alice@$PDSTACK_DOMAIN_DESK" --to "bob@$PDSTACK_DOMAIN_DESK" \
  --header "Subject: $TOKEN submission"; then
  fail "$step" "authenticated submission failed" "$TMP/4.log"
elif send "$TMP/4b.log" --port "$PDSTACK_SUBMISSION_PORT" --tls \
  --from "alice@$PDSTACK_DOMAIN_DESK" --to "bob@$PDSTACK_DOMAIN_DESK" \
  --header "Subject: $TOKEN noauth"; then
  fail "$step" "submission accepted mail without AUTH" "$TMP/4b.log"
elif ! wait_for "bob@$PDSTACK_DOMAIN_DESK" "SUBJECT \"$TOKEN submission\"" >/dev/null; then
  fail "$step" "not in bob's INBOX after 15 s" "$TMP/curl.err"
else
  pass "$step"
fi

# --- 5. SMTPS (implicit TLS) + AUTH -------------------------------------------
step="SMTPS (implicit TLS + AUTH LOGIN as alice) delivers to bob"
if ! send "$TMP/5.log" --port "$PDSTACK_SMTPS_PORT" --tlsc --tls-verify --tls-ca-path "$CA" \
  --auth LOGIN --auth-user "alice@$PDSTACK_DOMAIN_DESK" --auth-password "$PW" \
  --from "alice@$PDSTACK_DOMAIN_DESK" --to "bob@$PDSTACK_DOMAIN_DESK" \
  --header "Subject: $TOKEN smtps"; then
  fail "$step" "swaks failed" "$TMP/5.log"
elif ! wait_for "bob@$PDSTACK_DOMAIN_DESK" "SUBJECT \"$TOKEN smtps\"" >/dev/null; then
  fail "$step" "not in bob's INBOX after 15 s" "$TMP/curl.err"
else
  pass "$step"
fi

# --- 6. unknown local user: accepted, then a real DSN to the sender ------------
step="mail to nosuchuser@desk.test is accepted and bounced to alice as a DSN"
if ! send "$TMP/6.log" --port "$PDSTACK_SMTP_PORT" --from "alice@$PDSTACK_DOMAIN_DESK" \
  --to "nosuchuser@$PDSTACK_DOMAIN_DESK" --header "Subject: $TOKEN bounce"; then
  fail "$step" "SMTP did not accept the message (must bounce, not reject)" "$TMP/6.log"
elif ! dsn_uid=$(wait_for "alice@$PDSTACK_DOMAIN_DESK" "FROM \"MAILER-DAEMON\" TEXT \"$TOKEN bounce\"" 20); then
  fail "$step" "no DSN in alice's INBOX after 20 s (see $PDSTACK_POSTFIX_LOG)" "$TMP/curl.err"
else
  imap_fetch "alice@$PDSTACK_DOMAIN_DESK" "$dsn_uid" >"$TMP/6.msg" 2>>"$TMP/curl.err" || true
  if grep -qi 'multipart/report' "$TMP/6.msg" && grep -qi 'report-type=delivery-status' "$TMP/6.msg"; then
    pass "$step"
  else
    fail "$step" "bounce is not a multipart/report delivery-status DSN" "$TMP/6.msg"
  fi
fi

total=$((passed + failed))
if ((failed)); then
  echo "mailstack check: $failed of $total steps FAILED (logs: $PDSTACK_DIR/log)"
  exit 1
fi
echo "mailstack check: all $total steps passed"
