#!/usr/bin/env bash
# Install the packages the real mail test stack needs (Debian 12).
#
# Idempotent: does nothing but the service check when everything is present,
# so CI can call it on every run. Must work as root with no stdin and no tty.
set -euo pipefail

# swaks needs Net::SSLeay for STARTTLS/SMTPS (only a Recommends, and we skip
# recommends to keep the install small); mbsync's SASL PLAIN/LOGIN live in
# libsasl2-modules. ca-certificates stops curl/openssl from warning.
# systemd brings systemd-analyze, which tests/systemd.rs runs on the unit.
PACKAGES=(
  dovecot-core dovecot-imapd dovecot-lmtpd
  postfix
  swaks libnet-ssleay-perl
  curl openssl ca-certificates
  isync libsasl2-modules
  systemd
)

log() { printf 'install.sh: %s\n' "$*" >&2; }

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

# A zombie (exited, not yet reaped by a lazy init) is not running.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "$stat" != Z* ]]
}

# Stop a system-wide daemon that a package (or an earlier boot) started: it
# would hold the standard ports and confuse anyone reading logs. Our own
# stacks keep their pid files under their DIR, so they are never touched here.
stop_system_daemon() {
  local name=$1 pidfile=$2 pid
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    # Disable too, so a reboot of a long-lived dev machine does not bring it back.
    systemctl disable --now "$name.service" >/dev/null 2>&1 || true
  fi
  [[ -r "$pidfile" ]] || return 0
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n "$pid" ]] && alive "$pid" || return 0
  log "stopping system-wide $name (pid $pid)"
  service "$name" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "warning: system-wide $name (pid $pid) is still running"
}

if ((${#missing[@]})); then
  if ((EUID != 0)); then
    log "need root to install: ${missing[*]}"
    exit 1
  fi
  log "installing: ${missing[*]}"

  # Without this, maintainer scripts start system-wide dovecot/postfix on the
  # standard ports (and fail noisily in containers). Remove it only if it is
  # ours: images often ship their own and rely on it.
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, from postdesk tests/mailstack/install.sh\nexit 101\n' \
      >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup() {
    if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  }
  trap cleanup EXIT

  # "No configuration" keeps postinst from writing a main.cf that would
  # deliver locally; our stacks bring their own config directory anyway.
  echo 'postfix postfix/main_mailer_type select No configuration' |
    debconf-set-selections

  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-y -q --no-install-recommends
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  # A fresh machine has no package lists; an old list can point at files the
  # mirror has dropped. Updating costs a couple of seconds, only when needed.
  apt-get update -q </dev/null >/dev/null
  apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null
fi

stop_system_daemon dovecot /run/dovecot/master.pid
stop_system_daemon postfix /var/spool/postfix/pid/master.pid

for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || { log "package $pkg is still not installed"; exit 1; }
done
log "ok: $(dovecot --version 2>/dev/null | cut -d' ' -f1) dovecot, postfix $(postconf -d -h mail_version 2>/dev/null)"
