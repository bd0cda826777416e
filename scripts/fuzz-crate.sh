#!/usr/bin/env bash
# Fuzzes one crate's fuzz target for a bounded time; exits non-zero on a crash or a broken
# invariant. Usage: scripts/fuzz-crate.sh CRATE TARGET [SECONDS]   (default 60)
# (scripts/fuzz-smtp.sh and scripts/fuzz-lspawn.sh name the two targets.)
#
# With a nightly toolchain it runs libFuzzer through cargo-fuzz (installed when missing),
# starting from crates/CRATE/fuzz/seeds when there are any. Without nightly, or if
# cargo-fuzz cannot be installed, it runs THE SAME FUZZ BODY (the fuzz crate's exercise())
# on stable Rust as a bounded random-input loop (fuzz/src/bin/stable_loop.rs) and says so.
set -euo pipefail
crate="$1"
target="$2"
secs="${3:-60}"
cd "$(dirname "$0")/../crates/$crate/fuzz"

stable_loop() {
  echo "fuzz-$crate: $1: running the stable random-input loop instead of libFuzzer" >&2
  cargo run --quiet --release --bin stable-loop -- "$secs"
}

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || { stable_loop "no nightly toolchain"; exit; }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked >/dev/null 2>&1 || { stable_loop "cargo-fuzz could not be installed"; exit; }
fi
mkdir -p "corpus/$target"
if [ -d seeds ]; then cp seeds/* "corpus/$target/"; fi
cargo +nightly fuzz run --features libfuzzer "$target" "corpus/$target" -- \
  -max_total_time="$secs" -max_len=4096 -print_final_stats=1
echo "fuzz-$crate: ${secs} s of libFuzzer, no crash"
