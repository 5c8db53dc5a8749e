#!/usr/bin/env bash
# Fuzzes Herald's JSON parser with libFuzzer (bundled with the Swift toolchain) for a bounded time.
#
#   scripts/fuzz-json.sh [SECONDS]    default 60; the corpus is kept in .build/fuzz/json-corpus
#
# The target (Fuzz/JSONParser) is compiled with HeraldCore's JSONParser.swift, JSONValue.swift, JSONBytes.swift and the
# tests' JSONOracle.swift into one module, with AddressSanitizer, and compares every input with Foundation's JSONDecoder. A crash, a
# trap or a disagreement stops the run, prints the input, and exits non-zero; libFuzzer writes the
# input to .build/fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
# A failed check ends the run at once (Swift's backtracer would otherwise wait on the crashed process).
export SWIFT_BACKTRACE=enable=no
seconds="${1:-60}"
out=.build/fuzz
mkdir -p "$out/json-corpus"
# Seeds: a client frame, escapes and surrogates, numbers at the edges of a Double, a duplicate member,
# and every input that once failed here.
printf '{"type":"message.send","channelId":"ch_0000000000000000000000000a","clientMessageId":"c1","text":"hi","data":{"a":[1,2.5e3,null,true]}}' >"$out/json-corpus/frame"
printf '"\\u00e9\\uD83D\\uDE00\\n\\"\\\\\\/"' >"$out/json-corpus/escapes"
printf '[0,-0,9007199254740993,1e308,2.2250738585072014e-308,123456789012345678901234567890]' >"$out/json-corpus/numbers"
printf '{"a":1,"a":2}' >"$out/json-corpus/duplicate"
# Found by this target in CI: a quote and a combining mark (U+06EA) are one Swift Character.
printf '["\xdb\xaa,ntyped/",0e2]' >"$out/json-corpus/quote-and-mark"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name JSONFuzz \
  Sources/HeraldCore/Support/JSONParser.swift Sources/HeraldCore/Support/JSONValue.swift Sources/HeraldCore/Support/JSONBytes.swift \
  Tests/HeraldTestSupport/JSONOracle.swift Fuzz/JSONParser/JSONParserFuzz.swift -o "$out/fuzz-json"
source scripts/run-fuzzer.sh
run_fuzzer "$out/fuzz-json.log" "$out/fuzz-json" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix="$out/" "$out/json-corpus"
