#!/usr/bin/env bash
# Fuzzes the realtime gateway of a live server with raw WebSocket frames (scripts/fuzz-realtime.py):
#
#     scripts/fuzz-realtime.sh [SECONDS] [HERALD_BINARY]      (default 60 s, .build/debug/herald)
#
# Starts its own server on a temporary data dir with a user, a channel and messages; fails on an
# internal error frame, an undocumented close code, a server that stops answering /health, a
# connection left behind (herald_realtime_connections not back to 0), or a server that crashed or
# did not stop cleanly at the end. The per-address limit on failed authentication is lifted (the
# fuzzer sends bad tokens on purpose, from one address; that limit has its own tests).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/live-server.sh
seconds="${1:-60}"
herald="${2:-.build/debug/herald}"
data="$(mktemp -d)"
log="$data/server.log"
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -9 "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

key="$("$herald" apps create --name Fuzz --data "$data/store" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')"
start_server "$herald" "$log" --data "$data/store" --auth-failure-limit 100000

call() { curl -sf -X "$1" -H "Authorization: Bearer $key" -H "Content-Type: application/json" ${3:+-d "$3"} "$base$2"; }
for user in ana ben; do call PUT "/v1/users/$user" '{"name":"Fuzz"}' >/dev/null; done
channel="$(call POST /v1/channels '{"type":"group","members":["ana","ben"],"name":"Fuzz"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
for index in 1 2 3; do call POST "/v1/channels/$channel/messages" "{\"text\":\"seed $index\",\"sender\":\"ben\"}" >/dev/null; done
token="$(call POST /v1/users/ana/tokens | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

python3 scripts/fuzz-realtime.py --base "$base" --token "$token" --channel "$channel" --seconds "$seconds"
if grep -q "realtime frame failed" "$log"; then
  echo "the gateway logged a failed frame (an internal error):"
  grep "realtime frame failed" "$log" | head -5
  exit 1
fi
stop_server "$log"
echo "fuzz-realtime: the server stopped cleanly"
