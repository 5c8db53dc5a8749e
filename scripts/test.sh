#!/usr/bin/env bash
# The whole test suite, on both store backends: starts a throwaway PostgreSQL cluster on a free loopback
# port (unless HERALD_TEST_POSTGRES_URL already names a server whose user may create databases), runs
# `swift test --no-parallel` (the store conformance suite covers SQLite and PostgreSQL; the server
# tests run on SQLite), then the server tests again on PostgreSQL, and stops the cluster, whatever the
# outcome. Arguments go to the first run only, and skip the second:
#
#   scripts/test.sh                             everything, both passes
#   scripts/test.sh --filter StoreConformance   one suite
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${HERALD_TEST_POSTGRES_URL:-}" ]; then
  dir="/tmp/herald-test-postgres-$$"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  trap 'scripts/postgres.sh stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
  HERALD_TEST_POSTGRES_URL="$(scripts/postgres.sh start "$dir" "$port" --no-fsync)"
  export HERALD_TEST_POSTGRES_URL
fi
# Output line by line (a log written to a file or a pipe is otherwise flushed in blocks, and a run that
# stops shows a test that finished long before the one that did not), and a bound on each pass: a run
# that hangs ends with an error naming the bound instead of holding CI until its own limit.
run() {
  local status=0
  timeout --kill-after=30 2400 stdbuf -oL -eL "$@" || status=$?
  if [ "$status" -eq 124 ]; then echo "scripts/test.sh: the pass did not finish within 40 minutes; the last test started above is the one to look at" >&2; fi
  return "$status"
}
run swift test --no-parallel "$@"
if [ "$#" -eq 0 ]; then
  echo "== The server tests again, on PostgreSQL =="
  run env HERALD_TEST_STORE=postgres swift test --skip-build --no-parallel --filter HeraldServerTests
fi
