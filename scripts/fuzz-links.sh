#!/usr/bin/env bash
# Fuzzes the link detector with libFuzzer (bundled with the Swift toolchain) for a bounded time.
#
#   scripts/fuzz-links.sh [SECONDS]    default 60; the corpus is kept in .build/fuzz/links-corpus
#
# The target (Fuzz/LinkDetector) is compiled with HeraldCore's Links sources into one module, with
# AddressSanitizer, so it reaches the internal detector. A crash, a trap or a broken invariant stops the
# run, prints the input, and exits non-zero; libFuzzer writes the input to .build/fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=.build/fuzz
mkdir -p "$out/links-corpus"
# Seeds: the table's tricky cases, so the fuzzer starts from schemes, quotes and dots.
printf 'Visit:evil.example' >"$out/links-corpus/scheme"
printf 'http:/evil.example/x' >"$out/links-corpus/path"
printf '\xe2\x80\x9cevil.example\xe2\x80\x9d' >"$out/links-corpus/quotes"
printf 'https://acme.example@evil.example/login' >"$out/links-corpus/userinfo"
printf 'evil\xe3\x80\x82example' >"$out/links-corpus/ideographic"
printf 'https://%%41CME.example/x' >"$out/links-corpus/escaped-capital"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name LinkFuzz \
  Sources/HeraldCore/Links/LinkDetector.swift Sources/HeraldCore/Links/Punycode.swift Sources/HeraldCore/Links/DetectedLink.swift \
  Fuzz/LinkDetector/LinkDetectorFuzz.swift -o "$out/fuzz-links"
source scripts/run-fuzzer.sh
run_fuzzer "$out/fuzz-links.log" "$out/fuzz-links" -max_total_time="$seconds" -max_len=512 -timeout=10 -print_final_stats=1 -artifact_prefix="$out/" "$out/links-corpus"
