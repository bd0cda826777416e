//! libFuzzer target: `cargo +nightly fuzz run session` (see scripts/fuzz-smtp.sh).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtp_proto_fuzz::exercise(data));
