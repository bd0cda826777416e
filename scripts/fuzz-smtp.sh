#!/usr/bin/env bash
# Fuzzes the SMTP session engine (crates/smtp-proto) for a bounded time; exits non-zero on
# a crash or a broken invariant. Usage: scripts/fuzz-smtp.sh [SECONDS]   (default 60)
#
# With a nightly toolchain it runs libFuzzer through cargo-fuzz (installed when missing),
# starting from the seeds in crates/smtp-proto/fuzz/seeds. Without nightly, or if
# cargo-fuzz cannot be installed, it runs THE SAME FUZZ BODY (smtp_proto_fuzz::exercise)
# on stable Rust as a bounded random-input loop (fuzz/src/bin/stable_loop.rs) and says so.
set -euo pipefail
secs="${1:-60}"
cd "$(dirname "$0")/../crates/smtp-proto/fuzz"

stable_loop() {
  echo "fuzz-smtp: $1: running the stable random-input loop instead of libFuzzer" >&2
  cargo run --quiet --release --bin stable-loop -- "$secs"
}

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || { stable_loop "no nightly toolchain"; exit; }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked >/dev/null 2>&1 || { stable_loop "cargo-fuzz could not be installed"; exit; }
fi
mkdir -p corpus/session
cp seeds/* corpus/session/
cargo +nightly fuzz run --features libfuzzer session corpus/session -- \
  -max_total_time="$secs" -max_len=4096 -print_final_stats=1
echo "fuzz-smtp: ${secs} s of libFuzzer, no crash"
