#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis against a live server, from docs/openapi.yaml:
#
#     scripts/fuzz-api.sh [HERALD_BINARY] [POSTGRES_URL]      (default .build/debug/herald, the embedded store)
#
# With POSTGRES_URL (a database on a server whose user may create databases), the server runs on a
# fresh database made there (and dropped after) instead of SQLite: the same run on the other backend.
#
# Starts its own server on a temporary data dir, seeds an app, users, a channel and an inbox item,
# then runs schemathesis twice: with the app's API key (Platform API) and with a user token (the
# customer's routes). Fails on any 5xx, any response that does not match the schema or its declared
# content type, and if the server is not alive and able to stop cleanly at the end (a crash).
# SCHEMATHESIS_EXAMPLES (default 25) sets the examples per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/live-server.sh
herald="${1:-.build/debug/herald}"
postgres="${2:-}"
examples="${SCHEMATHESIS_EXAMPLES:-25}"
data="$(mktemp -d)"
log="$data/server.log"
server=""
store=(--data "$data/store")
fuzzdb=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -9 "$server" 2>/dev/null || true; fi
  if [ -n "$fuzzdb" ]; then psql -q "$postgres" -c "DROP DATABASE IF EXISTS $fuzzdb WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${fuzzdb}_keys WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$data"
}
trap cleanup EXIT
if [ -n "$postgres" ]; then
  fuzzdb="fuzz_$$_$RANDOM"
  psql -q "$postgres" -c "CREATE DATABASE $fuzzdb" >/dev/null
  HERALD_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
  export HERALD_MASTER_KEY
  store=(--database "${postgres%/*}/$fuzzdb")
  echo "== on PostgreSQL ($fuzzdb)"
fi

key="$("$herald" apps create --name Fuzz "${store[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')"
# Rate limits lifted: a 429 for a request that passed a moment before makes schemathesis report
# "inconsistent results" (rate limiting has its own tests, RateLimitTests).
start_server "$herald" "$log" "${store[@]}" --user-rate 100000 --platform-rate 100000 --auth-failure-limit 100000

call() { curl -sf -X "$1" -H "Authorization: Bearer $key" -H "Content-Type: application/json" ${3:+-d "$3"} "$base$2"; }
for user in ana ben; do call PUT "/v1/users/$user" '{"name":"Fuzz"}' >/dev/null; done
call POST /v1/channels '{"type":"direct","members":["ana","ben"]}' >/dev/null
call POST /v1/notifications '{"recipients":["ana"],"category":"security","content":{"title":"Sign-in","body":"New device"}}' >/dev/null
token="$(call POST /v1/users/ana/tokens | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

# schemathesis' `st` command through the python3 that pip installed it for, with a guard against a
# CPython 3.11.7 bug that makes its generator fail at random (scripts/schemathesis-cli.py says which).
st="python3 scripts/schemathesis-cli.py"
checks=not_a_server_error,response_schema_conformance,content_type_conformance
run() {
  $st run docs/openapi.yaml --url "$base" -H "Authorization: Bearer $1" --checks "$checks" \
    --max-examples "$examples" --phases examples,coverage,fuzzing,stateful --workers 2 --seed 42 --no-color \
    --suppress-health-check all "${@:2}"
}
echo "== Platform API (API key)"
run "$key"
echo "== customer routes (user token)"
run "$token" --include-tag me --include-tag inbox --include-tag actions --include-tag devices --include-tag realtime

stop_server "$log"
echo "schemathesis: no server error, every response matched the schema, the server stopped cleanly"
