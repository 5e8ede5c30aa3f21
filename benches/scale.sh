#!/usr/bin/env bash
# A desk at scale (issue 18): generates N small messages (~0.8 KB; 60% new
# conversations, 40% replies to one of the last 5,000; 20,000 customers;
# dates spread over the year before now), imports them, starts `serve`, and
# records wall time and peak RSS for the admin's everyday commands, the
# daemon's RSS idle and after them, one new mail through `ingest`, the first
# page and `stats` without a daemon, and the store's size against the mail's. Release build; each query is the best of
# 3 runs (wall time from bash's clock, peak RSS from GNU time).
#
#   benches/scale.sh [N]            # default 10000
#   POSTDESK_BIN=path benches/scale.sh N   # skip the build
#   POSTDESK_BENCH_STORE=postgres benches/scale.sh N   # on PostgreSQL (lib.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

n=${1:-10000}
bin=${POSTDESK_BIN:-target/release/postdesk}
work=$(mktemp -d "${TMPDIR:-/tmp}/pdscale.XXXXXX")
# (`kill 0` would signal this script's whole process group.)
trap '[ -z "${serve_pid:-}" ] || kill "$serve_pid" 2>/dev/null || true; stop_store; rm -rf "$work"' EXIT

[ -n "${POSTDESK_BIN:-}" ] || cargo build --release --locked -q
write_config "$work"
use_store "$work" "$bin"
cfg=("--config" "$work/postdesk.toml")

python3 - "$work/corpus.mbox" "$n" <<'PY'
import sys, datetime, random
out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(18)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
start = now - datetime.timedelta(days=365)
step = datetime.timedelta(days=365) / max(n, 1)
words = ("order invoice delivery login password account refund payment "
         "parcel address screen error update cancel subscription plan").split()
convs = []  # (message id, subject, customer) of recent conversations
with open(out, "w") as f:
    for i in range(n):
        d = start + step * i
        date = d.strftime("%a, %d %b %Y %H:%M:%S +0000")
        if convs and rng.random() < 0.4:
            mid, subject, c = convs[rng.randrange(len(convs))]
            head = f"Subject: Re: {subject}\nIn-Reply-To: <{mid}>\nReferences: <{mid}>\n"
            body = "Thanks, but it still does not work. Any news on this?\n"
        else:
            c = rng.randrange(20000)
            subject = f"{rng.choice(words).title()} problem {i}"
            head = f"Subject: {subject}\n"
            body = ("Hello,\n\nmy " + " ".join(rng.choice(words) for _ in range(12)) +
                    " is not working since yesterday. Could you have a look?\n"
                    "I tried again this morning and nothing changed.\n\nRegards\n")
        mid = f"s{i}@customer.test"
        f.write(f"From c{c}@customer.test Mon Jan  1 00:00:00 2024\n"
                f"From: Customer {c} <c{c}@customer.test>\nTo: support@desk.test\n"
                f"{head}Message-ID: <{mid}>\nDate: {date}\n"
                "Content-Type: text/plain; charset=utf-8\n\n"
                f"{body}\n")
        if "In-Reply-To" not in head:
            convs.append((mid, subject, c))
            if len(convs) > 5000:
                convs.pop(0)
PY
mail_mb=$(awk "BEGIN{printf \"%.1f\", $(stat -c %s "$work/corpus.mbox") / 1048576}")

/usr/bin/time -f '%e %M' -o "$work/time" \
  "$bin" "${cfg[@]}" import mbox "$work/corpus.mbox" --json >"$work/import.json"
read -r iwall irss <"$work/time"
tickets=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["new_tickets"])' "$work/import.json")
store_mb=$(store_mb "$work")
echo "N=$n messages ($mail_mb MiB of mail), $tickets tickets, store: $bench_store"
echo "  import: ${iwall} s = $(awk "BEGIN{printf \"%.0f\", $n / $iwall}") msg/s, peak RSS $((irss / 1024)) MiB"
echo "  store: $store_mb MiB = $(awk "BEGIN{printf \"%.2f\", $store_mb / $mail_mb}")x the mail, $(awk "BEGIN{printf \"%.0f\", $store_mb * 1048576 / $n}") B/message"
store_parts "$work"

# best ARGS...: the best wall time of 3 runs and that run's peak RSS.
best() {
  local t0 t1 w r bw=999999 br=0
  for _ in 1 2 3; do
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$work/time" "$bin" "${cfg[@]}" "$@" >/dev/null 2>"$work/err" </dev/null || {
      echo "FAILED: postdesk $*: $(head -c 300 "$work/err")" >&2
      return 1
    }
    t1=$EPOCHREALTIME
    w=$(awk "BEGIN{print ($t1 - $t0) * 1000}")
    read -r r <"$work/time"
    if awk "BEGIN{exit !($w < $bw)}"; then bw=$w; br=$r; fi
  done
  printf '%8.1f ms %5d MiB' "$bw" $((br / 1024))
}
rss() { awk '/VmRSS/{print int($2/1024)}' "/proc/$serve_pid/status"; }

"$bin" "${cfg[@]}" serve 2>"$work/serve.log" &
serve_pid=$!
until [ -S "$work/state/control.sock" ]; do
  kill -0 "$serve_pid" 2>/dev/null || { echo "serve exited:" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
  sleep 0.05
done
sleep 2
echo "  daemon idle: $(rss) MiB"
queries=(
  "tickets list"
  "tickets list --status open --limit 50"
  "tickets show B-1"
  "stats"
  "stats --since 7d"
  "status"
)
peak=0
for q in "${queries[@]}"; do
  # shellcheck disable=SC2086
  echo "  $(printf '%-40s' "$q") $(best $q)"
  r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
done
printf 'From: New Customer <new@customer.test>\nTo: support@desk.test\nSubject: A new question\nMessage-ID: <scale-new@customer.test>\n\nHello, a new question.\n' >"$work/new.eml"
t0=$EPOCHREALTIME
"$bin" "${cfg[@]}" ingest "$work/new.eml"
t1=$EPOCHREALTIME
echo "  $(printf '%-40s' "ingest (one new mail)") $(awk "BEGIN{printf \"%8.1f\", ($t1 - $t0) * 1000}") ms"
echo "  daemon after the queries: $(rss) MiB (highest seen between them: $peak MiB)"
sleep 12
echo "  daemon 12 s later: $(rss) MiB"
kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=
# The same commands without a daemon: each opens the store itself.
for q in "tickets list" "stats"; do
  # shellcheck disable=SC2086
  echo "  $(printf '%-40s' "$q (no daemon)") $(best $q)"
done
echo "machine: $(machine)"
