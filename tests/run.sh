#!/usr/bin/env bash
# The one command that passes every test on a fresh machine (run as root):
# installs the mail stack's Debian packages (and Chromium, which renders the
# HTML report) if missing, starts Dovecot and Postfix on 127.0.0.1 once for
# the whole run, runs the whole test suite against them, and stops them
# again. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

stack_dir=${POSTDESK_STACK_DIR:-/tmp/pdstack}
port_base=${POSTDESK_STACK_PORT_BASE:-24000}

tests/mailstack/install.sh
tests/install-browser.sh
tests/mailstack/start.sh "$stack_dir" "$port_base" >/dev/null
trap 'tests/mailstack/stop.sh "$stack_dir" >/dev/null 2>&1 || true' EXIT
export POSTDESK_MAILSTACK="$stack_dir/stack.json"

cargo test --locked --all-targets "$@"
