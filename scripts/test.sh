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
swift test --no-parallel "$@"
if [ "$#" -eq 0 ]; then
  echo "== The server tests again, on PostgreSQL =="
  HERALD_TEST_STORE=postgres swift test --skip-build --no-parallel --filter HeraldServerTests
fi
