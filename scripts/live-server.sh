# Sourced by the fuzzing scripts: starts `herald serve` on a free port and stops it again.
#
#     start_server HERALD_BINARY LOG_FILE [serve arguments...]   sets $server (pid), $port, $base
#     stop_server                                                          fails if the server crashed or did not stop cleanly
start_server() {
  local herald="$1" log="$2"
  shift 2
  "$herald" serve --port 0 "$@" 2>"$log" &
  server=$!
  port=""
  for _ in $(seq 1 100); do
    port="$(sed -n 's/.*address=[^ ]*:\([0-9]*\) .*herald listening.*/\1/p' "$log" | head -n1)"
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "the server did not start"; cat "$log"; return 1; }
  base="http://127.0.0.1:$port"
}

stop_server() {
  local log="$1"
  kill -0 "$server" || { echo "the server crashed"; tail -50 "$log"; return 1; }
  kill -TERM "$server"
  wait "$server" || { echo "the server did not stop cleanly"; tail -50 "$log"; return 1; }
  server=""
}
