//! qmta's N-API surface. One module per exposed crate; no logic lives here: each
//! function converts arguments, calls the crate, and converts the result back.
//! Failures cross as JS errors whose `code` is `QMTA_TEMP` or `QMTA_PERM` and whose
//! message is `4.3.0 text` (status, space, text); `ts/native.ts` turns them into
//! values (DESIGN.md: TS never guesses the class from a message string).

mod failure;
mod lspawn;
mod mailbox;
mod maildrop;
mod privilege;
mod promise;
mod queue;
mod smtp;
mod smtp_channel;
mod smtp_items;
mod smtp_server;
mod wire;

/// The version of the native core, so the TS side can check it loaded the right build.
#[napi_derive::napi]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
