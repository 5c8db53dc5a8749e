#!/usr/bin/env bash
# Fuzzes the reader of WebAuthn authenticator data (HeraldCore's AuthenticatorData: bytes from a browser
# Herald does not control) with libFuzzer for a bounded time.
#
#   scripts/fuzz-webauthn.sh [SECONDS]    default 60; the corpus is kept in .build/fuzz/webauthn-corpus
#
# The target (Fuzz/AuthenticatorData) is compiled with AuthenticatorData.swift into one module, with
# AddressSanitizer. A crash, a trap or a failed check stops the run, prints the input, and exits
# non-zero; libFuzzer writes the input to .build/fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
seconds="${1:-60}"
out=.build/fuzz
mkdir -p "$out/webauthn-corpus"
# Seeds: an assertion's head with user presence and verification, one with extensions, one too short.
head -c 32 /dev/zero >"$out/webauthn-corpus/assertion"; printf '\x05\x00\x00\x00\x07' >>"$out/webauthn-corpus/assertion"
head -c 32 /dev/zero >"$out/webauthn-corpus/extensions"; printf '\x85\x00\x00\x01\x00\xa1\x01\x02' >>"$out/webauthn-corpus/extensions"
printf 'short' >"$out/webauthn-corpus/short"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name WebAuthnFuzz \
  Sources/HeraldCore/Actions/AuthenticatorData.swift Fuzz/AuthenticatorData/AuthenticatorDataFuzz.swift -o "$out/fuzz-webauthn"
source scripts/run-fuzzer.sh
run_fuzzer "$out/fuzz-webauthn.log" "$out/fuzz-webauthn" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix="$out/" "$out/webauthn-corpus"
