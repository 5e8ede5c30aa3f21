#!/usr/bin/env bash
# Install the headless browser tests/stats.rs renders the HTML report in
# (Debian 12: chromium, plus a font so text has glyphs). Idempotent and
# quiet when everything is there; called by tests/run.sh.
set -euo pipefail

PACKAGES=(chromium fonts-dejavu-core)

log() { printf 'install-browser.sh: %s\n' "$*" >&2; }

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if ((EUID != 0)); then
    log "need root to install: ${missing[*]}"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || { log "package $pkg is still not installed"; exit 1; }
done
log "ok: $(chromium --version 2>/dev/null || echo chromium)"
