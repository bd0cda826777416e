//! The fuzz body for the delivery helper's request decoder (crates/lspawn frame.rs),
//! shared by the libFuzzer target and the stable loop. Invariants: no panic; a decoded
//! request encodes back to exactly the input; anything the decoder refuses is a
//! temporary 4.3.0 failure.

use lspawn::Request;

/// Decodes `data`; panics if an invariant breaks.
pub fn exercise(data: &[u8]) {
    match Request::decode(data) {
        Ok(r) => assert_eq!(r.encode(), data, "decode/encode round trip"),
        Err(f) => assert_eq!(f.status, "4.3.0"),
    }
}
