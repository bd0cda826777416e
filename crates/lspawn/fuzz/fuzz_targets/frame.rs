//! libFuzzer target: `cargo +nightly fuzz run frame` (see scripts/fuzz-lspawn.sh).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lspawn_fuzz::exercise(data));
