#!/usr/bin/env bash
# Fuzzes the SMTP client's reply reader (HeraldPush's SMTPReply.Reader: bytes from a server Herald does
# not control) with libFuzzer for a bounded time.
#
#   scripts/fuzz-smtp.sh [SECONDS]    default 60; the corpus is kept in .build/fuzz/smtp-corpus
#
# The target (Fuzz/SMTPReply) is compiled with SMTPReply.swift into one module, with AddressSanitizer.
# A crash, a trap or a failed check stops the run, prints the input, and exits non-zero; libFuzzer
# writes the input to .build/fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
seconds="${1:-60}"
out=.build/fuzz
mkdir -p "$out/smtp-corpus"
# Seeds: a greeting, an EHLO answer, a refusal, an injection after 220.
printf '\x00220 mail.example ESMTP\r\n' >"$out/smtp-corpus/greeting"
printf '\x10250-mail.example\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n' >"$out/smtp-corpus/ehlo"
printf '\x03554 5.7.1 refused\r\n' >"$out/smtp-corpus/refused"
printf '\x05220 go ahead\r\n250-AUTH PLAIN\r\n235 ok\r\n' >"$out/smtp-corpus/injection"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name SMTPFuzz \
  Sources/HeraldPush/Fallback/SMTPReply.swift Fuzz/SMTPReply/SMTPReplyFuzz.swift -o "$out/fuzz-smtp"
source scripts/run-fuzzer.sh
run_fuzzer "$out/fuzz-smtp.log" "$out/fuzz-smtp" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix="$out/" "$out/smtp-corpus"
