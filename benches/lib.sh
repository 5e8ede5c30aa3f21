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

# machine: one line naming the CPU, cores and memory, for RESULTS.md.
machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
  printf '%s, %s cores, %s RAM, %s\n' "$cpu" "$(nproc)" \
    "$(free -h | awk '/^Mem:/{print $2}')" "$(uname -sr)"
}
