#!/usr/bin/env bash
# Fuzzes journey conditions (HeraldCore's JourneyCondition) with libFuzzer for a bounded time.
#
#   scripts/fuzz-conditions.sh [SECONDS]    default 60; the corpus is kept in .build/fuzz/conditions-corpus
#
# The target (Fuzz/JourneyCondition) is compiled with HeraldCore's JSON parser, FieldProblem and
# JourneyCondition.swift into one module, with AddressSanitizer. For every input that parses as JSON it
# reads a condition and checks the budget, the read-back of its JSON and evaluation (see the target).
# A crash, a trap or a failed check stops the run, prints the input, and exits non-zero; libFuzzer
# writes the input to .build/fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
seconds="${1:-60}"
out=.build/fuzz
mkdir -p "$out/conditions-corpus"
# Seeds: the documented examples (docs/journeys.md).
printf '{"all":[{"eq":["event.properties.decision","declined"]},{"not":{"exists":"user.metadata.monitoring"}}]}' >"$out/conditions-corpus/declined"
printf '{"in":["event.properties.country",["DE","FR",49,true,null]]}' >"$out/conditions-corpus/in"
printf '{"any":[{"gt":["event.properties.amount",100]},{"le":["user.locale","de"]}]}' >"$out/conditions-corpus/any"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name ConditionFuzz \
  Sources/HeraldCore/Support/JSONParser.swift Sources/HeraldCore/Support/JSONValue.swift Sources/HeraldCore/Support/JSONBytes.swift \
  Sources/HeraldCore/Errors/FieldProblem.swift Sources/HeraldCore/Identifiers/NameBytes.swift Sources/HeraldCore/Journeys/JourneyCondition.swift \
  Fuzz/JourneyCondition/JourneyConditionFuzz.swift -o "$out/fuzz-conditions"
source scripts/run-fuzzer.sh
run_fuzzer "$out/fuzz-conditions.log" "$out/fuzz-conditions" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix="$out/" "$out/conditions-corpus"
