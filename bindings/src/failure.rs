//! Converts a `status::Failure` into a JS error that `ts/native.ts` decodes.
//! Constraint shared with ts/native.ts (decodeFailure): code is QMTA_TEMP or
//! QMTA_PERM, the message is "<status> <text>".

use status::{Class, Failure};

pub enum Code {
    Temp,
    Perm,
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::Temp => "QMTA_TEMP",
            Code::Perm => "QMTA_PERM",
        }
    }
}

/// A napi error carrying the failure's class as its code.
pub fn to_napi(f: Failure) -> napi::Error<Code> {
    let code = match f.class {
        Class::Temporary => Code::Temp,
        Class::Permanent => Code::Perm,
    };
    napi::Error::new(code, format!("{} {}", f.status, f.text))
}

// No `type NapiResult<T>` alias here: napi-derive recognises a fallible export only when
// its return type is spelled `Result<T, napi::Error<Code>>` at the export itself.
