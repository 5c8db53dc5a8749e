#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a loopback port, for tests and benchmarks; no system service.
#
#   scripts/postgres.sh start DIR [PORT] [--no-fsync]   initdb + pg_ctl in DIR (created), prints the database URL
#   scripts/postgres.sh stop DIR                        stops it (the caller removes DIR)
#
# --no-fsync (for the test suite only) turns off fsync and synchronous commit: a crash of the machine
# may lose that cluster, which a throwaway cluster can afford. Benchmarks run without it.
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user that Debian's
# package creates. Authentication is `trust` on 127.0.0.1 only: never use this for a real deployment
# (docs/operations.md has the settings that matter there).
set -euo pipefail

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

command="${1:-}"
dir="${2:-}"
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR [PORT] [--no-fsync]" >&2; exit 2; }

case "$command" in
  start)
    port="${3:-55432}"
    durability=""
    [ "${4:-}" = "--no-fsync" ] && durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$dir"
      runuser -u postgres -- test -w "$dir" \
        || { echo "postgres.sh: $dir must be reachable by the postgres user (not under a mode-700 directory)" >&2; exit 1; }
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U herald -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # One role checks its password (scram-sha-256), for the test of what a wrong password says.
    { echo "host all herald_password 127.0.0.1/32 scram-sha-256"; cat "$dir/data/pg_hba.conf"; } >"$dir/pg_hba.new"
    as_owner cp "$dir/pg_hba.new" "$dir/data/pg_hba.conf"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 $durability" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U herald herald
    echo "postgres://herald@127.0.0.1:$port/herald"
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
