#!/usr/bin/env bash
# Install the PostgreSQL server the tests run against (Debian 12's
# `postgresql` package: PostgreSQL 15). Idempotent, like
# tests/mailstack/install.sh: does nothing when the server binaries are
# there. Must work as root with no stdin and no tty.
#
# The package creates a system cluster ("main", port 5432); the tests never
# use it (tests/pg/start.sh makes a throw-away cluster in its own directory)
# and a policy-rc.d keeps the install from starting it.
set -euo pipefail

log() { printf 'pg/install.sh: %s\n' "$*" >&2; }

# The newest installed server major version's bin directory, if any.
server_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x "$d/initdb" && -x "$d/postgres" && -x "$d/psql" ]] && { printf '%s' "$d"; return 0; }
  done
  return 1
}

# openssl makes the test cluster's certificates (start.sh).
if ! server_bin >/dev/null || ! id postgres >/dev/null 2>&1 || ! command -v openssl >/dev/null; then
  if ((EUID != 0)); then
    log "need root to install postgresql"
    exit 1
  fi
  log "installing postgresql"
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, from postdesk tests/pg/install.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup() { if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null >/dev/null
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    postgresql postgresql-client openssl </dev/null
fi

bin=$(server_bin) || { log "postgresql is still not installed"; exit 1; }
id postgres >/dev/null 2>&1 || { log "the postgres user is missing"; exit 1; }
log "ok: $("$bin/postgres" --version)"
