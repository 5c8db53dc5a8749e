#!/usr/bin/env bash
# Sourced by the libFuzzer scripts: runs a fuzzer with its progress written to a log beside its corpus,
# and prints only the summary (its final statistics), or, when it finds something, the log's last lines
# (the input, the check that failed, the sanitizer's report). CI's output stays readable that way: a
# minute of libFuzzer prints tens of thousands of lines.
#
#   run_fuzzer LOG FUZZER [ARGUMENTS...]
run_fuzzer() {
  local log="$1" status=0
  shift
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    echo "$(basename "$1"): libFuzzer stopped with status $status; the end of its log ($log):" >&2
    tail -n 80 "$log" >&2
    return "$status"
  fi
  grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' "$log" | sed "s|^|$(basename "$1"): |"
}
